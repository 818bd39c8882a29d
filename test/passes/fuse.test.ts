import { describe, expect, test } from 'vitest';
import { fuse } from '../../compiler/passes/fuse.ts';
import { fusedGroups } from '../../compiler/passes/fused-group.ts';
import { context, expectDecline, expectRewrite, program } from './harness.ts';

const HEAD = `attention a {
  input Q[p, e]
  input K[m, e]
  input V[m, f]
  const M0 = 4
  const M1 = (M + 3) / 4
  S[p, m1, m0] = sum[e] Q[p, e] * K[4 * m1 + m0, e]   where 4 * m1 + m0 < M && 4 * m1 + m0 <= p`;

/** The 1-pass cascade `fuse` writes for `O = softmax[m](S) · V` over HEAD's key tiles. */
const ONLINE_SOFTMAX = `  O_tmax[p, m1] = max[m0] S[p, m1, m0]   where 4 * m1 + m0 < M
  init O_rmax[p, 0] = -inf
  O_rmax[p, m1 + 1] = max(O_rmax[p, m1], O_tmax[p, m1])
  O_corr[p, m1] = select(O_rmax[p, m1 + 1] > -inf, exp(O_rmax[p, m1] - O_rmax[p, m1 + 1]), 1)
  O_exp[p, m1, m0] = exp(S[p, m1, m0] - O_rmax[p, m1 + 1])   where 4 * m1 + m0 < M
  O_tsum[p, m1] = sum[m0] O_exp[p, m1, m0]   where 4 * m1 + m0 < M
  init O_rsum[p, 0] = 0
  O_rsum[p, m1 + 1] = O_rsum[p, m1] * O_corr[p, m1] + O_tsum[p, m1]
  O_tacc[p, f, m1] = sum[m0] O_exp[p, m1, m0] * V[4 * m1 + m0, f]   where 4 * m1 + m0 < M
  init O_racc[p, f, 0] = 0
  O_racc[p, f, m1 + 1] = O_racc[p, f, m1] * O_corr[p, m1] + O_tacc[p, f, m1]
  O[p, f] = select(O_rsum[p, M1] > 0, O_racc[p, f, M1] / O_rsum[p, M1], 0)`;

describe('fuse', () => {
  test('softmax and the contraction with V become the 1-pass cascade', () => {
    expectRewrite(
      fuse,
      `${HEAD}
  A_max[p] = max[m1, m0] S[p, m1, m0]   where 4 * m1 + m0 < M
  A_exp[p, m1, m0] = exp(S[p, m1, m0] - A_max[p])   where 4 * m1 + m0 < M
  A_sum[p] = sum[m1, m0] A_exp[p, m1, m0]   where 4 * m1 + m0 < M
  A[p, m1, m0] = A_exp[p, m1, m0] / A_sum[p]   where 4 * m1 + m0 < M
  O[p, f] = sum[m1, m0] A[p, m1, m0] * V[4 * m1 + m0, f]   where 4 * m1 + m0 < M
  output O
}`,
      `${HEAD}
${ONLINE_SOFTMAX}
  output O
  schedule {
    fuse O
  }
}`,
    );
  });

  test('weights that are not a softmax are fused without it', () => {
    expectRewrite(
      fuse,
      `${HEAD}
  W[p, m1, m0] = sigmoid(S[p, m1, m0])   where 4 * m1 + m0 < M
  O[p, f] = sum[m1, m0] W[p, m1, m0] * V[4 * m1 + m0, f]   where 4 * m1 + m0 < M
  output O
}`,
      `${HEAD}
  W[p, m1, m0] = sigmoid(S[p, m1, m0])   where 4 * m1 + m0 < M
  O_tacc[p, f, m1] = sum[m0] W[p, m1, m0] * V[4 * m1 + m0, f]   where 4 * m1 + m0 < M
  init O_racc[p, f, 0] = 0
  O_racc[p, f, m1 + 1] = O_racc[p, f, m1] + O_tacc[p, f, m1]
  O[p, f] = O_racc[p, f, M1]
  output O
  schedule {
    fuse O
  }
}`,
    );
  });

  test('a log-sum-exp after the output reads the final running maximum and sum', () => {
    const softmax = `
  A_max[p] = max[m1, m0] S[p, m1, m0]   where 4 * m1 + m0 < M
  A_exp[p, m1, m0] = exp(S[p, m1, m0] - A_max[p])   where 4 * m1 + m0 < M
  A_sum[p] = sum[m1, m0] A_exp[p, m1, m0]   where 4 * m1 + m0 < M
  A[p, m1, m0] = A_exp[p, m1, m0] / A_sum[p]   where 4 * m1 + m0 < M
  O[p, f] = sum[m1, m0] A[p, m1, m0] * V[4 * m1 + m0, f]   where 4 * m1 + m0 < M`;
    const after = expectRewrite(
      fuse,
      `${HEAD}${softmax}
  LSE[p] = select(A_sum[p] > 0, A_max[p] + log(A_sum[p]), -inf)
  output O, LSE
}`,
      `${HEAD}
${ONLINE_SOFTMAX}
  LSE[p] = select(O_rsum[p, M1] > 0, O_rmax[p, M1] + log(O_rsum[p, M1]), -inf)
  output O, LSE
  schedule {
    fuse O
  }
}`,
    );
    // The group holds the log-sum-exp: the fused kernel writes it once per row.
    const [group] = fusedGroups(after).groups;
    expect(group.finals.map((s) => s.target)).toEqual(['LSE']);

    // Read before the output, the row maximum must be stored: weights without a softmax.
    const early = program(
      `${HEAD}${softmax.replace('  O[p, f]', '  X[p] = A_max[p] * 2\n  O[p, f]')}
  output O, X
}`,
    );
    expect(fuse.applies(early, context())).toMatchObject({
      applies: true,
      because: 'fuses `O` (weighted sum, no softmax)',
    });
  });

  test('weights summed with a literal value (column sums) are fused as a weighted sum', () => {
    expectRewrite(
      fuse,
      `${HEAD}
  W[p, m1, m0] = exp(S[p, m1, m0])   where 4 * m1 + m0 < M
  C[p] = sum[m1, m0] W[p, m1, m0] * 1   where 4 * m1 + m0 < M
  output C
}`,
      `${HEAD}
  W[p, m1, m0] = exp(S[p, m1, m0])   where 4 * m1 + m0 < M
  C_tacc[p, m1] = sum[m0] W[p, m1, m0] * 1   where 4 * m1 + m0 < M
  init C_racc[p, 0] = 0
  C_racc[p, m1 + 1] = C_racc[p, m1] + C_tacc[p, m1]
  C[p] = C_racc[p, M1]
  output C
  schedule {
    fuse C
  }
}`,
    );
  });

  test('declines, saying why, when the probabilities are also an output', () => {
    expectDecline(
      fuse,
      `${HEAD}
  A[p, m1, m0] = sigmoid(S[p, m1, m0])   where 4 * m1 + m0 < M
  O[p, f] = sum[m1, m0] A[p, m1, m0] * V[4 * m1 + m0, f]   where 4 * m1 + m0 < M
  output O, A
}`,
      'the weights `A` are used elsewhere',
    );
  });

  test('declines before tiling', () => {
    expectDecline(
      fuse,
      `attention a {
  input Q[p, e]
  input K[m, e]
  input V[m, f]
  S[p, m] = Q[p, e] * K[m, e]
  A[p, m] = softmax[m](S[p, m])
  O[p, f] = A[p, m] * V[m, f]
  output O
}`,
      'not partitioned',
    );
  });
});
