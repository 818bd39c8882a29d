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
import { evaluateAffine } from '../../compiler/affine.ts';
import type { Program } from '../../compiler/ir.ts';
import { statementReads } from '../../compiler/ir-walk.ts';
import { assertAllClose, type CloseReport } from '../helpers/allclose.ts';
import { getTestDevice } from '../helpers/gpu.ts';
import { createRng } from '../helpers/rng.ts';
import { attnStatsReference, type StatsDims } from '../reference/attn_stats.ts';

const FILE = 'stdlib/attn_stats.attn';
const SOURCE = readFileSync(new URL(`../../${FILE}`, import.meta.url), 'utf8');
const TOL = { atol: 2e-5, rtol: 2e-4 };
const OUTPUTS = ['O', 'LSE', 'ACC'] as const;

function compiled(outputs?: string[], passes?: 'none'): CompiledSpec {
  const r = compile(SOURCE, { fileName: FILE, outputs, ...(passes ? { passes } : {}) });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('; '));
  return r.specs[0];
}
const spec = compiled();
const note = (s: CompiledSpec, pass: string) => s.notes.find((n) => n.pass === pass)!;

/** Elements of every buffer the manifest allocates at `shape` (split-KV partials unsplit). */
function bufferElements(s: CompiledSpec, shape: Record<string, number>): Map<string, number> {
  const symbols = new Map(Object.entries(shape));
  for (const c of s.scheduled.consts)
    if (c.type === 'i32') {
      const v = evaluateAffine(c.value, {
        index: () => NaN,
        read: () => undefined,
        symbol: (n) => symbols.get(n) ?? NaN,
      });
      if (v !== undefined) symbols.set(c.name, v);
    }
  const out = new Map<string, number>();
  for (const b of s.wgsl.manifest.buffers) {
    const n = evaluateAffine(b.elements, {
      index: () => NaN,
      read: () => undefined,
      symbol: (name) => symbols.get(name) ?? (name.endsWith('#parts') ? 0 : NaN),
    });
    out.set(b.tensor, n ?? NaN);
  }
  return out;
}

interface Case {
  readonly label: string;
  readonly inputs: Record<string, HostTensor>;
  readonly params: Record<string, number | boolean>;
  readonly expected: Record<(typeof OUTPUTS)[number], Float64Array>;
}

type Where = 'cpu' | 'webgpu';
const errs = { cpu: [] as CloseReport[], webgpu: [] as CloseReport[] };
const byOutput = new Map<string, CloseReport[]>();
const record = (where: Where, name: string, r: CloseReport) => {
  errs[where].push(r);
  byOutput.set(`${where} ${name}`, [...(byOutput.get(`${where} ${name}`) ?? []), r]);
};
const worst = (rs: CloseReport[]) =>
  rs.length === 0
    ? 'none'
    : `${rs.reduce((a, r) => Math.max(a, r.maxAbs), 0).toExponential(1)} / ${rs.reduce((a, r) => Math.max(a, r.maxRel), 0).toExponential(1)}`;
afterAll(() =>
  console.log(
    `${FILE} vs float64 reference (max abs / max rel): cpu ${worst(errs.cpu)}   webgpu ${worst(errs.webgpu)}\n` +
      [...byOutput].map(([k, rs]) => `  ${k}: ${worst(rs)}`).join('\n'),
  ),
);

function check(outputs: Record<string, HostTensor>, c: Case, where: Where) {
  // LSE is -inf on rows that see no key; assertAllClose matches equal infinities exactly.
  for (const name of OUTPUTS)
    record(
      where,
      name,
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

function makeCase(d: StatsDims & { causal: boolean }, seed: number): Case {
  const rng = createRng(seed);
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
}

const CASES: Case[] = SHAPES.map((d, i) => makeCase(d, 700 + i));

// Three key tiles and three query tiles (tile 32), so a forced split divides both groups' keys;
// rows p < 5 see no key, so a split row can have no part that saw one.
const SPLIT_CASE = makeCase({ B: 1, H: 2, P: 75, M: 70, E: 8, F: 8, causal: true }, 799);

describe('attn_stats: O, LSE and H2O accumulated attention', () => {
  test('the references agree with themselves: every row of A sums to 1, so ΣACC = rows seen', () => {
    for (const c of CASES) {
      const rowsSeen = [...c.expected.LSE].filter((x) => x > -Infinity).length;
      expect(c.expected.ACC.reduce((a, x) => a + x, 0)).toBeCloseTo(rowsSeen, 9);
    }
  });

  test('passes: ACC gets its own logits, then both cascades are tiled and fused', () => {
    expect(note(spec, 'recompute')).toMatchObject({
      applied: true,
      message: '`ACC` recomputes `S`',
    });
    expect(note(spec, 'tile')).toMatchObject({ applied: true, message: 'partitions `m`, `p`' });
    // O keeps its online softmax although LSE reads its maximum and sum: LSE reads the final
    // running values instead. ACC is a weighted sum over the queries `p` with no values.
    expect(note(spec, 'fuse')).toMatchObject({
      applied: true,
      message: 'fuses `O` (online softmax), `ACC` (weighted sum, no softmax)',
    });
    expect(note(spec, 'block-sparsity').applied).toBe(true);
    expect(spec.scheduled.schedule.fused).toEqual(['O', 'ACC']);
    // LSE reads the final running maximum and sum: the softmax intermediates are gone, and the
    // logits S are computed per key tile inside the fused kernel.
    const lse = spec.scheduled.body.find((s) => s.target === 'LSE')!;
    expect([...statementReads(lse)].sort()).toEqual(['O_rmax', 'O_rsum']);
    for (const gone of ['GM', 'SN', 'SD', 'A'])
      expect(spec.scheduled.body.some((s) => s.target === gone)).toBe(false);
  });

  test('passes: without ACC nothing is recomputed and the softmax is still fused online', () => {
    const noAcc = compiled(['O', 'LSE']);
    expect(note(noAcc, 'recompute').applied).toBe(false);
    expect(note(noAcc, 'fuse')).toMatchObject({
      applied: true,
      message: 'fuses `O` (online softmax)',
    });
    expect(note(compiled(['O']), 'fuse')).toMatchObject({
      applied: true,
      message: 'fuses `O` (online softmax)',
    });
  });

  test('webgpu manifest: two fused kernels (plus their split-KV merges), no L × S buffer', () => {
    const { kernels } = spec.wgsl.manifest;
    expect(kernels.map((k) => [k.fused?.output, k.fused?.role])).toEqual([
      ['O', 'attention'],
      ['O', 'merge'],
      ['ACC', 'attention'],
      ['ACC', 'merge'],
    ]);
    // The first kernel writes LSE from its final running maximum and sum, once per row.
    const writes = (k: (typeof kernels)[number]) =>
      k.bindings
        .filter((b) => b.kind === 'storage' && b.access === 'read_write')
        .map((b) => b.tensor);
    expect(writes(kernels[0])).toContain('LSE');
    expect(writes(kernels[1])).toContain('LSE');
    const shape = { B: 1, H: 2, P: 256, M: 256, E: 64, F: 64 };
    const sizes = bufferElements(spec, shape);
    for (const [tensor, n] of sizes) {
      expect(Number.isFinite(n), `${tensor} has a size`).toBe(true);
      expect(n, `${tensor}: ${n} elements`).toBeLessThan(shape.P * shape.M);
    }
    // The control: without the passes the scores are materialised.
    const unfused = bufferElements(compiled(undefined, 'none'), shape);
    expect(Math.max(...unfused.values())).toBeGreaterThanOrEqual(
      shape.B * shape.H * shape.P * shape.M,
    );
  });

  const onCpu = (p: Program, c: Case) => {
    const result = interpret(p, c.inputs, { params: c.params });
    if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('; '));
    check(result.outputs, c, 'cpu');
  };
  const onGpu = async (c: Case, splits?: number) => {
    const kernel = createKernel(await getTestDevice(), spec.wgsl);
    const result = await kernel.run(c.inputs, { params: c.params, splits });
    kernel.destroy();
    if (!result.ok) throw new Error(result.message);
    // Both groups ran as their fused kernels, not as the unfused fallback.
    expect(result.fused.map((f) => [f.output, f.mode])).toEqual([
      ['O', 'fused'],
      ['ACC', 'fused'],
    ]);
    check(result.outputs, c, 'webgpu');
    return result.fused;
  };
  for (const c of CASES) {
    test(`cpu ${c.label}`, () => onCpu(spec.program, c));
    test(`cpu scheduled ${c.label}`, () => onCpu(spec.scheduled, c));
    test(`webgpu ${c.label}`, () => onGpu(c));
  }
  // Split-KV: the merge kernels combine the partials, and O's merge writes LSE.
  for (const c of [SPLIT_CASE, CASES[1]])
    test(`webgpu split in 3 ${c.label}`, async () => {
      const fused = await onGpu(c, 3);
      expect(fused.map((f) => f.splits)).toEqual([
        Math.min(3, Math.ceil(c.inputs.K.shape[2] / 32)),
        Math.min(3, Math.ceil(c.inputs.Q.shape[2] / 32)),
      ]);
    });

  test('outputs O and ACC only: LSE is computed by the fused kernel but not returned', async () => {
    const both = compiled(['O', 'ACC']);
    expect(note(both, 'fuse').message).toBe(
      'fuses `O` (online softmax), `ACC` (weighted sum, no softmax)',
    );
    const c = CASES[1];
    const cpu = interpret(both.scheduled, c.inputs, { params: c.params });
    if (!cpu.ok) throw new Error(cpu.diagnostics.map((d) => d.message).join('; '));
    const kernel = createKernel(await getTestDevice(), both.wgsl);
    const gpu = await kernel.run(c.inputs, { params: c.params });
    kernel.destroy();
    if (!gpu.ok) throw new Error(gpu.message);
    expect(Object.keys(gpu.outputs).sort()).toEqual(['ACC', 'O']);
    for (const name of ['O', 'ACC'] as const)
      for (const [where, out] of [
        ['cpu', cpu.outputs],
        ['webgpu', gpu.outputs],
      ] as const)
        record(
          where,
          name,
          assertAllClose(out[name].data as Float32Array, c.expected[name], TOL, `${where} ${name}`),
        );
  });
});
