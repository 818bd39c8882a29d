/**
 * THE pass pipeline: the optimizer's passes in the order they run. Each is a small pure module
 * (one file, one export, named like the pass); `runPipeline` checks each pass's precondition,
 * runs it, and lets instruments watch (TVM's PassInstrument): the IR verifier after every pass
 * in tests and under `--verify`, `explain --after PASS`, and the interpreter-equivalence tests.
 */
import type { Program } from '../ir.ts';
import { blockSparsity } from './block-sparsity.ts';
import { fuse } from './fuse.ts';
import { headGrouping } from './head-grouping.ts';
import type { Pass, PassContext, PassName } from './pass.ts';
import { recompute } from './recompute.ts';
import { splitKv } from './split-kv.ts';
import { tile } from './tile.ts';

export const PIPELINE: readonly Pass[] = [
  recompute, //      a second cascade over an attention's logits gets its own copy of them
  tile, //           partition the key index: FuseMax's ranks m → (m1, m0)
  fuse, //           the 1-pass cascade: running max, rescaled sum and accumulator
  blockSparsity, //  skip key tiles the filters rule out for a whole query tile
  headGrouping, //   one workgroup serves the query heads that share a key/value head
  splitKv, //        split long key ranges across workgroups when there are few queries
];

export const PASS_NAMES: readonly PassName[] = PIPELINE.map((p) => p.name);

export interface Instrument {
  beforePass?(pass: Pass, program: Program): void;
  afterPass?(pass: Pass, before: Program, after: Program): void;
}

/** What happened to one pass: it ran (and why it applied) or it was skipped, and why. */
export interface PassNote {
  readonly pass: PassName;
  readonly applied: boolean;
  readonly message: string;
}

export interface PipelineOptions {
  /** Run only these passes (in pipeline order). */
  readonly only?: readonly PassName[];
  /** Do not run these passes. */
  readonly skip?: readonly PassName[];
  readonly instruments?: readonly Instrument[];
}

export interface PipelineResult {
  readonly program: Program;
  readonly notes: readonly PassNote[];
}

export function runPipeline(
  program: Program,
  ctx: PassContext,
  options: PipelineOptions = {},
): PipelineResult {
  const notes: PassNote[] = [];
  let current = program;
  for (const pass of PIPELINE) {
    if ((options.only && !options.only.includes(pass.name)) || options.skip?.includes(pass.name)) {
      notes.push({ pass: pass.name, applied: false, message: 'not selected' });
      continue;
    }
    const check = pass.applies(current, ctx);
    if (!check.applies) {
      notes.push({ pass: pass.name, applied: false, message: check.reason });
      continue;
    }
    for (const i of options.instruments ?? []) i.beforePass?.(pass, current);
    const next = pass.run(current, ctx);
    for (const i of options.instruments ?? []) i.afterPass?.(pass, current, next);
    notes.push({
      pass: pass.name,
      applied: next !== current,
      message: check.because ?? (next === current ? 'nothing to change' : 'applied'),
    });
    current = next;
  }
  return { program: current, notes };
}
