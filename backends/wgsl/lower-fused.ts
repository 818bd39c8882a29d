/**
 * The fused attention kernel of one fused group, for one specialisation (`fused-spec.ts`):
 * FlashAttention-2's structure (Dao, 2023, Alg. 1) over the cascade `fuse.ts` writes.
 *
 * A workgroup owns one value of the fixed rows (`b`), one head group (the `G` query heads that
 * share a K/V head, with `group hq / G`), and a tile of queries; with split-KV, one part of the
 * key tiles too. Each invocation serves `perInvocation` rows, so each staged load feeds several
 * rows (register blocking: on llvmpipe a workgroup-memory read is a per-lane gather, the cost
 * that dominates). The kernel:
 *
 *  1. prologue: stages the hoisted factors of its rows' contractions (`scale * Q[.., e]`)
 *     through workgroup memory into registers, one row per invocation at a time;
 *  2. loops over the key tiles `m1` within the bounds the tile filter allows for its rows
 *     (`fused-bounds.ts`), skipping tiles it rules out for every row; per tile, each row
 *     evaluates the tile filter unless it holds for all of them;
 *  3. per chunk of a tile (a few keys, unrolled): stages the key factors and the values of the
 *     chunk's keys in workgroup memory (absent elements as 0), barrier, classifies the chunk as
 *     full or partial, runs the keys in one sweep (`lower-fused-keys.ts`), barrier; or, with
 *     subgroup staging, in registers read by broadcast, with no barrier at all;
 *  4. epilogue: writes each row's accumulator through workgroup memory, and evaluates the
 *     output's own expression per element (`select(sum > 0, acc / sum, 0)`: exactly 0 for a row
 *     that saw no key); with split-KV it writes the partials (max, sum, seen; accumulator) for
 *     the merge kernel instead.
 * Barriers sit only in uniform control flow: the loop bounds, the skip tests and the chunk sizes
 * derive from uniforms, the workgroup id and read-only buffers. The data movement of steps 1, 3
 * and 4 is in `lower-fused-data.ts`.
 */
import type { Expr, TensorName } from '../../compiler/ir.ts';
import { strictIn } from '../../compiler/passes/fused-group.ts';
import { conjoin } from '../../compiler/ir-make.ts';
import { irKey } from '../../compiler/ir-equal.ts';
import { decidable, decide, kAnd, kNot, tileRange, type Box } from './fused-bounds.ts';
import type { FusedStatic } from './fused-plan.ts';
import {
  stagedKeysLength,
  stagedValuesLength,
  workgroupChunk,
  type FusedSpec,
} from './fused-spec.ts';
import { extentOf, KernelContext, fusedNames, letFresh, type TensorEnv } from './fused-scope.ts';
import { epilogue, loop, prologue, rowAt, stage, type Frame } from './lower-fused-data.ts';
import { finalBindings } from './lower-fused-finals.ts';
import {
  distinctConjuncts,
  perKeyFilters,
  registerName,
  softmaxChunk,
  weightedChunk,
  type ChunkContext,
  type RowSlot,
} from './lower-fused-keys.ts';
import { bin, Block, holds, i32, lowerAffine, lowerExpr, ref, uniform } from './lower-expr.ts';
import { closeHelpers } from './prelude.ts';
import type { KExpr, KernelPlan, Storage, WorkgroupArray } from './plan.ts';

const f32 = (value: number): KExpr => ({ kind: 'f32', value });
const min = (a: KExpr, b: KExpr): KExpr => ({ kind: 'call', fn: 'min', args: [a, b] });
const max = (a: KExpr, b: KExpr): KExpr => ({ kind: 'call', fn: 'max', args: [a, b] });
const ceilDiv = (a: KExpr, k: KExpr) => bin('/', bin('-', bin('+', a, k), i32(1)), k);
const TRUE: KExpr = { kind: 'bool', value: true };

/**
 * True where no key of the chunk counts for any row of the workgroup: the filters of the
 * weights and the sum rule out every (row, key) of the box, and so does the maximum's. Such
 * chunks (past the diagonal in a causal tile taller than its query tile, outside a window) are
 * skipped before anything is staged. Null when the filters cannot say (then every chunk runs).
 */
function noKeyCounts(fs: FusedStatic, box: Box, b: Block): KExpr | null {
  const g = fs.group;
  // A chain statement's filter counts where its absence makes the body absent (a causal mask
  // on the logits `S` that the weights `exp(S - max)` read).
  const chainFilters = (body: Expr) =>
    g.chain.filter((c) => strictIn(body, c.target, g.chain)).map((c) => c.filter);
  // Each distinct conjunct once: no (row, key) pair passes if one conjunct fails them all.
  const conjunction = (filters: readonly (Expr | null)[]): Expr | null =>
    distinctConjuncts(filters).reduce<Expr | null>(conjoin, null);
  const none = (f: Expr | null): KExpr | null => {
    const d = f ? decide(f, box, b).none : null;
    return d && !(d.kind === 'bool' && !d.value) ? d : null;
  };
  const sumFilter = conjunction([
    g.weights.filter,
    g.tacc.filter,
    g.softmax?.tsum.filter ?? null,
    ...chainFilters(g.weights.body),
  ]);
  const sum = none(sumFilter);
  if (!sum || !g.softmax) return sum;
  const maxFilter = conjunction([g.softmax.tmax.filter, ...chainFilters(g.softmax.tmax.body)]);
  if (maxFilter && sumFilter && irKey(maxFilter) === irKey(sumFilter)) return sum;
  const max = none(maxFilter);
  return max ? kAnd(sum, max) : null;
}

/** The fused kernel of `fs` for `spec`, named `name`; `statement` is the output's place. */
export function lowerFusedKernel(
  env: TensorEnv,
  fs: FusedStatic,
  spec: FusedSpec,
  name: string,
  statement: number,
): KernelPlan {
  const g = fs.group;
  const scope = new KernelContext(env, fs.output);
  const b = new Block(scope);
  const names = fusedNames(fs.output);
  const splits = uniform(names.splits);
  const [m1] = fs.key;

  // Which rows this workgroup owns: [split][fixed rows...][head group][query tile].
  const wg = letFresh(b, 'wg_id', { kind: 'workgroupId' });
  const nq = letFresh(b, 'nq', ceilDiv(extentOf(fs.query), i32(spec.queryTile)));
  const ng = fs.grouped
    ? letFresh(b, 'ng', ceilDiv(extentOf(fs.grouped.index), i32(spec.groupSize)))
    : i32(1);
  const perSplit = letFresh(
    b,
    'nr',
    fs.fixed.reduce<KExpr>((a, i) => bin('*', a, extentOf(i)), bin('*', ng, nq)),
  );
  b.push({
    kind: 'if',
    cond: bin('>=', wg, bin('*', perSplit, splits)),
    then: [{ kind: 'return' }],
    else: [],
  });
  const split = letFresh(b, 'sp', bin('/', wg, perSplit));
  const rw = letFresh(b, 'rw', bin('%', wg, perSplit));
  const qt = letFresh(b, 'qt', bin('%', rw, nq));
  let rest = letFresh(b, 'rq', bin('/', rw, nq));
  let g0: KExpr | null = null;
  if (fs.grouped) {
    g0 = letFresh(b, 'g0', bin('*', bin('%', rest, ng), i32(spec.groupSize)));
    rest = letFresh(b, 'rq', bin('/', rest, ng));
  }
  for (let k = fs.fixed.length - 1; k >= 0; k--) {
    const i = fs.fixed[k];
    scope.indexValues.set(i, letFresh(b, 'fx', k === 0 ? rest : bin('%', rest, extentOf(i))));
    if (k > 0) rest = letFresh(b, 'rq', bin('/', rest, extentOf(i)));
  }
  const q0 = letFresh(b, 'q0', bin('*', qt, i32(spec.queryTile)));
  const rowBox: Box = new Map([
    [
      fs.query,
      {
        lo: q0,
        hi: letFresh(
          b,
          'q1',
          bin('-', min(bin('+', q0, i32(spec.queryTile)), extentOf(fs.query)), i32(1)),
        ),
      },
    ],
    ...(fs.grouped && g0
      ? [
          [
            fs.grouped.index,
            {
              lo: g0,
              hi: letFresh(
                b,
                'g1',
                bin(
                  '-',
                  min(bin('+', g0, i32(spec.groupSize)), extentOf(fs.grouped.index)),
                  i32(1),
                ),
              ),
            },
          ] as const,
        ]
      : []),
  ]);

  const rows: RowSlot[] = [];
  for (let r = 0; r < spec.perInvocation; r++) {
    const slot = letFresh(b, 'sl', bin('+', i32(r * spec.invocations), { kind: 'localIndex' }));
    const row = rowAt({ fs, spec, scope, rows, split, splits, q0, g0 }, b, slot, q0, g0);
    rows.push({ r, slot, query: row.query, grouped: row.grouped, valid: row.valid, on: row.valid });
  }
  const frame: Frame = { fs, spec, scope, rows, split, splits, q0, g0 };
  prologue(frame, b, q0, g0);
  for (const row of rows) {
    b.push({
      kind: 'array',
      name: registerName.acc(row.r),
      element: 'vec4<f32>',
      length: spec.featureCount / 4,
    });
    if (g.softmax) {
      b.push({ kind: 'var', name: registerName.max(row.r), type: 'f32', init: f32(0) });
      b.push({ kind: 'var', name: registerName.sum(row.r), type: 'f32', init: f32(0) });
      b.push({
        kind: 'var',
        name: registerName.has(row.r),
        type: 'bool',
        init: { kind: 'bool', value: false },
      });
    }
  }

  // Key tiles: the bounds for these rows, then this split's part of them.
  const tiles = extentOf(m1);
  let lo: KExpr = i32(0);
  let hi: KExpr = bin('-', tiles, i32(1));
  if (fs.tileFilter) {
    const r = tileRange(fs.tileFilter, m1, tiles, rowBox, b);
    lo = letFresh(b, 'tlo', max(r.lo, i32(0)));
    hi = letFresh(b, 'thi', min(r.hi, bin('-', tiles, i32(1))));
  }
  const per = letFresh(b, 'tper', ceilDiv(max(bin('+', bin('-', hi, lo), i32(1)), i32(0)), splits));
  const from = letFresh(b, 'tfrom', bin('+', lo, bin('*', split, per)));
  const to = letFresh(b, 'tto', min(bin('+', hi, i32(1)), bin('+', from, per)));

  const tb = b.child();
  scope.indexValues.set(m1, ref('tile'));
  let allOn: KExpr = TRUE;
  if (fs.tileFilter) {
    if (decidable(fs.tileFilter)) {
      const d = decide(fs.tileFilter, rowBox, tb);
      tb.push({ kind: 'if', cond: d.none, then: [{ kind: 'continue' }], else: [] });
      allOn = letFresh(tb, 'aon', d.all);
    } else {
      // Not decidable from the box (a block summary): visit iff some row of the workgroup needs it.
      const any = tb.scope.fresh('any');
      tb.push({ kind: 'var', name: any, type: 'bool', init: { kind: 'bool', value: false } });
      const each = tb.child();
      const row = rowAt(frame, each, ref('wr'), q0, g0);
      each.push({ kind: 'if', cond: row.valid, then: [], else: [{ kind: 'continue' }] });
      each.push({
        kind: 'if',
        cond: holds(lowerExpr(fs.tileFilter, each)),
        then: [{ kind: 'assign', name: any, value: TRUE }],
        else: [],
      });
      tb.push(loop('wr', i32(0), i32(spec.rows), 1, each.stmts));
      tb.push({ kind: 'if', cond: ref(any), then: [], else: [{ kind: 'continue' }] });
      allOn = { kind: 'bool', value: false };
    }
    for (const row of rows) {
      const on = tb.scope.fresh('on');
      tb.push({ kind: 'var', name: on, type: 'bool', init: row.valid });
      const test = tb.child();
      scope.indexValues.set(fs.query, row.query);
      if (fs.grouped && row.grouped) scope.indexValues.set(fs.grouped.index, row.grouped);
      test.push({
        kind: 'assign',
        name: on,
        value: bin('&&', row.valid, holds(lowerExpr(fs.tileFilter, test))),
      });
      tb.push({ kind: 'if', cond: kNot(allOn), then: test.stmts, else: [] });
      row.on = letFresh(tb, 'on', ref(on));
    }
  }
  const key0 = letFresh(tb, 'k0', bin('*', ref('tile'), i32(fs.keyTile)));
  const limit = fs.keyLimit ? letFresh(tb, 'kl', lowerAffine(fs.keyLimit, tb).value) : null;
  const end = limit
    ? letFresh(tb, 'ke', max(min(i32(fs.keyTile), bin('-', limit, key0)), i32(0)))
    : i32(fs.keyTile);

  const cb = tb.child();
  const count = letFresh(cb, 'kn', min(i32(spec.chunk), bin('-', end, ref('ck'))));
  const keyBox: Box = new Map([
    ...rowBox,
    [
      fs.key[1],
      { lo: ref('ck'), hi: letFresh(cb, 'kh', bin('-', bin('+', ref('ck'), count), i32(1))) },
    ],
  ]);
  const skip = noKeyCounts(fs, keyBox, cb);
  if (skip) cb.push({ kind: 'if', cond: skip, then: [{ kind: 'continue' }], else: [] });
  const staged = stage(frame, cb, ref('ck'), count);
  const sharedByWorkgroup = spec.staging === 'workgroup';
  if (sharedByWorkgroup) cb.push({ kind: 'workgroupBarrier' });
  const filters = perKeyFilters(fs);
  const full =
    filters.length === 0
      ? TRUE
      : letFresh(
          cb,
          'full',
          decide(
            filters.reduce((a, x) => conjoin(a, x)!),
            keyBox,
            cb,
          ).all,
        );
  const ctx: ChunkContext = { fs, spec, scope, rows, full, count, first: ref('ck'), staged };
  if (g.softmax) softmaxChunk(ctx, cb);
  else weightedChunk(ctx, cb);
  if (sharedByWorkgroup) cb.push({ kind: 'workgroupBarrier' });
  tb.push(loop('ck', i32(0), end, spec.chunk, cb.stmts));
  b.push(loop('tile', from, to, 1, tb.stmts));

  const partialRows = fs.rows.reduce<KExpr>((a, i) => bin('*', a, extentOf(i)), i32(1));
  epilogue(frame, b, q0, g0, partialRows);

  const chunkRows = workgroupChunk(spec);
  const arrays: WorkgroupArray[] = [];
  if (fs.contractions.length > 0)
    arrays.push({
      name: 'wg_k',
      element: 'vec4<f32>',
      length: stagedKeysLength(spec, chunkRows) / 4,
    });
  arrays.push({
    name: 'wg_v',
    element: 'vec4<f32>',
    length: stagedValuesLength(spec, chunkRows) / 4,
  });
  if (g.softmax) arrays.push({ name: 'wg_l', element: 'f32', length: spec.invocations });

  const partials: { tensor: TensorName; storage: Storage }[] = [
    { tensor: names.acc, storage: 'f32' },
  ];
  if (g.softmax) partials.push({ tensor: names.ml, storage: 'f32' });
  partials.push(...finalBindings(env, fs));
  const bindings = scope.bindings(partials);
  return {
    name,
    entryPoint: 'main',
    statement,
    target: fs.output,
    workgroupSize: spec.invocations,
    dispatch: { kind: 'grid', invocations: { kind: 'affine', terms: [], constant: 0 } },
    bindings,
    f16: bindings.some((x) => x.storage === 'f16'),
    subgroups: !sharedByWorkgroup,
    helpers: closeHelpers(scope.helpers),
    summary: `fused ${g.softmax ? 'online-softmax attention' : 'weighted sum'} \`${fs.output}\` over ${g.statements.map((s) => s.target).join(', ')}; ${spec.rows} rows × ${spec.chunk} keys per step`,
    body: b.stmts,
    workgroupArrays: arrays,
    fused: { output: fs.output, role: 'attention' },
  };
}
