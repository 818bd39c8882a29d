import { describe, expect, test } from 'vitest';
import { blockSparsity } from '../../compiler/passes/block-sparsity.ts';
import { relaxOverKey } from '../../compiler/passes/relax.ts';
import { printExpr } from '../../compiler/ir-print.ts';
import { checkSource } from '../../compiler/front-end.ts';
import { expectDecline, expectRewrite } from './harness.ts';

/** The fused cascade `fuse` writes for `A = softmax[m](S)`, `O = A · V`, with `S` given. */
function fused(
  scoreFilter: string,
  extraInputs = '',
): { before: string; after: (tileFilter: string, summary?: string) => string } {
  const head = `attention a {
  input Q[p, e]
  input K[m, e]
  input V[m, f]${extraInputs}
  const M0 = 4
  const M1 = (M + 3) / 4
  S[p, m1, m0] = sum[e] Q[p, e] * K[4 * m1 + m0, e]   where 4 * m1 + m0 < M && ${scoreFilter}
  O_tmax[p, m1] = max[m0] S[p, m1, m0]   where 4 * m1 + m0 < M`;
  const rest = (f: string) => `  init O_rmax[p, 0] = -inf
  O_rmax[p, m1 + 1] = max(O_rmax[p, m1], O_tmax[p, m1])${f}
  O_corr[p, m1] = select(O_rmax[p, m1 + 1] > -inf, exp(O_rmax[p, m1] - O_rmax[p, m1 + 1]), 1)
  O_exp[p, m1, m0] = exp(S[p, m1, m0] - O_rmax[p, m1 + 1])   where 4 * m1 + m0 < M
  O_tsum[p, m1] = sum[m0] O_exp[p, m1, m0]   where 4 * m1 + m0 < M
  init O_rsum[p, 0] = 0
  O_rsum[p, m1 + 1] = O_rsum[p, m1] * O_corr[p, m1] + O_tsum[p, m1]${f}
  O_tacc[p, f, m1] = sum[m0] O_exp[p, m1, m0] * V[4 * m1 + m0, f]   where 4 * m1 + m0 < M
  init O_racc[p, f, 0] = 0
  O_racc[p, f, m1 + 1] = O_racc[p, f, m1] * O_corr[p, m1] + O_tacc[p, f, m1]${f}
  O[p, f] = select(O_rsum[p, M1] > 0, O_racc[p, f, M1] / O_rsum[p, M1], 0)
  output O
  schedule {
    fuse O
  }
}`;
  return {
    before: `${head}\n${rest('')}`,
    after: (tileFilter, summary) =>
      summary
        ? `${head.replace(/\n {2}O_tmax.*$/, '')}\n${summary}\n${head.split('\n').pop()}\n${rest(`   where ${tileFilter}`)}`
        : `${head}\n${rest(`   where ${tileFilter}`)}`,
  };
}

describe('block-sparsity', () => {
  test('a causal filter becomes tile bounds on the running values', () => {
    const c = fused('4 * m1 + m0 <= p');
    expectRewrite(blockSparsity, c.before, c.after('4 * m1 <= p'));
  });

  test('a sliding window keeps both ends of the band', () => {
    const c = fused('4 * m1 + m0 <= p && p - (4 * m1 + m0) < 3');
    expectRewrite(blockSparsity, c.before, c.after('4 * m1 <= p && p - 4 * m1 - 3 < 3'));
  });

  test('a mask tensor gets a block summary (the block-list pre-kernel)', () => {
    const c = fused('Mask[p, 4 * m1 + m0]', '\n  input Mask[p, m]: bool');
    expectRewrite(
      blockSparsity,
      c.before,
      c.after(
        'O_blk[p, m1] > 0',
        '  O_blk[p, m1] = max[m0] select(Mask[p, 4 * m1 + m0], 1, 0)   where 4 * m1 + m0 < M',
      ),
    );
  });

  test('a mask the weights see past (select) restricts nothing', () => {
    // Past the diagonal S is absent but T is 0, not absent: those keys keep a weight.
    const c = fused('4 * m1 + m0 <= p');
    const before = c.before
      .replace(
        /\n {2}O_tmax/,
        '\n  T[p, m1, m0] = select(4 * m1 + m0 <= p, S[p, m1, m0], 0)   where 4 * m1 + m0 < M\n  O_tmax',
      )
      .replace('max[m0] S[p, m1, m0]', 'max[m0] T[p, m1, m0]')
      .replace('exp(S[p, m1, m0] -', 'exp(T[p, m1, m0] -');
    expect(before).toContain('exp(T[p, m1, m0]');
    expectDecline(blockSparsity, before, 'no filter restricts the keys');
  });

  test('declines when nothing restricts the keys', () => {
    expectDecline(blockSparsity, fused('p >= 0').before, 'do not rule out whole key tiles');
  });

  describe('projection onto key tiles (relax.ts), checked by enumeration', () => {
    // For every tile and row: the relaxed condition must hold whenever some key of the tile
    // passes (never skip a visible key); for a single comparison it must be exact.
    const cases = [
      { f: 'm0 + 4 * m1 <= p', exact: true },
      { f: 'm0 + 4 * m1 > p - 2', exact: true },
      { f: 'p - (4 * m1 + m0) < 3 && m0 + 4 * m1 <= p', exact: false },
      { f: '!(m0 + 4 * m1 > p) || p == 0', exact: true },
      { f: 'm0 + 4 * m1 == p', exact: true },
      { f: 'm0 + 4 * m1 != p', exact: false },
    ];
    test.each(cases)('$f', ({ f, exact }) => {
      const spec = checkSource(
        `attention t {\n  input X[p, m1, m0]\n  Y[p, m1, m0] = X[p, m1, m0]   where ${f}\n  output Y\n}`,
        't',
      );
      const filter = spec.programs[0].body[0].filter!;
      const relaxed = relaxOverKey(filter, 'm0' as never, 4);
      const text = printExpr(relaxed.expr);
      const evalAt = (src: string, p: number, m1: number, m0: number) =>
        Function(
          'p',
          'm1',
          'm0',
          `return ${src.replace(/!(?!=)/g, '!').replace(/(\d+) \* m1/g, '$1 * m1')};`,
        )(p, m1, m0) as boolean;
      for (let p = 0; p < 12; p++)
        for (let m1 = 0; m1 < 4; m1++) {
          const some = [0, 1, 2, 3].some((m0) => evalAt(f, p, m1, m0));
          const tile = evalAt(text, p, m1, 0);
          if (some) expect(tile, `${text} at p=${p}, m1=${m1}`).toBe(true);
          if (exact) expect(tile, `${text} exact at p=${p}, m1=${m1}`).toBe(some);
        }
    });
  });
});
