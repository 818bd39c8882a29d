/**
 * stdlib/linear_noncausal.attn three ways: the float64 reference written from the quadratic form
 * (test/reference/linear_noncausal.ts; the spec contracts KᵀV first, so the test also checks the
 * two contraction orders agree), the CPU interpreter on the checked IR and on the IR after the
 * passes, and the WebGPU kernels, with both feature maps (elu + 1 and relu). Shapes include
 * primes, P ≠ M (cross-attention), P = 1 and M = 1.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import { compile, createKernel, interpret, tensor, type CompiledSpec } from '../../index.ts';
import { assertAllClose, type CloseReport } from '../helpers/allclose.ts';
import { getTestDevice } from '../helpers/gpu.ts';
import { createRng } from '../helpers/rng.ts';
import { linearNoncausalReference, type LinearDims } from '../reference/linear_noncausal.ts';

/** f32 kernels against a float64 reference: outputs are convex combinations of V rows. */
const TOLERANCE = { atol: 2e-5, rtol: 2e-4 };

const SHAPES: readonly LinearDims[] = [
  { B: 1, H: 2, P: 13, M: 13, E: 8, F: 4 },
  { B: 2, H: 3, P: 17, M: 37, E: 16, F: 8 },
  { B: 1, H: 2, P: 1, M: 31, E: 8, F: 8 },
  { B: 1, H: 1, P: 5, M: 1, E: 4, F: 3 },
  { B: 2, H: 2, P: 40, M: 11, E: 5, F: 16 },
];

const source = readFileSync(new URL('../../stdlib/linear_noncausal.attn', import.meta.url), 'utf8');
const compiled = compile(source, { fileName: 'stdlib/linear_noncausal.attn' });
if (!compiled.ok) throw new Error(compiled.diagnostics.map((d) => d.message).join('; '));
const spec: CompiledSpec = compiled.specs[0];

const label = (d: LinearDims) => `B${d.B} H${d.H} P${d.P} M${d.M} E${d.E} F${d.F}`;
const errors: Record<string, CloseReport[]> = { cpu: [], scheduled: [], webgpu: [] };
afterAll(() => {
  const line = Object.entries(errors)
    .map(([k, rs]) => {
      const abs = Math.max(0, ...rs.map((r) => r.maxAbs));
      const rel = Math.max(0, ...rs.map((r) => r.maxRel));
      return `${k} ${abs.toExponential(1)} / ${rel.toExponential(1)}`;
    })
    .join('   ');
  console.log(`linear_noncausal vs float64 reference (max abs / max rel): ${line}`);
});

test('the state KᵀV is contracted before the queries, and no softmax pass applies', () => {
  // A plain einsum cascade: the query-free state KV[b, h, d, f] and normaliser Z[b, h, d] are
  // computed once, then read by every query row.
  const kv = spec.scheduled.body.find((s) => s.target === 'KV');
  expect(kv?.indices).toEqual(['b', 'h', 'd', 'f']);
  expect(kv?.reduce?.over).toEqual(['m']);
  expect(spec.scheduled.body.find((s) => s.target === 'Z')?.indices).toEqual(['b', 'h', 'd']);
  const note = (pass: string) => spec.notes.find((n) => n.pass === pass);
  expect(note('tile')?.applied).toBe(false);
  expect(note('fuse')?.applied).toBe(false);
  expect(spec.scheduled.schedule.fused).toEqual([]);
});

const CASES = SHAPES.flatMap((d, i) =>
  [false, true].map((relu) => ({ d, relu, seed: i, name: `${label(d)} relu_features=${relu}` })),
);

describe.each(CASES)('$name', ({ d, relu, seed }) => {
  const rng = createRng(400 + seed);
  const q = Float32Array.from(rng.randnArray(d.B * d.H * d.P * d.E));
  const k = Float32Array.from(rng.randnArray(d.B * d.H * d.M * d.E));
  const v = Float32Array.from(rng.randnArray(d.B * d.H * d.M * d.F));
  const inputs = {
    Q: tensor('f32', [d.B, d.H, d.P, d.E], q),
    K: tensor('f32', [d.B, d.H, d.M, d.E], k),
    V: tensor('f32', [d.B, d.H, d.M, d.F], v),
  };
  const params = { relu_features: relu };
  const expected = linearNoncausalReference(q, k, v, d, { relu });
  const check = (out: Float32Array, which: string) =>
    errors[which].push(
      assertAllClose(out, expected, TOLERANCE, `${which} ${label(d)} relu=${relu}`),
    );

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
});
