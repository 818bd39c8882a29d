/**
 * Data movement of a fused kernel (`lower-fused.ts` builds the loops around it): between the
 * storage buffers, workgroup memory and each invocation's registers.
 *
 *  - prologue: each contraction's hoisted factors (`scale * Q[.., e]`), one row per invocation
 *    at a time, into that row's registers: evaluated cooperatively (neighbouring invocations
 *    read neighbouring elements) into workgroup memory, then copied out at constant indices, so
 *    the register arrays stay registers;
 *  - staging: per chunk, each contraction's key factors and the values of the chunk's keys into
 *    workgroup memory, or into registers that the subgroup's lanes share by broadcast (absent
 *    elements as 0; `FusedSpec.staging`);
 *  - epilogue: each row's accumulator through workgroup memory, then the output's own expression
 *    per element, or the split-KV partials for the merge kernel.
 *
 * The staged keys (`wg_k`) hold one row per key with every contraction's factors side by side
 * (`keyRow` in `fused-spec.ts`); the prologue reuses the same array for one contraction at a
 * time. Elements past an extent are 0 (`padded`), so a dot over a padded vec4 row is exact.
 */
import type { FusedStatic } from './fused-plan.ts';
import { keyRow, type FusedSpec } from './fused-spec.ts';
import {
  extentOf,
  fusedNames,
  letFresh,
  linearOf,
  storeOutput,
  zeroFilled,
  type KernelContext,
} from './fused-scope.ts';
import { storeFinals } from './lower-fused-finals.ts';
import { registerName, type RowSlot } from './lower-fused-keys.ts';
import { and, bin, Block, i32, lowerExpr, readVec4, ref } from './lower-expr.ts';
import type { Expr } from '../../compiler/ir.ts';
import { InternalError } from '../../compiler/diagnostics/diagnostic.ts';
import { kAnd } from './fused-bounds.ts';
import { mangle } from './names.ts';
import type { KExpr, KStmt } from './plan.ts';

const f32 = (value: number): KExpr => ({ kind: 'f32', value });

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
export const loop = (
  index: string,
  from: KExpr,
  to: KExpr,
  step: number | KExpr,
  body: readonly KStmt[],
): KStmt => ({ kind: 'for', index, from, to, step, body });

/** The kernel being built: its plan and specialisation, and the workgroup's rows and split. */
export interface Frame {
  /** The workgroup's first query and first grouped head (null without a group). */
  readonly q0: KExpr;
  readonly g0: KExpr | null;
  readonly fs: FusedStatic;
  readonly spec: FusedSpec;
  readonly scope: KernelContext;
  readonly rows: RowSlot[];
  readonly split: KExpr;
  readonly splits: KExpr;
}

/** Binds the row of workgroup slot `slot`: query and grouped head values, and validity. */
export function rowAt(
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

/**
 * Each contraction's hoisted factors into registers (`rh_<row>_<contraction>`), one contraction
 * and one row per invocation at a time through the staged keys' array.
 */
export function prologue(f: Frame, b: Block, q0: KExpr, g0: KExpr | null): void {
  f.fs.contractions.forEach((c, k) => {
    const width = f.spec.reduced[k];
    const n = width / 4;
    for (const row of f.rows) {
      rowItems(f, b, row.r, width, q0, g0, (blk, x, within) => {
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
      const registers = registerName.hoisted(row.r, k);
      b.push({ kind: 'array', name: registers, element: 'vec4<f32>', length: n });
      for (let i = 0; i < n; i++) {
        const at = bin('+', bin('*', { kind: 'localIndex' }, i32(n)), i32(i));
        b.push({
          kind: 'store',
          buffer: registers,
          index: i32(i),
          value: { kind: 'load', buffer: 'wg_k', index: at, mutable: true },
        });
      }
      b.push({ kind: 'workgroupBarrier' });
    }
  });
}

interface StagedTile {
  readonly buffer: string;
  /** Floats per key, and where they start in a key's row of `buffer` (both multiples of 4). */
  readonly width: number;
  readonly offset: number;
  readonly rowWidth: number;
  /** What the tile holds, once `bind` has set its index to `within`; 0 at `within >= total`. */
  readonly staged: Expr;
  readonly total: KExpr;
  readonly bind: (blk: Block, within: KExpr) => void;
  /** Loaded a whole vec4 at a time (`FusedSpec.vectorLoads`), not element by element. */
  readonly vectorised: boolean;
}

/**
 * `read`'s elements `within .. within + 3` (the index already bound to `within`) through the
 * input's vec4 view, 0 where absent or past `total`: the whole vec4 is one or the other.
 */
function wholeVec4(read: Expr, within: KExpr, total: KExpr, blk: Block): KExpr {
  if (read.kind !== 'read') throw new InternalError('a vec4 tile reads one tensor');
  const v = readVec4(read.tensor, read.at, blk);
  return {
    kind: 'select',
    cond: and(v.ok, bin('<', within, total))!,
    ifTrue: v.value,
    ifFalse: { kind: 'vec4', args: [] },
  };
}

/**
 * Where the keys loop reads a staged chunk (`FusedSpec.staging`): each is a vec4 with absent
 * elements as 0, read at a constant place.
 */
export interface StagedChunk {
  /** Contraction `k`'s factors `4i .. 4i + 3` of the chunk's key `j`. */
  key(k: number, j: number, i: number): KExpr;
  /** Values `4i .. 4i + 3` of the chunk's key `j`. */
  value(j: number, i: number): KExpr;
}

/**
 * Stages the chunk's key factors and values, from key `first` on: `count` keys in workgroup
 * memory, or `spec.chunk` keys (the reads past `count` are never used) in registers shared by
 * subgroup broadcasts.
 */
export function stage(f: Frame, b: Block, first: KExpr, count: KExpr): StagedChunk {
  const { fs, spec, scope } = f;
  // Staged reads use no query, and a grouped head only as `hq / G` (fused-plan.ts): any row of
  // the workgroup gives them the same value.
  scope.indexValues.set(fs.query, f.q0);
  if (fs.grouped && f.g0) scope.indexValues.set(fs.grouped.index, f.g0);
  const keys = keyRow(spec);
  const vectorised = (k: number, e: Expr) =>
    spec.vectorLoads[k] && e.kind === 'read' && scope.storages.get(e.tensor) === 'f32';
  const tiles: StagedTile[] = fs.contractions.map((c, k) => ({
    buffer: 'wg_k',
    width: spec.reduced[k],
    offset: keys.offsets[k],
    rowWidth: keys.width,
    staged: c.staged,
    total: extentOf(c.reduced),
    bind: (_blk, within) => scope.indexValues.set(c.reduced, within),
    vectorised: vectorised(k, c.staged),
  }));
  tiles.push({
    buffer: 'wg_v',
    width: spec.featureCount,
    offset: 0,
    rowWidth: spec.featureCount,
    staged: fs.group.value,
    total: featureTotal(fs),
    bind: (blk, within) => bindFeatures(f, blk, within),
    vectorised: vectorised(fs.contractions.length, fs.group.value),
  });
  /** The vec4 at `x` of tile `t` (its `x % n4`-th vec4 of key `x / n4`), and that key. */
  const vec4At = (t: StagedTile, body: Block, x: KExpr) => {
    const n4 = t.width / 4;
    const j = letFresh(body, 'kr', bin('/', x, i32(n4)));
    const w4 = letFresh(body, 'wi', bin('*', bin('%', x, i32(n4)), i32(4)));
    scope.indexValues.set(fs.key[1], letFresh(body, 'kk', bin('+', first, j)));
    if (t.vectorised) {
      t.bind(body, w4);
      return { j, vec4: wholeVec4(t.staged, w4, t.total, body) };
    }
    const parts = [0, 1, 2, 3].map((c) => {
      const within = c === 0 ? w4 : letFresh(body, 'wi', bin('+', w4, i32(c)));
      t.bind(body, within);
      return padded(within, t.total, zeroFilled(lowerExpr(t.staged, body)));
    });
    return { j, vec4: { kind: 'vec4', args: parts } satisfies KExpr };
  };
  return spec.staging === 'subgroup'
    ? stageInSubgroup(spec, b, tiles, vec4At)
    : stageInWorkgroup(spec, b, tiles, vec4At, count);
}

type Vec4At = (t: StagedTile, body: Block, x: KExpr) => { j: KExpr; vec4: KExpr };

/**
 * One vec4 per loop iteration: four loads in the loop body, but a quarter of the iterations and
 * whole-vector stores (this loop runs once per chunk, unlike the prologue's and epilogue's).
 */
function stageInWorkgroup(
  spec: FusedSpec,
  b: Block,
  tiles: readonly StagedTile[],
  vec4At: Vec4At,
  count: KExpr,
): StagedChunk {
  for (const t of tiles) {
    const body = b.child();
    const x = ref('xi');
    const n4 = t.width / 4;
    const { j, vec4 } = vec4At(t, body, x);
    // A tile alone in its array (one contraction, or the values) is stored at the iteration's own
    // index; otherwise at its place in the key's row.
    const at =
      t.rowWidth === t.width
        ? x
        : bin(
            '+',
            bin('*', j, i32(t.rowWidth / 4)),
            bin('+', i32(t.offset / 4), bin('%', x, i32(n4))),
          );
    body.push({ kind: 'store', buffer: t.buffer, index: at, value: vec4 });
    b.push(
      loop('xi', { kind: 'localIndex' }, bin('*', count, i32(n4)), spec.invocations, body.stmts),
    );
  }
  const read = (t: StagedTile, j: number, i: number): KExpr => ({
    kind: 'load',
    buffer: t.buffer,
    index: i32((j * t.rowWidth + t.offset) / 4 + i),
    mutable: true,
  });
  return { key: (k, j, i) => read(tiles[k], j, i), value: (j, i) => read(tiles.at(-1)!, j, i) };
}

/**
 * Tile `t`'s vec4 `c` (key `c / n4`) lives in register `c / invocations` of lane
 * `c % invocations`: the workgroup is one subgroup, so the loads of a chunk are spread over its
 * lanes as in workgroup staging, and a read is a broadcast from a constant lane.
 */
function stageInSubgroup(
  spec: FusedSpec,
  b: Block,
  tiles: readonly StagedTile[],
  vec4At: Vec4At,
): StagedChunk {
  const lanes = spec.invocations;
  const registers = tiles.map((t) =>
    Array.from({ length: Math.ceil((spec.chunk * t.width) / 4 / lanes) }, (_, r) =>
      letFresh(b, 'sg', vec4At(t, b, bin('+', i32(r * lanes), { kind: 'localIndex' })).vec4),
    ),
  );
  const read = (k: number, j: number, i: number): KExpr => {
    const c = (j * tiles[k].width) / 4 + i;
    return {
      kind: 'call',
      fn: 'subgroupBroadcast',
      args: [registers[k][Math.floor(c / lanes)], { kind: 'u32', value: c % lanes }],
    };
  };
  return { key: read, value: (j, i) => read(tiles.length - 1, j, i) };
}

export function epilogue(
  f: Frame,
  b: Block,
  q0: KExpr,
  g0: KExpr | null,
  partialRows: KExpr,
): void {
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
      // The group's finals (a log-sum-exp) from the final maximum and sum, at the row bound
      // above; when split, the merge kernel writes them.
      if (g.finals.length > 0) {
        const fin = b.child();
        const max: KExpr = {
          kind: 'select',
          cond: ref(registerName.has(row.r)),
          ifTrue: ref(registerName.max(row.r)),
          ifFalse: fin.call('attn_neg_inf'),
        };
        storeFinals(scope, fin, fs, max, ref(registerName.sum(row.r)));
        const unsplit = kAnd(bin('<=', f.splits, i32(1)), row.valid);
        b.push({ kind: 'if', cond: unsplit, then: fin.stmts, else: [] });
      }
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
