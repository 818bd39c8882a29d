/**
 * Visited / total blocks of a fused attention, counted by hand for small grids.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { compile, tensor } from '../../../index.ts';
import { blockVisits } from '../../../backends/cpu/block-visits.ts';

const zeros = (shape: number[]) =>
  tensor('f32', shape, new Float32Array(shape.reduce((a, b) => a * b, 1)));

function spec(file: string) {
  const r = compile(readFileSync(new URL(`../../../${file}`, import.meta.url), 'utf8'), {
    tiles: { m: 16, p: 16 },
  });
  if (!r.ok) throw new Error(`${file} does not compile`);
  return r.specs[0].scheduled;
}

describe('block visits', () => {
  const L = 64; // 4 query tiles × 4 key tiles of 16
  const qkv = { Q: zeros([1, 2, L, 4]), K: zeros([1, 2, L, 4]), V: zeros([1, 2, L, 4]) };

  test('causal MHA visits the lower triangle of blocks, diagonal included', () => {
    // Per head: 1 + 2 + 3 + 4 = 10 of 16 blocks; two heads.
    expect(blockVisits(spec('stdlib/mha.attn'), qkv, { causal: true })).toEqual([
      { output: 'O', visited: 20, total: 32 },
    ]);
    expect(blockVisits(spec('stdlib/mha.attn'), qkv, { causal: false })).toEqual([
      { output: 'O', visited: 32, total: 32 },
    ]);
  });

  test('a sliding window of 16 visits the diagonal and the block left of it', () => {
    // Query tile i sees keys (16i - 15 .. 16i + 15): key tiles i - 1 and i; 1 + 2 + 2 + 2 = 7 per head.
    const p = spec('stdlib/sliding_window.attn');
    expect(
      blockVisits(
        p,
        { Q: zeros([1, 2, L, 4]), K: zeros([1, 1, L, 4]), V: zeros([1, 1, L, 4]) },
        { window: 16 },
      ),
    ).toEqual([{ output: 'O', visited: 14, total: 32 }]);
  });
});
