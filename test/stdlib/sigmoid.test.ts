/**
 * stdlib/sigmoid.attn three ways: the float64 reference written from the formula
 * (test/reference/sigmoid.ts), the CPU interpreter on the checked IR and on the IR after the
 * passes, and the WebGPU kernels. Shapes include primes (not multiples of the 32-key tile),
 * P = 1, M = 1, and causal P > M, whose first P − M rows see no key and must be exactly 0.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import { compile, createKernel, interpret, tensor, type CompiledSpec } from '../../index.ts';
import type { Equation, IndexName, TensorName } from '../../compiler/ir.ts';
import { literal, select } from '../../compiler/ir-make.ts';
import { fusedGroups } from '../../compiler/passes/fused-group.ts';
import { assertAllClose, type CloseReport } from '../helpers/allclose.ts';
import { getTestDevice } from '../helpers/gpu.ts';
import { createRng } from '../helpers/rng.ts';
import { sigmoidReference, type AttnDims } from '../reference/sigmoid.ts';

/** f32 kernels against a float64 reference; outputs are sums of M terms of size O(1/M). */
const TOLERANCE = { atol: 2e-5, rtol: 2e-4 };

const SHAPES: readonly AttnDims[] = [
  { B: 1, H: 2, P: 13, M: 13, E: 8, F: 4 },
  { B: 2, H: 3, P: 17, M: 37, E: 16, F: 8 }, // two key tiles, the second ragged
  { B: 1, H: 2, P: 1, M: 31, E: 8, F: 8 }, // a decode step
  { B: 1, H: 1, P: 5, M: 1, E: 4, F: 3 }, // one key
  { B: 1, H: 2, P: 9, M: 4, E: 4, F: 6 }, // causal rows p < 5 see no key
];

const source = readFileSync(new URL('../../stdlib/sigmoid.attn', import.meta.url), 'utf8');
const compiled = compile(source, { fileName: 'stdlib/sigmoid.attn' });
if (!compiled.ok) throw new Error(compiled.diagnostics.map((d) => d.message).join('; '));
const spec: CompiledSpec = compiled.specs[0];

const label = (d: AttnDims) => `B${d.B} H${d.H} P${d.P} M${d.M} E${d.E} F${d.F}`;
const errors: Record<string, CloseReport[]> = { cpu: [], scheduled: [], webgpu: [] };

afterAll(() => {
  const line = Object.entries(errors)
    .map(([k, rs]) => {
      const abs = Math.max(0, ...rs.map((r) => r.maxAbs));
      const rel = Math.max(0, ...rs.map((r) => r.maxRel));
      return `${k} ${abs.toExponential(1)} / ${rel.toExponential(1)}`;
    })
    .join('   ');
  console.log(`sigmoid vs float64 reference (max abs / max rel): ${line}`);
});

test('the optimizer tiles the keys, fuses the weighted sum (no softmax) and skips causal tiles', () => {
  const applied = (pass: string) => spec.notes.find((n) => n.pass === pass)?.applied;
  expect(applied('tile')).toBe(true);
  expect(applied('fuse')).toBe(true);
  expect(spec.notes.find((n) => n.pass === 'fuse')?.message).toContain('no softmax');
  expect(applied('block-sparsity')).toBe(true);
  expect(spec.scheduled.schedule.fused).toEqual(['O']);
});

test('causal block sparsity visits the lower triangle of tiles only (P = M = 40, tiles 8×8)', () => {
  const tiled = compile(source, { fileName: 'stdlib/sigmoid.attn', tiles: { m: 8, p: 8 } });
  if (!tiled.ok) throw new Error('does not compile');
  const program = tiled.specs[0].scheduled;
  const group = fusedGroups(program).groups[0];
  // The tile filter block-sparsity put on the running accumulator, evaluated per (row, key tile).
  const visit: Equation = {
    kind: 'equation',
    target: 'VISIT__' as TensorName,
    indices: [...group.rows, group.key[0]] as IndexName[],
    reduce: null,
    filter: null,
    body: select(group.racc.filter!, literal(1), literal(0)),
    origin: group.output.origin,
  };
  const d = { B: 1, H: 1, P: 40, M: 40, E: 4, F: 4 };
  const r = interpret(
    { ...program, body: [...program.body, visit], outputs: ['VISIT__' as TensorName] },
    {
      Q: tensor('f32', [1, 1, 40, 4]),
      K: tensor('f32', [1, 1, 40, 4]),
      V: tensor('f32', [1, 1, 40, 4]),
    },
    { params: { causal: true } },
  );
  if (!r.ok) throw new Error(r.diagnostics.map((x) => x.message).join('; '));
  const flags = r.outputs.VISIT__.data; // [b, h, p, m1]
  let visited = 0;
  let exact = 0;
  for (let qt = 0; qt < 5; qt++)
    for (let kt = 0; kt < 5; kt++) {
      let any = false;
      let needed = false;
      for (let p = 8 * qt; p < 8 * qt + 8; p++) {
        any ||= flags[p * 5 + kt] !== 0;
        for (let m = 8 * kt; m < 8 * kt + 8; m++) needed ||= m <= p + d.M - d.P;
      }
      visited += any ? 1 : 0;
      exact += needed ? 1 : 0;
      // Never skip a tile that holds a visible key.
      if (needed) expect(any).toBe(true);
    }
  console.log(`sigmoid causal P=M=40, tiles 8×8: visits ${visited}/25 (exact ${exact})`);
  expect(visited).toBe(exact);
});

describe.each(SHAPES.flatMap((d, i) => [false, true].map((causal) => ({ d, causal, seed: i }))))(
  'sigmoid $d.B×$d.H P$d.P M$d.M causal=$causal',
  ({ d, causal, seed }) => {
    const rng = createRng(100 + seed);
    const q = Float32Array.from(rng.randnArray(d.B * d.H * d.P * d.E));
    const k = Float32Array.from(rng.randnArray(d.B * d.H * d.M * d.E));
    const v = Float32Array.from(rng.randnArray(d.B * d.H * d.M * d.F));
    const inputs = {
      Q: tensor('f32', [d.B, d.H, d.P, d.E], q),
      K: tensor('f32', [d.B, d.H, d.M, d.E], k),
      V: tensor('f32', [d.B, d.H, d.M, d.F], v),
    };
    // Odd shapes also try a run-time bias (the default is −log M).
    const bias = seed % 2 === 1 ? -1.5 : undefined;
    const params = { causal, ...(bias === undefined ? {} : { bias }) };
    const expected = sigmoidReference(q, k, v, d, { causal, bias });
    const hidden = causal ? Math.max(0, d.P - d.M) : 0;

    const check = (out: Float32Array, which: string) => {
      errors[which].push(assertAllClose(out, expected, TOLERANCE, `${which} ${label(d)}`));
      // Rows that see no key are exactly 0 (the empty sum), not merely small.
      for (let b = 0; b < d.B * d.H; b++)
        for (let p = 0; p < hidden; p++)
          for (let f = 0; f < d.F; f++) expect(out[(b * d.P + p) * d.F + f]).toBe(0);
    };
    test('cpu interpreter, checked and scheduled IR', () => {
      for (const [which, program] of [
        ['cpu', spec.program],
        ['scheduled', spec.scheduled],
      ] as const) {
        const r = interpret(program, inputs, { params });
        if (!r.ok) throw new Error(r.diagnostics.map((x) => x.message).join('; '));
        check(r.outputs.O.data as Float32Array, which);
      }
    });
    test('webgpu', async () => {
      const kernel = createKernel(await getTestDevice(), spec.wgsl);
      const r = await kernel.run(inputs, { params });
      kernel.destroy();
      if (!r.ok) throw new Error(r.message);
      check(r.outputs.O.data as Float32Array, 'webgpu');
    });
  },
);
