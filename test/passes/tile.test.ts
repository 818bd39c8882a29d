import { describe, expect, test } from 'vitest';
import { chooseTileSizes, tile } from '../../compiler/passes/tile.ts';
import { context, expectDecline, expectRewrite, program } from './harness.ts';

const ATTENTION = `attention a {
  input Q[p, e]
  input K[m, e]
  input V[m, f]
  S[p, m] = Q[p, e] * K[m, e]   where m <= p
  A[p, m] = softmax[m](S[p, m])
  O[p, f] = A[p, m] * V[m, f]
  output O
}`;

describe('tile', () => {
  test('partitions the key: subscripts, reductions, bounds filters, extents, schedule', () => {
    expectRewrite(
      tile,
      ATTENTION,
      `attention a {
  input Q[p, e]
  input K[m, e]
  input V[m, f]
  const M0 = 16
  const M1 = (M + 15) / 16
  S[p, m1, m0] = sum[e] Q[p, e] * K[16 * m1 + m0, e]   where 16 * m1 + m0 < M && 16 * m1 + m0 <= p
  A_max[p] = max[m1, m0] S[p, m1, m0]   where 16 * m1 + m0 < M
  A_exp[p, m1, m0] = exp(S[p, m1, m0] - A_max[p])   where 16 * m1 + m0 < M
  A_sum[p] = sum[m1, m0] A_exp[p, m1, m0]   where 16 * m1 + m0 < M
  A[p, m1, m0] = A_exp[p, m1, m0] / A_sum[p]   where 16 * m1 + m0 < M
  O[p, f] = sum[m1, m0] A[p, m1, m0] * V[16 * m1 + m0, f]   where 16 * m1 + m0 < M
  output O
  schedule {
    tile m = 16
    tile p = 8
  }
}`,
      context({ m: 16, p: 8 }),
    );
  });

  test('a tile size in the schedule block is used; run twice changes nothing', () => {
    const p = program(ATTENTION.replace('output O', 'output O\n  schedule { tile m = 4 }'));
    const once = tile.run(p, context());
    expect(once.schedule.tiles.find((t) => t.index === 'm')?.size).toBe(4);
    expect(tile.applies(once, context()).applies).toBe(false);
  });

  test('declines when an output is indexed by the key', () => {
    expectDecline(
      tile,
      ATTENTION.replace('output O', 'output O, S'),
      '`S` is an output indexed by `m`',
    );
  });

  test('declines without an attention', () => {
    expectDecline(
      tile,
      'attention x {\n  input X[i, j]\n  Y[i] = X[i, j]\n  output Y\n}',
      'no attention',
    );
  });

  test('tile sizes fit the workgroup memory', () => {
    expect(
      chooseTileSizes(
        { maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256 },
        64,
      ),
    ).toEqual({ key: 32, query: 32 });
    expect(
      chooseTileSizes(
        { maxComputeWorkgroupStorageSize: 32768, maxComputeInvocationsPerWorkgroup: 256 },
        64,
      ),
    ).toEqual({ key: 64, query: 64 });
    expect(
      chooseTileSizes(
        { maxComputeWorkgroupStorageSize: 32768, maxComputeInvocationsPerWorkgroup: 256 },
        128,
      ),
    ).toEqual({ key: 32, query: 32 });
  });
});
