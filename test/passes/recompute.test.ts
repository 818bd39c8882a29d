import { describe, expect, test } from 'vitest';
import { recompute } from '../../compiler/passes/recompute.ts';
import { context, expectDecline, expectRewrite, program } from './harness.ts';

/** attn_stats without batch and heads: O, its log-sum-exp, and H2O's column sums. */
const STATS = `attention a {
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
  ACC[m] = sum[p] exp(S[p, m] - LSE[p])
  output O, LSE, ACC
}`;

const withAcc = (acc: string) => STATS.replace(/ {2}ACC\[m\] = .*\n/, `  ${acc}\n`);

describe('recompute', () => {
  test('the column sums get their own transposed logits and become a sum of weights', () => {
    expectRewrite(
      recompute,
      STATS,
      STATS.replace(
        /ACC\[m\] = .*\n/,
        `ACC_S[m, p] = sum[e] Q[p, e] * K[m, e]   where m <= p
  ACC_W[m, p] = exp(ACC_S[m, p] - LSE[p])
  ACC[m] = sum[p] ACC_W[m, p] * 1
`,
      ),
    );
  });

  test('run twice changes nothing: the second time nothing outside reads the logits', () => {
    const once = recompute.run(program(STATS), context());
    const check = recompute.applies(once, context());
    expect(check.applies).toBe(false);
    if (!check.applies) expect(check.reason).toContain('no statement outside an attention');
  });

  test('declines without a reader of the logits outside the attention', () => {
    expectDecline(
      recompute,
      STATS.replace(/ {2}ACC\[m\] = .*\n/, '').replace('output O, LSE, ACC', 'output O, LSE'),
      'no statement outside an attention reads its logits',
    );
  });

  test('declines, saying why, for readers it cannot give their own logits', () => {
    expectDecline(
      recompute,
      withAcc('ACC[m] = sum[p] exp(S[p, m] - LSE[p])   where p > 0'),
      '`ACC` reads the logits `S` but is not a sum over one index without a filter',
    );
    expectDecline(
      recompute,
      withAcc('ACC[m] = max[p] S[p, m]'),
      '`ACC` reads the logits `S` but is not a sum over one index without a filter',
    );
    expectDecline(
      recompute,
      withAcc('ACC[m] = sum[p] exp(S[p, m] - LSE[p]) + S[p, 0]'),
      '`ACC` reads `S` at different points',
    );
    expectDecline(
      recompute,
      withAcc('ACC[m] = sum[p] exp(S[p, m - 1] - LSE[p])'),
      '`ACC` does not read `S` at distinct plain indices',
    );
  });
});
