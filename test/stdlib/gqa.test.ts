/**
 * stdlib/gqa.attn three ways: float64 references (test/reference/variants.ts for `gqa`,
 * test/reference/gqa.ts for `gqa_diffkv`), the CPU interpreter on the checked and on the
 * scheduled IR, and WebGPU. Shapes cover MQA (HK = 1), SQA (few query heads), GQA, Sigma's
 * DiffQKV (GK ≠ GV both ways, E ≠ F), odd primes, decode (P = 1), M = 1 and fully masked rows.
 */
import { describe, expect, test } from 'vitest';
import { tensor } from '../../index.ts';
import { createRng } from '../helpers/rng.ts';
import { StdlibFile, type Case } from './three-ways.ts';
import { diffKvReference, type DiffKvDims } from '../reference/gqa.ts';
import { gqaReference } from '../reference/variants.ts';

const stdlib = new StdlibFile('stdlib/gqa.attn');
const note = (block: string, pass: string) => stdlib.note(block, pass);
const threeWays = (block: string, cases: Case[]) => stdlib.threeWays(block, 'O', cases);

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
        width: d.F,
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
