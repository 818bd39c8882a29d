/**
 * stdlib/gqa.attn three ways: float64 references (test/reference/variants.ts for `gqa`,
 * test/reference/gqa.ts for `gqa_diffkv`), the CPU interpreter on the checked and on the
 * scheduled IR, and WebGPU. Shapes cover MQA (HK = 1), SQA (few query heads), GQA, Sigma's
 * DiffQKV (GK ≠ GV both ways, E ≠ F), odd primes, decode (P = 1), M = 1 and fully masked rows.
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
import { diffKvReference, type DiffKvDims } from '../reference/gqa.ts';
import { gqaReference } from '../reference/variants.ts';

const FILE = 'stdlib/gqa.attn';
const SOURCE = readFileSync(new URL(`../../${FILE}`, import.meta.url), 'utf8');
const TOL = { atol: 2e-5, rtol: 2e-4 };

const specs = new Map<string, CompiledSpec>();
function spec(block: string): CompiledSpec {
  if (!specs.has(block)) {
    const r = compile(SOURCE, { fileName: FILE, attention: block });
    if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('; '));
    specs.set(block, r.specs[0]);
  }
  return specs.get(block)!;
}
const note = (block: string, pass: string) => spec(block).notes.find((n) => n.pass === pass)!;

interface Case {
  readonly label: string;
  readonly inputs: Record<string, HostTensor>;
  readonly params: Record<string, number | boolean>;
  readonly expected: Float64Array;
  /** Flat (b, hq, p) rows that see no key: their F outputs must be exactly 0. */
  readonly emptyRows: number[];
  readonly F: number;
}

const report: string[] = [];
afterAll(() =>
  console.log(`${FILE} vs float64 reference (max abs / max rel):\n  ${report.join('\n  ')}`),
);
const worst = (rs: CloseReport[]) =>
  rs.length === 0
    ? 'none'
    : `${rs.reduce((a, r) => Math.max(a, r.maxAbs), 0).toExponential(1)} / ${rs.reduce((a, r) => Math.max(a, r.maxRel), 0).toExponential(1)}`;

function threeWays(block: string, cases: Case[]) {
  const errs = { cpu: [] as CloseReport[], webgpu: [] as CloseReport[] };
  afterAll(() =>
    report.push(`${block.padEnd(11)} cpu ${worst(errs.cpu)}   webgpu ${worst(errs.webgpu)}`),
  );
  const check = (data: Float32Array, c: Case, where: 'cpu' | 'webgpu') => {
    errs[where].push(assertAllClose(data, c.expected, TOL, `${where} O`));
    for (const r of c.emptyRows) for (let f = 0; f < c.F; f++) expect(data[r * c.F + f]).toBe(0);
  };
  const onCpu = (p: Program, c: Case) => {
    const result = interpret(p, c.inputs, { params: c.params });
    if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('; '));
    check(result.outputs.O.data as Float32Array, c, 'cpu');
  };
  for (const c of cases) {
    test(`cpu ${c.label}`, () => onCpu(spec(block).program, c));
    test(`cpu scheduled ${c.label}`, () => onCpu(spec(block).scheduled, c));
    test(`webgpu ${c.label}`, async () => {
      const kernel = createKernel(await getTestDevice(), spec(block).wgsl);
      const result = await kernel.run(c.inputs, { params: c.params });
      kernel.destroy();
      if (!result.ok) throw new Error(result.message);
      check(result.outputs.O.data as Float32Array, c, 'webgpu');
    });
  }
}

function randn(rng: ReturnType<typeof createRng>, n: number) {
  return Float32Array.from(rng.randnArray(n));
}

/** Rows (b, hq, p) that see no key under bottom-right causality: p < P − M. */
function emptyRows(B: number, HQ: number, P: number, M: number, causal: boolean): number[] {
  const rows: number[] = [];
  if (causal) for (let r = 0; r < B * HQ * P; r++) if (r % P < P - M) rows.push(r);
  return rows;
}

function cases(shapes: readonly (DiffKvDims & { name: string })[], seed: number, diff: boolean) {
  return shapes.flatMap((d, i) =>
    [false, true].map((causal): Case => {
      const rng = createRng(seed + i);
      const q = randn(rng, d.B * d.HQ * d.P * d.E);
      const k = randn(rng, d.B * d.HK * d.M * d.E);
      const v = randn(rng, d.B * d.HV * d.M * d.F);
      // A scale other than the default checks that the param reaches the kernel.
      const scale = 0.3;
      return {
        label: `${d.name} B${d.B} HQ${d.HQ} HK${d.HK} HV${d.HV} P${d.P} M${d.M} E${d.E} F${d.F} causal=${causal}`,
        inputs: {
          Q: tensor('f32', [d.B, d.HQ, d.P, d.E], q),
          K: tensor('f32', [d.B, d.HK, d.M, d.E], k),
          V: tensor('f32', [d.B, d.HV, d.M, d.F], v),
        },
        params: { causal, scale },
        expected: diff
          ? diffKvReference(q, k, v, d, { causal, scale })
          : gqaReference(q, k, v, d, { causal, scale }),
        emptyRows: emptyRows(d.B, d.HQ, d.P, d.M, causal),
        F: d.F,
      };
    }),
  );
}

// For `gqa` the value heads are the key heads: HV = HK.
const GQA_SHAPES = [
  { name: 'MQA', B: 1, HQ: 4, HK: 1, HV: 1, P: 13, M: 17, E: 8, F: 8 },
  { name: 'SQA', B: 2, HQ: 2, HK: 2, HV: 2, P: 7, M: 7, E: 16, F: 16 },
  { name: 'GQA', B: 2, HQ: 4, HK: 2, HV: 2, P: 1, M: 37, E: 8, F: 4 },
  { name: 'GQA', B: 1, HQ: 6, HK: 3, HV: 3, P: 9, M: 4, E: 4, F: 6 },
  { name: 'GQA', B: 1, HQ: 2, HK: 1, HV: 1, P: 5, M: 1, E: 4, F: 3 },
];

const DIFF_SHAPES = [
  { name: 'GK>GV', B: 1, HQ: 4, HK: 1, HV: 2, P: 13, M: 17, E: 4, F: 8 },
  { name: 'GK>GV', B: 2, HQ: 6, HK: 2, HV: 3, P: 1, M: 37, E: 8, F: 16 },
  { name: 'GK<GV', B: 1, HQ: 4, HK: 4, HV: 1, P: 9, M: 4, E: 8, F: 4 },
  { name: 'GK>GV', B: 1, HQ: 4, HK: 1, HV: 4, P: 5, M: 1, E: 4, F: 6 },
];

describe('gqa (MQA, SQA, GQA)', () => {
  test('passes: tiled, fused (online softmax), head-grouped by hq / G', () => {
    expect(note('gqa', 'tile').applied).toBe(true);
    expect(note('gqa', 'fuse')).toMatchObject({
      applied: true,
      message: 'fuses `O` (online softmax)',
    });
    expect(note('gqa', 'block-sparsity').applied).toBe(true);
    expect(note('gqa', 'head-grouping')).toMatchObject({
      applied: true,
      message: 'groups `hq / G`',
    });
    expect(note('gqa', 'split-kv').applied).toBe(true);
  });
  threeWays('gqa', cases(GQA_SHAPES, 400, false));
});

describe('gqa_diffkv (Sigma DiffQKV: GK ≠ GV, E ≠ F)', () => {
  test('passes: tiled, fused; head grouping declines (two grouping factors)', () => {
    expect(note('gqa_diffkv', 'fuse')).toMatchObject({ applied: true });
    expect(note('gqa_diffkv', 'fuse').message).toContain('online softmax');
    expect(note('gqa_diffkv', 'head-grouping')).toMatchObject({
      applied: false,
      message: 'the keys and values are grouped differently',
    });
    expect(note('gqa_diffkv', 'split-kv').applied).toBe(true);
  });
  threeWays('gqa_diffkv', cases(DIFF_SHAPES, 500, true));
});
