/**
 * fuse: online-softmax fusion. Rewrites an attention over a partitioned key (`m1, m0`) into
 * FuseMax's 1-pass cascade (Nayak et al., MICRO 2024, §4.2; FlashAttention-2, Dao 2023, Alg. 1):
 * a running maximum, a running sum and a running accumulator, each a recurrence over the key
 * tile `m1`, with the sum and the accumulator rescaled when the maximum grows, and the division
 * by the sum deferred to the end. Weights that are not a softmax (sigmoid, linear, ...) are
 * fused the same way without the running maximum and sum.
 *
 * Precondition: `tile` has partitioned the key; `attention-match.ts` recognises the cascade.
 * Postcondition: the weights and the softmax intermediates are gone; the schedule says
 * `fuse O`, so the backend runs the cascade below as one kernel. The logits (`T`) stay as they
 * were: the backend computes them per key tile.
 *
 * Example (`A = softmax[m](T)`, `O = sum[m1, m0] A * V`):
 *   O_tmax[p, m1]         = max[m0] T[p, m1, m0]                          where F
 *   init O_rmax[p, 0]     = -inf
 *   O_rmax[p, m1 + 1]     = max(O_rmax[p, m1], O_tmax[p, m1])
 *   O_corr[p, m1]         = select(O_rmax[p, m1 + 1] > -inf, exp(O_rmax[p, m1] - O_rmax[p, m1 + 1]), 1)
 *   O_exp[p, m1, m0]      = exp(T[p, m1, m0] - O_rmax[p, m1 + 1])         where F
 *   O_tsum[p, m1]         = sum[m0] O_exp[p, m1, m0]
 *   init O_rsum[p, 0]     = 0
 *   O_rsum[p, m1 + 1]     = O_rsum[p, m1] * O_corr[p, m1] + O_tsum[p, m1]
 *   O_tacc[p, f, m1]      = sum[m0] O_exp[p, m1, m0] * V[64 * m1 + m0, f]  where bounds
 *   init O_racc[p, f, 0]  = 0
 *   O_racc[p, f, m1 + 1]  = O_racc[p, f, m1] * O_corr[p, m1] + O_tacc[p, f, m1]
 *   O[p, f]               = select(O_rsum[p, M1] > 0, O_racc[p, f, M1] / O_rsum[p, M1], 0)
 * The `select`s keep the absent semantics exact: a tile no key of a row passes leaves the
 * running values as they were (no `-inf - -inf`), and a row with no key at all gives 0.
 *
 * Statements after the output that read the row maximum or sum (a log-sum-exp
 * `LSE = select(A_sum > 0, A_max + log(A_sum), -inf)`) read the final running values instead,
 * `O_rmax[p, M1]` and `O_rsum[p, M1]`: the same numbers (the maximum exactly, the sum up to
 * rounding), and present for every row as the originals are (attention-match.ts only allows
 * this for a maximum without a filter of its own). The fused kernel writes them as they are
 * computed, once per row.
 */
import * as A from '../affine.ts';
import {
  extentName,
  type Equation,
  type Expr,
  type IndexName,
  type Program,
  type Recurrence,
  type Statement,
  type TensorName,
} from '../ir.ts';
import { mapExpr } from '../ir-walk.ts';
import { arith, call, compare, literal, read, readAt, select } from '../ir-make.ts';
import { findAttentions, type AttentionMatch } from './attention-match.ts';
import { freshName, namesOf, no, yes, type Pass } from './pass.ts';

const NEG_INF = literal(-Infinity);

/** Names of the new tensors, `O_tmax`, `O_rmax`, ... (fresh if taken). */
function namer(program: Program, output: TensorName) {
  const taken = namesOf(program);
  return (suffix: string): TensorName => {
    const name = freshName(taken, `${output}_${suffix}`);
    taken.add(name);
    return name as TensorName;
  };
}

function equation(
  target: TensorName,
  indices: readonly IndexName[],
  body: Expr,
  origin: Statement['origin'],
  extra: Partial<Equation> = {},
): Equation {
  return { kind: 'equation', target, indices, reduce: null, filter: null, body, origin, ...extra };
}

/** `init T[indices.., 0] = init` and `T[indices.., m1 + 1] = body` (the step axis last). */
function recurrence(
  target: TensorName,
  indices: readonly IndexName[],
  init: Expr,
  body: Expr,
  origin: Statement['origin'],
): Recurrence {
  return {
    kind: 'recurrence',
    target,
    indices,
    axis: indices.length - 1,
    init,
    reduce: null,
    filter: null,
    body,
    origin,
    initOrigin: origin,
  };
}

/** A read of the running value `t` at step `m1` (or `m1 + 1`). */
function step(t: TensorName, indices: readonly IndexName[], outer: IndexName, offset: 0 | 1): Expr {
  return read(t, [...indices.map((i) => A.index(i)), A.add(A.index(outer), A.constant(offset))]);
}

/** The final value of a running tensor: a read at the step extent `M1`. */
function final(t: TensorName, indices: readonly IndexName[], outer: IndexName): Expr {
  return read(t, [...indices.map((i) => A.index(i)), A.symbol(extentName(outer))]);
}

/** Replaces every read of `tensor` in `e` by `by`. */
function replaceRead(e: Expr, tensor: TensorName, by: Expr): Expr {
  return mapExpr(e, (x) => (x.kind === 'read' && x.tensor === tensor ? by : x));
}

/**
 * Points reads of the row maximum and sum at the final running values: `A_max[x, y]` (indexed by
 * `dims`, a permutation of the rows) becomes `O_rmax[.., M1]` with the subscripts in the running
 * value's row order.
 */
function readFinal(
  by: ReadonlyMap<TensorName, { running: TensorName; dims: readonly IndexName[] }>,
  rows: readonly IndexName[],
  outer: IndexName,
): (s: Statement) => Statement {
  const swap = (e: Expr) =>
    mapExpr(e, (x) => {
      const r = x.kind === 'read' ? by.get(x.tensor) : undefined;
      if (x.kind !== 'read' || !r) return x;
      const at = rows.map((i) => x.at[r.dims.indexOf(i)]);
      return read(r.running, [...at, A.symbol(extentName(outer))]);
    });
  return (s) => {
    const body = swap(s.body);
    const filter = s.filter ? swap(s.filter) : null;
    if (s.kind === 'equation')
      return body === s.body && filter === s.filter ? s : { ...s, body, filter };
    const init = swap(s.init);
    return body === s.body && filter === s.filter && init === s.init
      ? s
      : { ...s, body, filter, init };
  };
}

function fuseOne(program: Program, m: AttentionMatch): Program {
  const [outer, inner] = m.key;
  const name = namer(program, m.output.target);
  const origin = m.output.origin;
  const rows = m.rows;
  const tileRows = [...rows, outer];
  const accRows = [...m.output.indices, outer];
  const racc = name('racc');
  const tacc = name('tacc');
  const added: Statement[] = [];
  let removed: TensorName[] = [m.weights.target];
  let finalValue: Expr;
  let weight: Expr;
  let corr: Expr | null = null;
  let later = (s: Statement): Statement => s;

  if (m.softmax) {
    const { max, exp, sum } = m.softmax;
    const [tmax, rmax, corrT, expT, tsum, rsum] = [
      'tmax',
      'rmax',
      'corr',
      'exp',
      'tsum',
      'rsum',
    ].map(name);
    const newMax = step(rmax, rows, outer, 1);
    added.push(
      equation(tmax, tileRows, max.body, max.origin, {
        reduce: { op: 'max', over: [inner] },
        filter: max.filter,
      }),
      recurrence(
        rmax,
        tileRows,
        NEG_INF,
        call('max', step(rmax, rows, outer, 0), readAt(tmax, tileRows)),
        max.origin,
      ),
      equation(
        corrT,
        tileRows,
        select(
          compare('>', newMax, NEG_INF),
          call('exp', arith('-', step(rmax, rows, outer, 0), newMax)),
          literal(1),
        ),
        max.origin,
      ),
      equation(expT, m.weights.indices, replaceRead(exp.body, max.target, newMax), exp.origin, {
        filter: exp.filter,
      }),
      equation(tsum, tileRows, readAt(expT, m.weights.indices), sum.origin, {
        reduce: { op: 'sum', over: [inner] },
        filter: sum.filter,
      }),
      recurrence(
        rsum,
        tileRows,
        literal(0),
        arith(
          '+',
          arith('*', step(rsum, rows, outer, 0), readAt(corrT, tileRows)),
          readAt(tsum, tileRows),
        ),
        sum.origin,
      ),
    );
    removed = [...removed, max.target, exp.target, sum.target];
    later = readFinal(
      new Map([
        [max.target, { running: rmax, dims: max.indices }],
        [sum.target, { running: rsum, dims: sum.indices }],
      ]),
      rows,
      outer,
    );
    weight = readAt(expT, m.weights.indices);
    corr = readAt(corrT, tileRows);
    const total = final(rsum, rows, outer);
    finalValue = select(
      compare('>', total, literal(0)),
      arith('/', final(racc, m.output.indices, outer), total),
      literal(0),
    );
  } else {
    weight = readAt(m.weights.target, m.weights.indices);
    removed = [];
    finalValue = final(racc, m.output.indices, outer);
  }
  const runningAcc = step(racc, m.output.indices, outer, 0);
  added.push(
    equation(tacc, accRows, replaceRead(m.output.body, m.weights.target, weight), origin, {
      reduce: { op: 'sum', over: [inner] },
      filter: m.output.filter,
    }),
    recurrence(
      racc,
      accRows,
      literal(0),
      arith('+', corr ? arith('*', runningAcc, corr) : runningAcc, readAt(tacc, accRows)),
      origin,
    ),
    equation(m.output.target, m.output.indices, finalValue, origin),
  );
  // The new statements go where the output was: everything they read is defined before it.
  const at0 = program.body.indexOf(m.output);
  const body = program.body.flatMap((s, i) =>
    i === at0 ? added : removed.includes(s.target) ? [] : [i > at0 ? later(s) : s],
  );
  return {
    ...program,
    body,
    schedule: { ...program.schedule, fused: [...program.schedule.fused, m.output.target] },
  };
}

function fusible(program: Program): AttentionMatch[] {
  return findAttentions(program).matches.filter(
    (m) => m.key.length === 2 && !program.schedule.fused.includes(m.output.target),
  );
}

export const fuse: Pass = {
  name: 'fuse',
  summary: 'rewrite softmax (or other weights) and the contraction with V into the 1-pass cascade',
  applies(program) {
    const found = findAttentions(program);
    const ready = fusible(program);
    if (ready.length > 0) {
      const kinds = ready.map(
        (m) =>
          `\`${m.output.target}\` (${m.softmax ? 'online softmax' : 'weighted sum, no softmax'})`,
      );
      return yes(`fuses ${kinds.join(', ')}`);
    }
    if (found.matches.some((m) => m.key.length === 1))
      return no('the key index is not partitioned (run `tile` first)');
    if (program.schedule.fused.length > 0) return no('already fused');
    const miss =
      found.misses.find((x) => !x.reason.startsWith(`\`${x.target}\` is not \`sum[key]`)) ??
      found.misses[0];
    return no(miss ? miss.reason : 'no attention `O = sum[m] W * V` in this block');
  },
  run(program) {
    let out = program;
    for (const m of fusible(program)) {
      const again = findAttentions(out).matches.find((x) => x.output.target === m.output.target);
      if (again) out = fuseOne(out, again);
    }
    return out;
  },
};
