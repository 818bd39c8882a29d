/**
 * stdlib/attn_stats.attn three ways: the float64 reference of test/reference/attn_stats.ts, the
 * CPU interpreter on the checked and on the scheduled IR, and WebGPU, for all three outputs
 * (O, LSE, ACC). Also what the optimizer does with a second cascade over the softmax's
 * statistics, for every output selection.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import {
  compile,
  createKernel,
  interpret,
  tensor,
  type CompiledSpec,
  type HostTensor,
} from '../../index.ts';
import type { Program } from '../../compiler/ir.ts';
import { assertAllClose, type CloseReport } from '../helpers/allclose.ts';
import { getTestDevice } from '../helpers/gpu.ts';
import { createRng } from '../helpers/rng.ts';
import { attnStatsReference, type StatsDims } from '../reference/attn_stats.ts';

const FILE = 'stdlib/attn_stats.attn';
const SOURCE = readFileSync(new URL(`../../${FILE}`, import.meta.url), 'utf8');
const TOL = { atol: 2e-5, rtol: 2e-4 };
const OUTPUTS = ['O', 'LSE', 'ACC'] as const;

function compiled(outputs?: string[]): CompiledSpec {
  const r = compile(SOURCE, { fileName: FILE, outputs });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('; '));
  return r.specs[0];
}
const spec = compiled();
const note = (s: CompiledSpec, pass: string) => s.notes.find((n) => n.pass === pass)!;

interface Case {
  readonly label: string;
  readonly inputs: Record<string, HostTensor>;
  readonly params: Record<string, number | boolean>;
  readonly expected: Record<(typeof OUTPUTS)[number], Float64Array>;
}

const errs = { cpu: [] as CloseReport[], webgpu: [] as CloseReport[] };
const worst = (rs: CloseReport[]) =>
  rs.length === 0
    ? 'none'
    : `${rs.reduce((a, r) => Math.max(a, r.maxAbs), 0).toExponential(1)} / ${rs.reduce((a, r) => Math.max(a, r.maxRel), 0).toExponential(1)}`;
afterAll(() =>
  console.log(
    `${FILE} vs float64 reference (max abs / max rel): cpu ${worst(errs.cpu)}   webgpu ${worst(errs.webgpu)}`,
  ),
);

function check(outputs: Record<string, HostTensor>, c: Case, where: 'cpu' | 'webgpu') {
  // LSE is -inf on rows that see no key; assertAllClose matches equal infinities exactly.
  for (const name of OUTPUTS)
    errs[where].push(
      assertAllClose(outputs[name].data as Float32Array, c.expected[name], TOL, `${where} ${name}`),
    );
  // A row that sees no key gives exact zeros, not merely small values.
  const F = c.inputs.V.shape[3];
  c.expected.LSE.forEach((lse, row) => {
    if (lse === -Infinity) for (let f = 0; f < F; f++) expect(outputs.O.data[row * F + f]).toBe(0);
  });
}

const SHAPES: readonly (StatsDims & { causal: boolean })[] = [
  { B: 1, H: 2, P: 13, M: 13, E: 8, F: 8, causal: true },
  { B: 2, H: 2, P: 17, M: 37, E: 16, F: 4, causal: true }, // P < M: a prefix every row sees
  { B: 1, H: 3, P: 9, M: 4, E: 4, F: 6, causal: true }, // rows p < 5 see nothing
  { B: 1, H: 1, P: 1, M: 31, E: 8, F: 8, causal: true }, // decode: ACC is the row itself
  { B: 2, H: 1, P: 11, M: 1, E: 4, F: 3, causal: false }, // M = 1: ACC[m] = P
  { B: 1, H: 2, P: 19, M: 23, E: 8, F: 8, causal: false },
];

const CASES: Case[] = SHAPES.map((d, i) => {
  const rng = createRng(700 + i);
  const q = Float32Array.from(rng.randnArray(d.B * d.H * d.P * d.E));
  const k = Float32Array.from(rng.randnArray(d.B * d.H * d.M * d.E));
  const v = Float32Array.from(rng.randnArray(d.B * d.H * d.M * d.F));
  return {
    label: `B${d.B} H${d.H} P${d.P} M${d.M} E${d.E} F${d.F} causal=${d.causal}`,
    inputs: {
      Q: tensor('f32', [d.B, d.H, d.P, d.E], q),
      K: tensor('f32', [d.B, d.H, d.M, d.E], k),
      V: tensor('f32', [d.B, d.H, d.M, d.F], v),
    },
    params: { causal: d.causal },
    expected: attnStatsReference(q, k, v, d, { causal: d.causal }),
  };
});

describe('attn_stats: O, LSE and H2O accumulated attention', () => {
  test('the references agree with themselves: every row of A sums to 1, so ΣACC = rows seen', () => {
    for (const c of CASES) {
      const rowsSeen = [...c.expected.LSE].filter((x) => x > -Infinity).length;
      expect(c.expected.ACC.reduce((a, x) => a + x, 0)).toBeCloseTo(rowsSeen, 9);
    }
  });

  test('passes: with ACC the key is not partitioned, so nothing is tiled or fused', () => {
    expect(note(spec, 'tile')).toMatchObject({
      applied: false,
      message: '`ACC` is an output indexed by `m`; partitioning `m` would change its shape',
    });
    expect(note(spec, 'fuse')).toMatchObject({
      applied: false,
      message: 'the key index is not partitioned (run `tile` first)',
    });
  });

  test('passes: with O and LSE only, the softmax is fused as plain weights (stored)', () => {
    // LSE reads GM and SD, so the softmax intermediates must be stored: `fuse` falls back to
    // a weighted sum whose weights A need the whole row first.
    expect(note(compiled(['O', 'LSE']), 'fuse')).toMatchObject({
      applied: true,
      message: 'fuses `O` (weighted sum, no softmax)',
    });
    expect(note(compiled(['O']), 'fuse')).toMatchObject({
      applied: true,
      message: 'fuses `O` (online softmax)',
    });
  });

  const onCpu = (p: Program, c: Case) => {
    const result = interpret(p, c.inputs, { params: c.params });
    if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('; '));
    check(result.outputs, c, 'cpu');
  };
  for (const c of CASES) {
    test(`cpu ${c.label}`, () => onCpu(spec.program, c));
    test(`cpu scheduled ${c.label}`, () => onCpu(spec.scheduled, c));
    test(`webgpu ${c.label}`, async () => {
      const kernel = createKernel(await getTestDevice(), spec.wgsl);
      const result = await kernel.run(c.inputs, { params: c.params });
      kernel.destroy();
      if (!result.ok) throw new Error(result.message);
      check(result.outputs, c, 'webgpu');
    });
  }
});
