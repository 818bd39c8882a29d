/**
 * split-kv: Flash-Decoding (Dao et al., 2023). With few queries and many keys, one workgroup per
 * query tile leaves the device idle; splitting the key tiles across workgroups, each keeping a
 * partial (max, sum, accumulator), and merging the partials in a second kernel restores the
 * parallelism. The merge is the same rescaling the running values already do across tiles.
 *
 * Precondition: a fused group with a softmax (a plain weighted sum splits too: its merge is a
 * sum) and a partitioned key.
 * Rewrite: the schedule records `split m1` (the key tiles may be split). How many splits is
 * decided when the kernel runs, from the bound extents: there are few queries (P ≤ 16 rows per
 * head group) only at run time, and decode steps grow M.
 */
import type { IndexName } from '../ir.ts';
import { fusedGroups } from './fused-group.ts';
import { no, yes, type Pass } from './pass.ts';

export const splitKv: Pass = {
  name: 'split-kv',
  summary: 'allow splitting long key ranges across workgroups when there are few queries (decode)',
  applies(program) {
    const { groups } = fusedGroups(program);
    if (groups.length === 0) return no('nothing is fused');
    const fresh = groups.filter((g) => !program.schedule.splits.includes(g.key[0]));
    if (fresh.length === 0) return no('already split');
    // Groups may share a key tile index (attn_stats' two column sums over `p1`): name it once.
    const keys = [...new Set(fresh.map((g) => g.key[0]))];
    return yes(`splits \`${keys.join('`, `')}\` when the queries are few (decided at run time)`);
  },
  run(program) {
    const splits: IndexName[] = [...program.schedule.splits];
    for (const g of fusedGroups(program).groups)
      if (!splits.includes(g.key[0])) splits.push(g.key[0]);
    return splits.length === program.schedule.splits.length
      ? program
      : { ...program, schedule: { ...program.schedule, splits } };
  },
};
