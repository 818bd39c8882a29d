/**
 * block-sparsity: lets the fused kernel skip key tiles the filters rule out (FlexAttention's
 * BlockMask; FlashAttention's causal tile skipping).
 *
 * Precondition: a fused group (fused-group.ts) whose weights, or the logits they come from,
 * have filters that depend on the key, and whose running values carry no tile filter yet.
 * Rewrite: the *visibility* of a key, the conjunction of those filters, is projected onto key
 * tiles (relax.ts): `T(rows, m1)` holds whenever some key of tile `m1` is visible to the row.
 * `T` becomes the filter of the running maximum, sum and accumulator; a tile it rules out
 * leaves them as they were, which is exactly what visiting it would have done (its keys are
 * absent), so values are unchanged. When part of the visibility cannot be projected (a mask
 * tensor, document ids), a block summary computes it per tile first:
 *
 *   O_blk[rows, m1] = max[m0] select(visible, 1, 0)   where M0·m1 + m0 < M
 * and the tile filter reads `O_blk[rows, m1] > 0` (the small "block list" pre-kernel).
 *
 * Example (causal, tile m = 64):
 *   O_racc[p, f, m1 + 1] = O_racc[p, f, m1] * O_corr[p, m1] + O_tacc[p, f, m1]
 *       where 64 * m1 <= p + M - P
 * The backend turns such a filter into loop bounds per query tile (empty tiles are never
 * visited) and classifies each visited tile as full (no predicate per key) or partial.
 */
import * as A from '../affine.ts';
import {
  extentName,
  type Expr,
  type IndexName,
  type Program,
  type Statement,
  type TensorName,
} from '../ir.ts';
import { indicesOfExpr } from '../ir-walk.ts';
import { compare, conjoin, conjuncts, literal, or, read, select } from '../ir-make.ts';
import { isBoundsFilter } from './attention-match.ts';
import { fusedGroups, strictIn, type FusedGroup } from './fused-group.ts';
import { freshName, namesOf, no, yes, type Pass } from './pass.ts';
import { isTrue, relaxOverKey } from './relax.ts';

/**
 * The filters that decide whether a key is visible to a row, bounds filters left out. A chain
 * statement's filter counts only where its absence makes the weights (and the maximum's term)
 * absent: behind a `select(m <= p, S, 0)` a masked `S` still gives the key a weight.
 */
function visibility(group: FusedGroup): Expr[] {
  const space = new Set<string>(group.weights.indices);
  const bodies = [group.weights.body, ...(group.softmax ? [group.softmax.tmax.body] : [])];
  const hides = (s: Statement) => bodies.every((e) => strictIn(e, s.target, group.chain));
  const sources: Statement[] = [
    group.weights,
    ...(group.softmax ? [group.softmax.tmax] : []),
    ...group.chain.filter(hides),
  ];
  const parts: Expr[] = [];
  const add = (c: Expr) => {
    if (!parts.some((p) => JSON.stringify(p) === JSON.stringify(c))) parts.push(c);
  };
  // A filter speaks about its own statement's iteration space. Only a condition on that
  // statement's left-hand indices, which are the weights' own indices by name (as the passes
  // keep them), says something about the weights; one on its reduced indices does not (an
  // agent's pooling window over `y, x` is not the queries' `y, x`).
  const about = (s: Statement, c: Expr) =>
    [...indicesOfExpr(c)].every((i) => space.has(i) && s.indices.includes(i));
  for (const t of [...new Set(sources.map((s) => s.target))]) {
    const pieces = sources.filter((s) => s.target === t);
    if (pieces.length > 1) {
      // A piecewise tensor is present where some piece is: its filters are alternatives.
      if (pieces.every((s) => about(s, s.filter!)))
        add(pieces.map((s) => s.filter!).reduce((a, b) => or(a, b)));
      continue;
    }
    for (const c of conjuncts(pieces[0].filter))
      if (!isBoundsFilter(c, group.key) && about(pieces[0], c)) add(c);
  }
  return parts;
}

function tileSize(program: Program, inner: IndexName): number | null {
  const c = program.consts.find((x) => x.name === extentName(inner));
  return c?.type === 'i32' && A.isConstant(c.value) ? c.value.constant : null;
}

interface Plan {
  readonly group: FusedGroup;
  readonly filter: Expr;
  readonly summary: { readonly name: TensorName; readonly statement: Statement } | null;
}

function plan(program: Program, group: FusedGroup, taken: Set<string>): Plan | string {
  if (group.racc.filter) return `\`${group.output.target}\` already skips tiles`;
  const visible = visibility(group);
  if (visible.length === 0) return `no filter restricts the keys of \`${group.output.target}\``;
  const [outer, inner] = group.key;
  const size = tileSize(program, inner);
  if (size === null) return `the key tile size of \`${group.output.target}\` is not a constant`;
  const all = visible.reduce((a, b) => conjoin(a, b)!);
  const relaxed = relaxOverKey(all, inner, size);
  // A condition that does not mention the key tile cannot skip tiles (only whole rows).
  let filter: Expr | null =
    isTrue(relaxed.expr) || !indicesOfExpr(relaxed.expr).has(outer) ? null : relaxed.expr;
  let summary: Plan['summary'] = null;
  if (relaxed.lossy) {
    const rows = group.rows.filter((r) => indicesOfExpr(all).has(r));
    const name = freshName(taken, `${group.output.target}_blk`) as TensorName;
    taken.add(name);
    const bounds = conjuncts(group.tacc.filter).find((c) => isBoundsFilter(c, group.key)) ?? null;
    const statement: Statement = {
      kind: 'equation',
      target: name,
      indices: [...rows, outer],
      reduce: { op: 'max', over: [inner] },
      filter: bounds,
      body: select(all, literal(1), literal(0)),
      origin: group.output.origin,
    };
    summary = { name, statement };
    filter = conjoin(
      filter,
      compare(
        '>',
        read(
          name,
          [...rows, outer].map((i) => A.index(i)),
        ),
        literal(0),
      ),
    );
  }
  if (!filter) return `the filters of \`${group.output.target}\` do not rule out whole key tiles`;
  return { group, filter, summary };
}

function plans(program: Program): { ready: Plan[]; reasons: string[] } {
  const taken = namesOf(program);
  const ready: Plan[] = [];
  const reasons: string[] = [];
  for (const g of fusedGroups(program).groups) {
    const p = plan(program, g, taken);
    if (typeof p === 'string') reasons.push(p);
    else ready.push(p);
  }
  return { ready, reasons };
}

export const blockSparsity: Pass = {
  name: 'block-sparsity',
  summary:
    'skip key tiles that the filters rule out for a whole query row (a block list for mask tensors)',
  applies(program) {
    if (program.schedule.fused.length === 0) return no('nothing is fused');
    const { ready, reasons } = plans(program);
    if (ready.length === 0) return no(reasons.join('; ') || 'nothing to skip');
    const how = ready.map(
      (p) =>
        `\`${p.group.output.target}\` (${p.summary ? `block summary \`${p.summary.name}\`` : 'affine tile bounds'})`,
    );
    return yes(`skips tiles of ${how.join(', ')}`);
  },
  run(program) {
    const { ready } = plans(program);
    if (ready.length === 0) return program;
    const withFilter = new Map<Statement, Statement>();
    const summaryBefore = new Map<Statement, Statement>();
    for (const p of ready) {
      const running = [
        p.group.racc,
        ...(p.group.softmax ? [p.group.softmax.rmax, p.group.softmax.rsum] : []),
      ];
      for (const s of running) withFilter.set(s, { ...s, filter: conjoin(s.filter, p.filter) });
      // After the per-key chain (which the summary's filter may read), before the running values.
      const anchor = p.group.softmax ? p.group.softmax.tmax : p.group.tacc;
      if (p.summary) summaryBefore.set(anchor, p.summary.statement);
    }
    const body = program.body.flatMap((s) => {
      const summary = summaryBefore.get(s);
      const next = withFilter.get(s) ?? s;
      return summary ? [summary, next] : [next];
    });
    return { ...program, body };
  },
};
