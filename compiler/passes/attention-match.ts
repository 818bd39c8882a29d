/**
 * Recognises attention in an Einsum cascade: an output that contracts weights with values over
 * the key index,
 *
 *   O[rows.., f..] = sum[key] W[rows.., key] * V[.., key, f..]
 *
 * and, when the weights are a softmax of logits `X` over the key (the cascade that the
 * `softmax` macro writes, or the same equations written out),
 *
 *   W_max[rows]      = max[key] X                  where F
 *   W_exp[rows, key] = exp(X - W_max[rows])        where F
 *   W_sum[rows]      = sum[key] W_exp[rows, key]
 *   W[rows, key]     = W_exp[rows, key] / W_sum[rows]
 *
 * The key is one index, or two (`m1, m0`) once the `tile` pass has partitioned it. The values
 * may also be a literal (`sum[p] W[.., p] * 1`: a column sum of the weights, as `recompute`
 * writes H2O's accumulated attention). Every intermediate of the pattern must be used only
 * inside it (not an output, not read elsewhere): fusion removes them. Two exceptions: the row
 * maximum and the row sum may be read by statements after the output (a log-sum-exp), which
 * `fuse` points at the final running maximum and sum instead. A failed match says why, for
 * `attnc explain`.
 */
import * as A from '../affine.ts';
import type { Equation, Expr, IndexName, Program, Statement, TensorName } from '../ir.ts';
import { irKey } from '../ir-equal.ts';
import { statementReads } from '../ir-walk.ts';

export interface SoftmaxMatch {
  readonly max: Equation;
  readonly exp: Equation;
  readonly sum: Equation;
  /** The logits as `W_max` reads them (the same expression appears in `W_exp`). */
  readonly logits: Expr;
}

export interface AttentionMatch {
  /** `O = sum[key] W * V` */
  readonly output: Equation;
  readonly key: readonly IndexName[];
  readonly weights: Equation;
  /** The factor of the output's body that is not the weights: the value read. */
  readonly value: Expr;
  /** The weights' indices other than the key, in the weights' order. */
  readonly rows: readonly IndexName[];
  readonly softmax: SoftmaxMatch | null;
}

export type MatchResult =
  | { readonly ok: true; readonly match: AttentionMatch }
  | { readonly ok: false; readonly reason: string };

const fail = (reason: string): MatchResult => ({ ok: false, reason });

/** Which statements read each tensor. */
export function readersOf(program: Program): Map<TensorName, Statement[]> {
  const readers = new Map<TensorName, Statement[]>();
  for (const s of program.body) {
    for (const t of statementReads(s)) {
      if (t === s.target) continue;
      readers.set(t, [...(readers.get(t) ?? []), s]);
    }
  }
  return readers;
}

/** `e` is a read of `tensor` (any, if omitted) whose subscripts are exactly these plain indices. */
export function isPlainRead(
  e: Expr,
  indices: readonly string[],
  tensor?: string,
): e is Extract<Expr, { kind: 'read' }> {
  return (
    e.kind === 'read' &&
    (tensor === undefined || e.tensor === tensor) &&
    e.at.length === indices.length &&
    e.at.every((a, k) => A.asIndex(a) === indices[k])
  );
}

/** The one equation defining `tensor` (a piecewise tensor has several: not a pattern member). */
function equationOf(program: Program, tensor: TensorName): Equation | null {
  const defs = program.body.filter((x) => x.target === tensor);
  return defs.length === 1 && defs[0].kind === 'equation' ? defs[0] : null;
}

/**
 * Bounds filters the `tile` pass adds (`64 * m1 + m0 < M`) say only that a position exists;
 * they do not change which keys a row sees, so matching ignores them.
 */
export function isBoundsFilter(e: Expr, _key?: readonly IndexName[]): boolean {
  // The form `tile` writes: `size * i1 + i0 < I` (any partitioned index, the key or a row).
  if (e.kind !== 'icompare' || e.op !== '<' || A.asAtom(e.rhs)?.kind !== 'symbol') return false;
  const t = e.lhs.terms;
  return (
    e.lhs.constant === 0 &&
    t.length === 2 &&
    t.every((x) => x.atom.kind === 'index') &&
    t.some((x) => x.coeff === 1)
  );
}

function onlyBounds(filter: Expr | null, key: readonly IndexName[]): boolean {
  if (!filter) return true;
  if (filter.kind === 'logical' && filter.op === '&&')
    return onlyBounds(filter.lhs, key) && onlyBounds(filter.rhs, key);
  return isBoundsFilter(filter, key);
}

export function matchAttention(program: Program, output: Equation): MatchResult {
  const readers = readersOf(program);
  const exclusive = (t: TensorName, allowed: readonly Statement[]) =>
    !program.outputs.includes(t) && (readers.get(t) ?? []).every((r) => allowed.includes(r));

  if (output.reduce?.op !== 'sum') return fail(`\`${output.target}\` is not a sum over the keys`);
  const key = output.reduce.over;
  const body = output.body;
  if (body.kind !== 'arith' || body.op !== '*')
    return fail(`\`${output.target}\` is not a product of weights and values`);
  for (const [w, v] of [
    [body.lhs, body.rhs],
    [body.rhs, body.lhs],
  ] as const) {
    if (w.kind !== 'read' || (v.kind !== 'read' && v.kind !== 'literal')) continue;
    const weights = equationOf(program, w.tensor);
    // Weights are computed per (row, key), element-wise: a tensor that is itself a reduction
    // (MLA's `OL = sum[m] A * C` before its up-projection) is a value, not attention weights.
    if (!weights || weights.reduce || !isPlainRead(w, weights.indices)) continue;
    if (!key.every((k) => weights.indices.includes(k))) continue;
    if (v.kind === 'read' && !v.at.some((a) => key.some((k) => A.indicesOf(a).has(k)))) continue;
    const rows = weights.indices.filter((i) => !key.includes(i));
    if (!rows.every((r) => output.indices.includes(r))) continue;
    if (!onlyBounds(output.filter, key))
      return fail(`\`${output.target}\` has a filter of its own`);
    if (!exclusive(weights.target, [output]))
      return fail(`the weights \`${weights.target}\` are used elsewhere, so they must be stored`);
    const later = program.body.slice(program.body.indexOf(output) + 1);
    const softmax = matchSoftmax(program, weights, key, rows, exclusive, later);
    return {
      ok: true,
      match: {
        output,
        key,
        weights,
        value: v,
        rows,
        softmax: typeof softmax === 'string' ? null : softmax,
      },
    };
  }
  return fail(
    `\`${output.target}\` is not \`sum[key] W[..., key] * V[..., key, ...]\` with weights \`W\` computed in this block`,
  );
}

/**
 * The softmax cascade behind the weights, or why there is none. `later` (the statements after
 * the output) may read the row maximum and sum: after fusion they read the final running values,
 * which equal them. The maximum only when it has no filter but the bounds (so it is present for
 * every row, as the running maximum is), and only when it is indexed by the rows themselves.
 */
export function matchSoftmax(
  program: Program,
  weights: Equation,
  key: readonly IndexName[],
  rows: readonly IndexName[],
  exclusive: (t: TensorName, allowed: readonly Statement[]) => boolean,
  later: readonly Statement[] = [],
): SoftmaxMatch | string {
  const b = weights.body;
  if (weights.reduce || !onlyBounds(weights.filter, key))
    return 'the weights are not an element-wise quotient';
  if (
    b.kind !== 'arith' ||
    b.op !== '/' ||
    !isPlainRead(b.lhs, weights.indices) ||
    !isPlainRead(b.rhs, rows)
  )
    return 'the weights are not `exp / sum`';
  const exp = equationOf(program, b.lhs.tensor);
  const sum = equationOf(program, b.rhs.tensor);
  if (!exp || !sum) return 'the weights are not `exp / sum`';
  if (!reducesOver(sum, 'sum', key) || !onlyBounds(sum.filter, key))
    return '`sum` is not a sum over the keys';
  if (!isPlainRead(sum.body, exp.indices, exp.target)) return '`sum` does not sum the exponentials';
  if (exp.reduce || exp.body.kind !== 'call' || exp.body.fn !== 'exp')
    return 'the numerator is not `exp(...)`';
  const diff = exp.body.args[0];
  if (diff.kind !== 'arith' || diff.op !== '-' || !isPlainRead(diff.rhs, rows))
    return 'the numerator is not `exp(x - max)`';
  const max = equationOf(program, diff.rhs.tensor);
  if (!max || !reducesOver(max, 'max', key))
    return 'the numerator does not subtract the row maximum';
  if (irKey(max.body) !== irKey(diff.lhs)) return 'the maximum is not taken over the same logits';
  if ((max.filter ? irKey(max.filter) : '') !== (exp.filter ? irKey(exp.filter) : ''))
    return 'the maximum and the exponential have different filters';
  const byRows = (s: Equation) =>
    s.indices.length === rows.length && rows.every((r) => s.indices.includes(r));
  const maxLater = onlyBounds(max.filter, key) && byRows(max) ? later : [];
  const sumLater = byRows(sum) ? later : [];
  if (
    !exclusive(max.target, [exp, ...maxLater]) ||
    !exclusive(exp.target, [sum, weights]) ||
    !exclusive(sum.target, [weights, ...sumLater])
  ) {
    return 'an intermediate of the softmax is used elsewhere, so it must be stored';
  }
  return { max, exp, sum, logits: max.body };
}

function reducesOver(s: Equation, op: 'sum' | 'max', key: readonly IndexName[]): boolean {
  return (
    s.reduce?.op === op &&
    s.reduce.over.length === key.length &&
    s.reduce.over.every((k, i) => k === key[i])
  );
}

/** Every attention in the program, in body order, with the reasons others did not match. */
export function findAttentions(program: Program): {
  matches: AttentionMatch[];
  misses: { target: TensorName; reason: string }[];
} {
  const matches: AttentionMatch[] = [];
  const misses: { target: TensorName; reason: string }[] = [];
  for (const s of program.body) {
    if (s.kind !== 'equation' || s.reduce?.op !== 'sum') continue;
    const r = matchAttention(program, s);
    if (r.ok) matches.push(r.match);
    else misses.push({ target: s.target, reason: r.reason });
  }
  return { matches, misses };
}
