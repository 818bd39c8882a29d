/**
 * head-grouping: for grouped-query attention, one workgroup serves the `G` query heads that
 * share a key/value head, so each key/value tile is loaded once for all of them (the GQA/MQA
 * kernels of FlashAttention-2 and FlashDecoding do the same).
 *
 * Precondition: a fused group whose value read and every key-dependent read in its score
 * contraction address the head as `hq / G` (a floor division of a row index by a symbol),
 * with the same `hq` and `G` everywhere.
 * Rewrite: the schedule records `group hq / G`; the statements are unchanged (grouping is a
 * mapping of rows to workgroups, not a change to the math).
 */
import * as A from '../affine.ts';
import type { Atom, Expr, IndexName, Program } from '../ir.ts';
import { forEachExpr } from '../ir-walk.ts';
import { fusedGroups, type FusedGroup } from './fused-group.ts';
import { no, yes, type Pass } from './pass.ts';

type Grouping = { readonly index: IndexName; readonly by: string };

/** `hq / G` atoms among a read's subscripts. */
function headDivisions(
  read: Extract<Expr, { kind: 'read' }>,
  rows: readonly IndexName[],
): Grouping[] {
  const out: Grouping[] = [];
  for (const a of read.at) {
    const atom: Atom | null = A.asAtom(a);
    if (atom?.kind !== 'floordiv') continue;
    const index = A.asIndex(atom.num);
    const by = A.asAtom(atom.den);
    if (index && rows.includes(index) && by?.kind === 'symbol') out.push({ index, by: by.name });
  }
  return out;
}

/** The grouping every key-dependent input read of the group agrees on, or why there is none. */
export function groupingOf(group: FusedGroup): Grouping | string {
  const [outer, inner] = group.key;
  // A literal value (a sum of the weights alone) is read at no head.
  const reads: Extract<Expr, { kind: 'read' }>[] = group.value.kind === 'read' ? [group.value] : [];
  for (const s of group.chain) {
    if (!s.reduce) continue;
    forEachExpr(s.body, (x) => {
      if (
        x.kind === 'read' &&
        x.at.some((a) => A.indicesOf(a).has(outer) || A.indicesOf(a).has(inner))
      )
        reads.push(x);
    });
  }
  let found: Grouping | null = null;
  for (const r of reads) {
    const g = headDivisions(r, group.rows);
    if (g.length !== 1) return `\`${r.tensor}\` is not read at a grouped head (\`hq / G\`)`;
    if (found && (found.index !== g[0].index || found.by !== g[0].by))
      return 'the keys and values are grouped differently';
    found = g[0];
  }
  return found ?? 'no grouped head';
}

function candidates(program: Program) {
  return fusedGroups(program).groups.map((g) => ({ group: g, grouping: groupingOf(g) }));
}

export const headGrouping: Pass = {
  name: 'head-grouping',
  summary: 'serve the G query heads that share a K/V head from one workgroup (one K/V load)',
  applies(program) {
    if (program.schedule.fused.length === 0) return no('nothing is fused');
    const found = candidates(program);
    const ok = found.filter((c) => typeof c.grouping !== 'string');
    const fresh = ok.filter((c) => {
      const g = c.grouping as Grouping;
      return !program.schedule.groups.some((x) => x.index === g.index && x.by === g.by);
    });
    if (fresh.length > 0) {
      const g = fresh[0].grouping as Grouping;
      return yes(`groups \`${g.index} / ${g.by}\``);
    }
    if (ok.length > 0) return no('already grouped');
    const reason = found.map((c) => c.grouping).find((g): g is string => typeof g === 'string');
    return no(reason ?? 'no fused attention');
  },
  run(program) {
    const groups = [...program.schedule.groups];
    for (const c of candidates(program)) {
      if (typeof c.grouping === 'string') continue;
      const g = c.grouping;
      if (!groups.some((x) => x.index === g.index && x.by === g.by)) groups.push(g);
    }
    return groups.length === program.schedule.groups.length
      ? program
      : { ...program, schedule: { ...program.schedule, groups } };
  },
};
