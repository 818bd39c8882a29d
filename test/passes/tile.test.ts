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

  // attn_stats in miniature after `recompute`: O over the keys `m`, and the column sums ACC, an
  // attention over the queries `p` with rows `m`. Each is partitioned in its own statements only;
  // LSE, per key for ACC and coming after a whole pass over S, keeps `p` whole whether it is an
  // output or not.
  const STATS = (outputs: string) => `attention a {
  input Q[p, e]
  input K[m, e]
  input V[m, f]
  S[p, m] = Q[p, e] * K[m, e]   where m <= p
  GM[p] = max[m] S[p, m]
  SN[p, m] = exp(S[p, m] - GM[p])
  SD[p] = sum[m] SN[p, m]
  A[p, m] = SN[p, m] / SD[p]
  O[p, f] = A[p, m] * V[m, f]
  LSE[p] = select(SD[p] > 0, GM[p] + log(SD[p]), -inf)
  ACC_S[m, p] = sum[e] Q[p, e] * K[m, e]   where m <= p
  ACC_W[m, p] = exp(ACC_S[m, p] - LSE[p])
  ACC[m] = sum[p] ACC_W[m, p] * 1
  output ${outputs}
}`;
  test.each(['O, LSE, ACC', 'O, ACC'])(
    'two attentions, each key partitioned in its own statements (output %s)',
    (outputs) => {
      expectRewrite(
        tile,
        STATS(outputs),
        `attention a {
  input Q[p, e]
  input K[m, e]
  input V[m, f]
  const M0 = 4
  const M1 = (M + 3) / 4
  const P0 = 8
  const P1 = (P + 7) / 8
  S[p, m1, m0] = sum[e] Q[p, e] * K[4 * m1 + m0, e]   where 4 * m1 + m0 < M && 4 * m1 + m0 <= p
  GM[p] = max[m1, m0] S[p, m1, m0]   where 4 * m1 + m0 < M
  SN[p, m1, m0] = exp(S[p, m1, m0] - GM[p])   where 4 * m1 + m0 < M
  SD[p] = sum[m1, m0] SN[p, m1, m0]   where 4 * m1 + m0 < M
  A[p, m1, m0] = SN[p, m1, m0] / SD[p]   where 4 * m1 + m0 < M
  O[p, f] = sum[m1, m0] A[p, m1, m0] * V[4 * m1 + m0, f]   where 4 * m1 + m0 < M
  LSE[p] = select(SD[p] > 0, GM[p] + log(SD[p]), -inf)
  ACC_S[m, p1, p0] = sum[e] Q[8 * p1 + p0, e] * K[m, e]   where 8 * p1 + p0 < P && m <= 8 * p1 + p0
  ACC_W[m, p1, p0] = exp(ACC_S[m, p1, p0] - LSE[8 * p1 + p0])   where 8 * p1 + p0 < P
  ACC[m] = sum[p1, p0] ACC_W[m, p1, p0] * 1   where 8 * p1 + p0 < P
  output ${outputs}
  schedule {
    tile m = 4
    tile p = 8
  }
}`,
        // \`m\` is O's key and ACC's query, \`p\` the other way round: the key sizes win.
        context({ m: 4, p: 8 }),
      );
    },
  );

  test('an index that is the key of one attention and the query of another keeps the key size', () => {
    // Head size 16: key tiles of 128, query tiles of 64 (chooseTileSizes).
    const ctx = { ...context(), extentHints: { D: 16 } };
    const once = tile.run(program(STATS('O, LSE, ACC')), ctx);
    expect(once.consts.map((c) => c.name)).toEqual(['M0', 'M1', 'P0', 'P1']);
    expect(once.schedule.tiles).toEqual([
      { index: 'm', size: 128 },
      { index: 'p', size: 128 },
    ]);
  });

  test('an output indexed by the key that the attention does not read keeps its key', () => {
    const after = tile.run(
      program(ATTENTION.replace('output O', 'Y[m] = K[m, e]\n  output O, Y')),
      context({ m: 16, p: 8 }),
    );
    expect(after.body.find((s) => s.target === 'Y')?.indices).toEqual(['m']);
    expect(after.body.find((s) => s.target === 'O')?.reduce?.over).toEqual(['m1', 'm0']);
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
