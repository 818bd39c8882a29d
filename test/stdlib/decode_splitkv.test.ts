/**
 * stdlib/decode_splitkv.attn three ways: the float64 reference of
 * test/reference/decode_splitkv.ts, the CPU interpreter on the checked and on the scheduled IR,
 * and WebGPU. Decode shapes (P = 1) with caches spanning several key tiles, speculative decoding
 * (P > 1), per-sequence lengths including 0 and 1 (rows that see nothing give exact zeros),
 * M = 1 and odd primes; `decode_unified_max` for several fixed maxima.
 */
import { describe, expect, test } from 'vitest';
import { tensor } from '../../index.ts';
import { createRng } from '../helpers/rng.ts';
import { StdlibFile, type Case } from './three-ways.ts';
import { decodeReference } from '../reference/decode_splitkv.ts';
import type { Dims } from '../reference/variants.ts';

const stdlib = new StdlibFile('stdlib/decode_splitkv.attn');
const note = (block: string, pass: string) => stdlib.note(block, pass);
const threeWays = (block: string, cases: Case[]) => stdlib.threeWays(block, 'O', cases);

const SHAPES: readonly { d: Dims; len: number[] }[] = [
  // MQA decode over 4 key tiles (of 32); the second cache is half full.
  { d: { B: 2, HQ: 4, HK: 1, P: 1, M: 97, E: 8, F: 8 }, len: [97, 50] },
  // GQA decode; an empty cache (Len 0) gives a zero row, a one-key cache the value itself.
  { d: { B: 3, HQ: 4, HK: 2, P: 1, M: 40, E: 16, F: 4 }, len: [40, 1, 0] },
  // Speculative decoding, 4 queries: with Len 3 the first query sees no key.
  { d: { B: 2, HQ: 2, HK: 1, P: 4, M: 17, E: 8, F: 6 }, len: [17, 3] },
  { d: { B: 1, HQ: 2, HK: 2, P: 1, M: 1, E: 4, F: 3 }, len: [1] },
  { d: { B: 1, HQ: 6, HK: 2, P: 13, M: 29, E: 8, F: 8 }, len: [23] },
];

function cases(seed: number, phis: readonly (number | undefined)[]): Case[] {
  return SHAPES.flatMap(({ d, len }, i) =>
    phis.map((phi): Case => {
      const rng = createRng(seed + i);
      const q = Float32Array.from(rng.randnArray(d.B * d.HQ * d.P * d.E));
      const k = Float32Array.from(rng.randnArray(d.B * d.HK * d.M * d.E));
      const v = Float32Array.from(rng.randnArray(d.B * d.HK * d.M * d.F));
      const emptyRows: number[] = [];
      for (let b = 0; b < d.B; b++)
        for (let hq = 0; hq < d.HQ; hq++)
          for (let p = 0; p < d.P; p++)
            if (p + len[b] - d.P < 0) emptyRows.push((b * d.HQ + hq) * d.P + p);
      return {
        label:
          `B${d.B} HQ${d.HQ} HK${d.HK} P${d.P} M${d.M} E${d.E} F${d.F} Len=${len.join(',')}` +
          (phi === undefined ? '' : ` phi=${phi}`),
        inputs: {
          Q: tensor('f32', [d.B, d.HQ, d.P, d.E], q),
          K: tensor('f32', [d.B, d.HK, d.M, d.E], k),
          V: tensor('f32', [d.B, d.HK, d.M, d.F], v),
          Len: tensor('i32', [d.B], Int32Array.from(len)),
        },
        params: phi === undefined ? {} : { phi },
        expected: decodeReference(q, k, v, len, d, { phi }),
        emptyRows,
        width: d.F,
      };
    }),
  );
}

describe('decode_splitkv', () => {
  test('passes: fused (online softmax), tiles past Len skipped, head-grouped, split', () => {
    expect(note('decode_splitkv', 'fuse').message).toContain('online softmax');
    expect(note('decode_splitkv', 'block-sparsity')).toMatchObject({
      applied: true,
      message: 'skips tiles of `O` (affine tile bounds)',
    });
    expect(note('decode_splitkv', 'head-grouping')).toMatchObject({ applied: true });
    expect(note('decode_splitkv', 'split-kv')).toMatchObject({ applied: true });
  });
  threeWays('decode_splitkv', cases(600, [undefined]));
});

describe('decode_unified_max (FlashDecoding++)', () => {
  test('passes: fused, but as a weighted sum: the fixed-max softmax is not recognised', () => {
    // `exp(S - phi)` is not `exp(x - max)`, so `fuse` keeps the weights `SN / SD` whole (the
    // denominator is a full pass over the keys first) instead of a running sum.
    expect(note('decode_unified_max', 'fuse')).toMatchObject({
      applied: true,
      message: 'fuses `O` (weighted sum, no softmax)',
    });
    expect(note('decode_unified_max', 'head-grouping')).toMatchObject({ applied: true });
    expect(note('decode_unified_max', 'split-kv')).toMatchObject({ applied: true });
  });
  // phi far below the scores (exp up to ~e^25) and far above (down to ~e^-30): still exact.
  threeWays('decode_unified_max', cases(600, [0, 4, -20, 25]));
});
