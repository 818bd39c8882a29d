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
 *  1. prologue: stages the hoisted factors of its rows' contraction (`scale * Q[.., e]`) through
 *     workgroup memory into registers, one row per invocation at a time;
 *  2. loops over the key tiles `m1` within the bounds the tile filter allows for its rows
 *     (`fused-bounds.ts`), skipping tiles it rules out for every row; per tile, each row
 *     evaluates the tile filter unless it holds for all of them;
 *  3. per chunk of a tile: stages the key factors and the values of the chunk's keys in
 *     workgroup memory (absent elements as 0), barrier, classifies the chunk as full or partial,
 *     runs the keys (`lower-fused-keys.ts`), barrier;
 *  4. epilogue: writes each row's accumulator through workgroup memory, and evaluates the
 *     output's own expression per element (`select(sum > 0, acc / sum, 0)`: exactly 0 for a row
 *     that saw no key); with split-KV it writes the partials (max, sum, seen; accumulator) for
 *     the merge kernel instead.
 * Barriers sit only in uniform control flow: the loop bounds, the skip tests and the chunk sizes
 * derive from uniforms, the workgroup id and read-only buffers.
 */
import type { TensorName } from '../../compiler/ir.ts';
import { conjoin } from '../../compiler/ir-make.ts';
import { decidable, decide, kAnd, kNot, tileRange, type Box } from './fused-bounds.ts';
import type { FusedStatic } from './fused-plan.ts';
import type { FusedSpec } from './fused-spec.ts';
import {
  extentOf,
  FusedScope,
  letFresh,
  linearOf,
  storeOutput,
  zeroFilled,
  type TensorEnv,
} from './fused-scope.ts';
import {
  perKeyFilters,
  registerName,
  softmaxChunk,
  weightedChunk,
  type ChunkContext,
  type RowSlot,
} from './lower-fused-keys.ts';
import { bin, Block, holds, i32, lowerAffine, lowerExpr, ref, uniform } from './lower-expr.ts';
import { escapeName, mangle } from './names.ts';
import { closeHelpers } from './prelude.ts';
import type { KExpr, KStmt, KernelPlan, Storage, WorkgroupArray } from './plan.ts';

/** Names of a fused group's run-time uniform and split-KV partial buffers. */
export const fusedNames = (output: TensorName) => ({
  splits: `run_splits_${escapeName(output)}`,
  /** The split count, as the runtime names it (not an attn name, so it cannot collide). */
  splitSymbol: `${output}#splits`,
  /** The split count when the run splits, else 0: partial buffers are sized with it. */
  partsSymbol: `${output}#parts`,
  acc: `${output}#acc` as TensorName,
  ml: `${output}#ml` as TensorName,
});

const f32 = (value: number): KExpr => ({ kind: 'f32', value });
const min = (a: KExpr, b: KExpr): KExpr => ({ kind: 'call', fn: 'min', args: [a, b] });
const max = (a: KExpr, b: KExpr): KExpr => ({ kind: 'call', fn: 'max', args: [a, b] });
const ceilDiv = (a: KExpr, k: KExpr) => bin('/', bin('-', bin('+', a, k), i32(1)), k);
const TRUE: KExpr = { kind: 'bool', value: true };

/**
 * Scalar element `x` of a workgroup array whose elements are `width` wide: staging loops go
 * element by element, so each loop body has one load and one store site (what llvmpipe's
 * compile time grows with), while the key loops read whole vec4s.
 */
function wgStore(buffer: string, width: number, x: KExpr, value: KExpr): KStmt {
  return width === 4
    ? { kind: 'store', buffer, index: bin('/', x, i32(4)), component: bin('%', x, i32(4)), value }
    : { kind: 'store', buffer, index: x, value };
}

function wgLoad(buffer: string, width: number, x: KExpr): KExpr {
  return width === 4
    ? {
        kind: 'load',
        buffer,
        index: bin('/', x, i32(4)),
        component: bin('%', x, i32(4)),
        mutable: true,
      }
    : { kind: 'load', buffer, index: x, mutable: true };
}

/** `for (var name = from; name < to; name += step)`. */
const loop = (
  index: string,
  from: KExpr,
  to: KExpr,
  step: number | KExpr,
  body: readonly KStmt[],
): KStmt => ({ kind: 'for', index, from, to, step, body });

interface Frame {
  readonly q0: KExpr;
  readonly g0: KExpr | null;
  readonly fs: FusedStatic;
  readonly spec: FusedSpec;
  readonly scope: FusedScope;
  readonly rows: RowSlot[];
  readonly split: KExpr;
  readonly splits: KExpr;
}

/** Binds the row of workgroup slot `slot`: query and grouped head values, and validity. */
function rowAt(
  f: Frame,
  b: Block,
  slot: KExpr,
  q0: KExpr,
  g0: KExpr | null,
): { query: KExpr; grouped: KExpr | null; valid: KExpr } {
  const { fs, spec } = f;
  const query = letFresh(b, 'qv', bin('+', q0, bin('%', slot, i32(spec.queryTile))));
  let valid = bin('<', query, extentOf(fs.query));
  let grouped: KExpr | null = null;
  if (fs.grouped && g0) {
    grouped = letFresh(b, 'gv', bin('+', g0, bin('/', slot, i32(spec.queryTile))));
    valid = bin('&&', valid, bin('<', grouped, extentOf(fs.grouped.index)));
    b.scope.indexValues.set(fs.grouped.index, grouped);
  }
  b.scope.indexValues.set(fs.query, query);
  return { query, grouped, valid: letFresh(b, 'rv', valid) };
}

/** Sets the feature indices from a linear feature number `fl` (row-major over their extents). */
function bindFeatures(f: Frame, b: Block, fl: KExpr): void {
  let rest = fl;
  const features = f.fs.features;
  for (let k = features.length - 1; k >= 0; k--) {
    const v = k === 0 ? rest : bin('%', rest, extentOf(features[k]));
    f.scope.indexValues.set(features[k], letFresh(b, 'fv', v));
    if (k > 0) rest = letFresh(b, 'fq', bin('/', rest, extentOf(features[k])));
  }
}

/** The number of features (the product of their extents), a uniform expression. */
function featureTotal(fs: FusedStatic): KExpr {
  return fs.features.reduce<KExpr>((a, i) => bin('*', a, extentOf(i)), i32(1));
}

/** `v` where `within < total`, else 0: the padding of a vec4 register row. */
function padded(within: KExpr, total: KExpr, v: KExpr): KExpr {
  return { kind: 'select', cond: bin('<', within, total), ifTrue: v, ifFalse: f32(0) };
}

/** A cooperative loop over `count` items of `rowsPerItem`; binds the item's row from `r`. */
function rowItems(
  f: Frame,
  b: Block,
  r: number,
  perRow: number,
  q0: KExpr,
  g0: KExpr | null,
  each: (blk: Block, item: KExpr, within: KExpr, valid: KExpr, rowIn: KExpr) => void,
): void {
  const body = b.child();
  const x = ref('xi');
  const rowIn = letFresh(body, 'ri', bin('/', x, i32(perRow)));
  const within = letFresh(body, 'wi', bin('%', x, i32(perRow)));
  const slot = bin('+', i32(r * f.spec.invocations), rowIn);
  const row = rowAt(f, body, slot, q0, g0);
  each(body, x, within, row.valid, rowIn);
  b.push(
    loop(
      'xi',
      { kind: 'localIndex' },
      i32(f.spec.invocations * perRow),
      f.spec.invocations,
      body.stmts,
    ),
  );
}

function prologue(f: Frame, b: Block, q0: KExpr, g0: KExpr | null): void {
  const c = f.fs.contraction;
  if (!c) return;
  const n = f.spec.reduced / 4;
  for (const row of f.rows) {
    rowItems(f, b, row.r, f.spec.reduced, q0, g0, (blk, x, within) => {
      f.scope.indexValues.set(c.reduced, within);
      blk.push(
        wgStore(
          'wg_k',
          4,
          x,
          padded(within, extentOf(c.reduced), zeroFilled(lowerExpr(c.hoisted, blk))),
        ),
      );
    });
    b.push({ kind: 'workgroupBarrier' });
    b.push({ kind: 'array', name: registerName.hoisted(row.r), element: 'vec4<f32>', length: n });
    for (let i = 0; i < n; i++) {
      const at = bin('+', bin('*', { kind: 'localIndex' }, i32(n)), i32(i));
      b.push({
        kind: 'store',
        buffer: registerName.hoisted(row.r),
        index: i32(i),
        value: { kind: 'load', buffer: 'wg_k', index: at, mutable: true },
      });
    }
    b.push({ kind: 'workgroupBarrier' });
  }
}

/** Stages the chunk's key factors and values (absent elements as 0), element by element. */
function stage(f: Frame, b: Block, first: KExpr, count: KExpr): void {
  const { fs, spec, scope } = f;
  // Staged reads use no query, and a grouped head only as `hq / G` (fused-plan.ts): any row of
  // the workgroup gives them the same value.
  scope.indexValues.set(fs.query, f.q0);
  if (fs.grouped && f.g0) scope.indexValues.set(fs.grouped.index, f.g0);
  const tiles: { buffer: string; n: number; value: (blk: Block, within: KExpr) => KExpr }[] = [];
  const c = fs.contraction;
  if (c) {
    tiles.push({
      buffer: 'wg_k',
      n: spec.reduced,
      value: (blk, within) => {
        scope.indexValues.set(c.reduced, within);
        return padded(within, extentOf(c.reduced), zeroFilled(lowerExpr(c.staged, blk)));
      },
    });
  }
  tiles.push({
    buffer: 'wg_v',
    n: spec.featureCount,
    value: (blk, within) => {
      bindFeatures(f, blk, within);
      return padded(within, featureTotal(fs), zeroFilled(lowerExpr(fs.group.value, blk)));
    },
  });
  // One vec4 per iteration: four loads in the loop body, but a quarter of the iterations and
  // whole-vector stores (this loop runs once per chunk, unlike the prologue's and epilogue's).
  for (const t of tiles) {
    const body = b.child();
    const x = ref('xi');
    const n4 = t.n / 4;
    const j = letFresh(body, 'kr', bin('/', x, i32(n4)));
    const w4 = letFresh(body, 'wi', bin('*', bin('%', x, i32(n4)), i32(4)));
    scope.indexValues.set(fs.key[1], letFresh(body, 'kk', bin('+', first, j)));
    const parts = [0, 1, 2, 3].map((c) =>
      t.value(body, c === 0 ? w4 : letFresh(body, 'wi', bin('+', w4, i32(c)))),
    );
    body.push({ kind: 'store', buffer: t.buffer, index: x, value: { kind: 'vec4', args: parts } });
    b.push(
      loop('xi', { kind: 'localIndex' }, bin('*', count, i32(n4)), spec.invocations, body.stmts),
    );
  }
}

function epilogue(f: Frame, b: Block, q0: KExpr, g0: KExpr | null, partialRows: KExpr): void {
  const { fs, spec, scope } = f;
  const g = fs.group;
  const n = spec.featureCount / 4;
  const names = fusedNames(fs.output);
  const F = letFresh(b, 'ft', featureTotal(fs));
  const rowsOrder = fs.rows;
  for (const row of f.rows) {
    for (let i = 0; i < n; i++) {
      const at = bin('+', bin('*', { kind: 'localIndex' }, i32(n)), i32(i));
      b.push({
        kind: 'store',
        buffer: 'wg_v',
        index: at,
        value: { kind: 'load', buffer: registerName.acc(row.r), index: i32(i), mutable: true },
      });
    }
    if (g.softmax) {
      b.push({
        kind: 'store',
        buffer: 'wg_l',
        index: { kind: 'localIndex' },
        value: ref(registerName.sum(row.r)),
      });
      // Split-KV partials of the running maximum and sum: one triple per row and split.
      const ml = b.child();
      scope.indexValues.set(fs.query, row.query);
      if (fs.grouped && row.grouped) scope.indexValues.set(fs.grouped.index, row.grouped);
      const base = letFresh(
        ml,
        'pb',
        bin('*', bin('+', bin('*', f.split, partialRows), linearOf(ml, rowsOrder)), i32(3)),
      );
      const buffer = mangle('tensor', names.ml);
      ml.push(
        { kind: 'store', buffer, index: base, value: ref(registerName.max(row.r)) },
        {
          kind: 'store',
          buffer,
          index: bin('+', base, i32(1)),
          value: ref(registerName.sum(row.r)),
        },
        {
          kind: 'store',
          buffer,
          index: bin('+', base, i32(2)),
          value: {
            kind: 'select',
            cond: ref(registerName.has(row.r)),
            ifTrue: f32(1),
            ifFalse: f32(0),
          },
        },
      );
      b.push({
        kind: 'if',
        cond: kAnd(bin('>', f.splits, i32(1)), row.valid),
        then: ml.stmts,
        else: [],
      });
    }
    b.push({ kind: 'workgroupBarrier' });

    const partial = b.child();
    rowItems(f, partial, row.r, spec.featureCount, q0, g0, (blk, x, within, valid) => {
      const write = blk.child();
      const base = bin(
        '*',
        bin('+', bin('*', f.split, partialRows), linearOf(write, rowsOrder)),
        F,
      );
      write.push({
        kind: 'store',
        buffer: mangle('tensor', names.acc),
        index: bin('+', base, within),
        value: wgLoad('wg_v', 4, x),
      });
      blk.push({
        kind: 'if',
        cond: bin('&&', valid, bin('<', within, F)),
        then: write.stmts,
        else: [],
      });
    });
    const direct = b.child();
    rowItems(f, direct, row.r, spec.featureCount, q0, g0, (blk, x, within, valid, rowIn) => {
      const write = blk.child();
      const acc = letFresh(write, 'av', wgLoad('wg_v', 4, x));
      const total = g.softmax
        ? letFresh(write, 'al', { kind: 'load', buffer: 'wg_l', index: rowIn, mutable: true })
        : null;
      bindFeatures(f, write, within);
      scope.redirects.set(g.racc.target, () => ({ value: acc, ok: null }));
      if (g.softmax && total)
        scope.redirects.set(g.softmax.rsum.target, () => ({ value: total, ok: null }));
      storeOutput(write, lowerExpr(g.output.body, write), fs.output, g.output.indices);
      blk.push({
        kind: 'if',
        cond: bin('&&', valid, bin('<', within, F)),
        then: write.stmts,
        else: [],
      });
    });
    b.push({
      kind: 'if',
      cond: bin('>', f.splits, i32(1)),
      then: partial.stmts,
      else: direct.stmts,
    });
    b.push({ kind: 'workgroupBarrier' });
  }
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
  const scope = new FusedScope(env, fs.output);
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
  stage(frame, cb, ref('ck'), count);
  cb.push({ kind: 'workgroupBarrier' });
  const keyBox: Box = new Map([
    ...rowBox,
    [
      fs.key[1],
      { lo: ref('ck'), hi: letFresh(cb, 'kh', bin('-', bin('+', ref('ck'), count), i32(1))) },
    ],
  ]);
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
  const stored = new Map(fs.stored.map((t, k) => [t, `wg_s${k}`] as const));
  const ctx: ChunkContext = { fs, spec, scope, rows, full, count, first: ref('ck'), stored };
  if (g.softmax) softmaxChunk(ctx, cb);
  else weightedChunk(ctx, cb);
  cb.push({ kind: 'workgroupBarrier' });
  tb.push(loop('ck', i32(0), end, spec.chunk, cb.stmts));
  b.push(loop('tile', from, to, 1, tb.stmts));

  const partialRows = fs.rows.reduce<KExpr>((a, i) => bin('*', a, extentOf(i)), i32(1));
  epilogue(frame, b, q0, g0, partialRows);

  const io = Math.max(spec.chunk, spec.invocations);
  const arrays: WorkgroupArray[] = [];
  if (fs.contraction)
    arrays.push({ name: 'wg_k', element: 'vec4<f32>', length: (io * spec.reduced) / 4 });
  arrays.push({ name: 'wg_v', element: 'vec4<f32>', length: (io * spec.featureCount) / 4 });
  for (const array of stored.values())
    arrays.push({ name: array, element: 'u32', length: spec.chunk * spec.rows });
  if (g.softmax) arrays.push({ name: 'wg_l', element: 'f32', length: spec.invocations });

  const partials: { tensor: TensorName; storage: Storage }[] = [
    { tensor: names.acc, storage: 'f32' },
  ];
  if (g.softmax) partials.push({ tensor: names.ml, storage: 'f32' });
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
    helpers: closeHelpers(scope.helpers),
    summary: `fused ${g.softmax ? 'online-softmax attention' : 'weighted sum'} \`${fs.output}\` over ${g.statements.map((s) => s.target).join(', ')}; ${spec.rows} rows × ${spec.chunk} keys per step`,
    body: b.stmts,
    workgroupArrays: arrays,
    fused: { output: fs.output, role: 'attention' },
  };
}
