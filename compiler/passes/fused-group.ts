/**
 * The shape of a fused attention, as the `fuse` pass writes it (see fuse.ts for the cascade):
 * the later passes and the WGSL backend find the statements of `fuse O` here rather than each
 * re-deriving them. A program whose text was printed after `fuse` and checked again matches the
 * same way, since matching looks only at the statements.
 *
 * The group of output `O`, with key tile `m1` and key `m0` within it:
 *   - `output`  `O[...] = select(rsum[.., M1] > 0, racc[.., M1] / rsum[.., M1], 0)` (softmax) or
 *               `O[...] = racc[.., M1]`
 *   - `acc`     the running accumulator `racc` (a recurrence over m1) and its per-tile sum `tacc`
 *   - softmax:  `tmax`, `rmax`, `corr`, `exp`, `tsum`, `rsum`
 *   - `weights` the per-key weights the accumulator sums (`exp` for a softmax)
 *   - `value`   the value read in `tacc` (`V[b, hq / G, 64 * m1 + m0, f]`), or a literal (`1`:
 *               a sum of the weights alone, such as H2O's column sums)
 *   - `chain`   statements computed per (row, key) that the weights need (the logits and what
 *               they read), in body order: the backend computes them per key tile
 *   - `prelude` statements the group reads that are not per key (a block summary for block
 *               sparsity): the backend runs them as ordinary kernels first
 *   - `finals`  statements outside the cascade that read the final running maximum or sum
 *               (`LSE = select(rsum[.., M1] > 0, rmax[.., M1] + log(rsum[.., M1]), -inf)`, as
 *               `fuse` rewrites a log-sum-exp): the fused kernel computes them per row when it
 *               has the final values, so they are members of the group too
 */
import * as A from '../affine.ts';
import type {
  Equation,
  Expr,
  IndexName,
  Program,
  Recurrence,
  Statement,
  TensorName,
} from '../ir.ts';
import { statementReads } from '../ir-walk.ts';
import { isPlainRead } from './attention-match.ts';

export interface SoftmaxStatements {
  readonly tmax: Equation;
  readonly rmax: Recurrence;
  readonly corr: Equation;
  readonly tsum: Equation;
  readonly rsum: Recurrence;
}

export interface FusedGroup {
  readonly output: Equation;
  /** `[m1, m0]`: the key tile index and the key within a tile. */
  readonly key: readonly [IndexName, IndexName];
  /** The weights' indices other than the key (`b, hq, p`). */
  readonly rows: readonly IndexName[];
  readonly tacc: Equation;
  readonly racc: Recurrence;
  readonly softmax: SoftmaxStatements | null;
  readonly weights: Equation;
  readonly value: Extract<Expr, { kind: 'read' | 'literal' }>;
  readonly chain: readonly Statement[];
  /** Statements after the cascade that read the final running maximum or sum, in body order. */
  readonly finals: readonly Statement[];
  /** Every statement of the group, chain included, in body order. */
  readonly statements: readonly Statement[];
}

export type FusedMatch =
  | { readonly ok: true; readonly group: FusedGroup }
  | { readonly ok: false; readonly reason: string };

const fail = (reason: string): FusedMatch => ({ ok: false, reason });

function defOf(program: Program, t: TensorName): Statement | undefined {
  return program.body.find((s) => s.target === t);
}

/** The tensor a read-at-the-step-extent (`T[.., M1]`) reads, if `e` is one. */
function finalRead(e: Expr): TensorName | null {
  if (e.kind !== 'read' || e.at.length === 0) return null;
  const last = A.asAtom(e.at[e.at.length - 1]);
  return last?.kind === 'symbol' ? e.tensor : null;
}

export function matchFused(program: Program, output: TensorName): FusedMatch {
  const out = defOf(program, output);
  if (!out || out.kind !== 'equation' || out.reduce || out.filter)
    return fail(`\`${output}\` is not the final equation of a fused cascade`);
  let accName: TensorName | null = null;
  let sumName: TensorName | null = null;
  const b = out.body;
  if (b.kind === 'select' && b.then.kind === 'arith' && b.then.op === '/') {
    accName = finalRead(b.then.lhs);
    sumName = finalRead(b.then.rhs);
  } else accName = finalRead(b);
  const racc = accName ? defOf(program, accName) : undefined;
  if (!racc || racc.kind !== 'recurrence' || racc.axis !== racc.indices.length - 1)
    return fail(`\`${output}\` does not read a running accumulator`);
  const key0 = racc.indices[racc.axis];
  const rb = racc.body;
  if (rb.kind !== 'arith' || rb.op !== '+' || rb.rhs.kind !== 'read')
    return fail('the running accumulator is not `acc * corr + tile`');
  const tacc = defOf(program, rb.rhs.tensor);
  if (
    !tacc ||
    tacc.kind !== 'equation' ||
    tacc.reduce?.op !== 'sum' ||
    tacc.reduce.over.length !== 1
  )
    return fail('the accumulator does not add a per-tile sum');
  const inner = tacc.reduce.over[0];
  const key: [IndexName, IndexName] = [key0, inner];
  const tb = tacc.body;
  const operand = (e: Expr) => e.kind === 'read' || e.kind === 'literal';
  if (tb.kind !== 'arith' || tb.op !== '*' || !operand(tb.lhs) || !operand(tb.rhs))
    return fail('the per-tile sum is not `weights * values`');
  const isWeights = (e: Expr) =>
    e.kind === 'read' &&
    (defOf(program, e.tensor)?.indices.includes(inner) ?? false) &&
    isPlainRead(e, defOf(program, e.tensor)!.indices);
  const [wRead, value] = isWeights(tb.lhs) ? [tb.lhs, tb.rhs] : [tb.rhs, tb.lhs];
  if (wRead.kind !== 'read') return fail('the per-tile sum is not `weights * values`');
  const weights = defOf(program, wRead.tensor);
  if (
    !weights ||
    weights.kind !== 'equation' ||
    !weights.indices.includes(key0) ||
    !weights.indices.includes(inner)
  )
    return fail('the weights are not indexed by the key tile');
  if (value.kind !== 'read' && value.kind !== 'literal')
    return fail('the values are not a tensor read');
  const rows = weights.indices.filter((i) => i !== key0 && i !== inner);

  let softmax: SoftmaxStatements | null = null;
  if (sumName) {
    const rsum = defOf(program, sumName);
    const corrRead =
      rb.lhs.kind === 'arith' && rb.lhs.op === '*' && rb.lhs.rhs.kind === 'read'
        ? rb.lhs.rhs
        : null;
    const corr = corrRead ? defOf(program, corrRead.tensor) : undefined;
    if (!rsum || rsum.kind !== 'recurrence' || !corr || corr.kind !== 'equation')
      return fail('the running sum or the correction is missing');
    const tsumRead =
      rsum.body.kind === 'arith' && rsum.body.rhs.kind === 'read' ? rsum.body.rhs : null;
    const tsum = tsumRead ? defOf(program, tsumRead.tensor) : undefined;
    const rmaxName = [...statementReads(corr)][0];
    const rmax = rmaxName ? defOf(program, rmaxName) : undefined;
    const tmaxRead =
      rmax?.kind === 'recurrence' && rmax.body.kind === 'call' ? rmax.body.args[1] : null;
    const tmax = tmaxRead?.kind === 'read' ? defOf(program, tmaxRead.tensor) : undefined;
    if (
      !tsum ||
      tsum.kind !== 'equation' ||
      !rmax ||
      rmax.kind !== 'recurrence' ||
      !tmax ||
      tmax.kind !== 'equation'
    ) {
      return fail('the softmax statements of the cascade are incomplete');
    }
    softmax = { tmax, rmax, corr, tsum, rsum };
  }

  const group = new Set<Statement>([
    out,
    racc,
    tacc,
    weights,
    ...(softmax ? Object.values(softmax) : []),
  ]);
  const chain = scoreChain(program, [weights, ...(softmax ? [softmax.tmax] : [])], key, group);
  const running = softmax ? [softmax.rmax.target, softmax.rsum.target] : [];
  // After the output only: the kernel that writes them runs where the output is computed.
  const finals = program.body
    .slice(program.body.indexOf(out) + 1)
    .filter((s) => [...statementReads(s)].some((t) => running.includes(t)));
  const statements = program.body.filter(
    (s) => group.has(s) || chain.includes(s) || finals.includes(s),
  );
  return {
    ok: true,
    group: {
      output: out,
      key,
      rows,
      tacc,
      racc,
      softmax,
      weights,
      value,
      chain,
      finals,
      statements,
    },
  };
}

/**
 * The per-(row, key) statements the weights need: computed tensors indexed by both key indices,
 * found by following reads from `from`. They are computed inside the fused kernel.
 */
function scoreChain(
  program: Program,
  from: readonly Statement[],
  key: readonly IndexName[],
  exclude: ReadonlySet<Statement>,
): Statement[] {
  const found = new Set<Statement>();
  const visit = (s: Statement) => {
    for (const t of statementReads(s)) {
      const d = defOf(program, t);
      if (!d || d === s || exclude.has(d) || found.has(d)) continue;
      if (!key.every((k) => d.indices.includes(k))) continue;
      // Every piece of a piecewise tensor belongs to the chain.
      for (const piece of program.body.filter((x) => x.target === d.target)) {
        found.add(piece);
        visit(piece);
      }
    }
  };
  from.forEach(visit);
  return program.body.filter((s) => found.has(s));
}

/** The fused groups the schedule lists, or the reasons they no longer match. */
export function fusedGroups(program: Program): {
  groups: FusedGroup[];
  broken: { output: TensorName; reason: string }[];
} {
  const groups: FusedGroup[] = [];
  const broken: { output: TensorName; reason: string }[] = [];
  for (const o of program.schedule.fused) {
    const r = matchFused(program, o);
    if (r.ok) groups.push(r.group);
    else broken.push({ output: o, reason: r.reason });
  }
  return { groups, broken };
}

/**
 * Whether `e` is absent wherever tensor `t` is (directly, or through chain statements whose
 * bodies are): arithmetic and functions propagate absence; `select` only through its condition
 * or both branches; a logical operator only through both operands.
 */
export function strictIn(e: Expr, t: TensorName, chain: readonly Statement[]): boolean {
  const strict = (x: Expr): boolean => {
    switch (x.kind) {
      case 'read': {
        if (x.tensor === t) return true;
        const via = chain.find((c) => c.target === x.tensor);
        return via?.kind === 'equation' && strict(via.body);
      }
      case 'neg':
      case 'not':
        return strict(x.arg);
      case 'arith':
      case 'compare':
        return strict(x.lhs) || strict(x.rhs);
      case 'call':
        return x.args.some(strict);
      case 'select':
        return strict(x.cond) || (strict(x.then) && strict(x.else));
      case 'logical':
        return strict(x.lhs) && strict(x.rhs);
      default:
        return false;
    }
  };
  return strict(e);
}
