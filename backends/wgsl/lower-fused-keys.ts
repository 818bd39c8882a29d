/**
 * The keys of one staged chunk in a fused kernel (`lower-fused.ts` builds the rest). The chunk's
 * keys are unrolled (a constant number, `spec.chunk`; key `j` takes part iff `j < count`), so
 * every staged read has a constant address and every logit stays in a register: on llvmpipe a
 * workgroup read at a loop-dependent address is a per-lane gather, and a two-pass chunk that
 * parks its logits in workgroup memory paid for that twice.
 *
 * Softmax, one sweep per chunk (FlashAttention-2's per-tile rescaling, not per key):
 *   1. per key: the contractions (each a dot of the row's hoisted registers with its part of the
 *      staged key, loaded once for all rows), the rest of the chain, and the logit of the tile
 *      maximum, folded with a "seen" flag;
 *   2. once per row: the new running maximum and the factor `exp(old − new)` that rescales the
 *      running sum and accumulator (1 when nothing was seen before, or the maximum is −inf);
 *   3. per key: the weights (e.g. `exp(logit − max)`, reading step 1's logits), added to the sum;
 *      then per value vec4: accumulator × factor + Σ weight × value, one store per row.
 * Without a softmax: steps 1 and 3 without the maximum, the sum and the factor.
 *
 * Every filter of a per-key statement is split into the conjuncts the box can decide (affine
 * comparisons, bool params) and the others; on a *full* chunk, where the decidable ones hold at
 * every (row, key), they are not evaluated at all.
 */
import { conjuncts } from '../../compiler/ir-make.ts';
import { irKey } from '../../compiler/ir-equal.ts';
import type { Expr, TensorName } from '../../compiler/ir.ts';
import { decidable, kAnd, kNot } from './fused-bounds.ts';
import type { FusedStatic } from './fused-plan.ts';
import type { FusedSpec } from './fused-spec.ts';
import { letFresh, type KernelContext } from './fused-scope.ts';
import { and, bin, Block, holds, i32, lowerExpr, ref, type Lowered } from './lower-expr.ts';
import type { StagedChunk } from './lower-fused-data.ts';
import type { KExpr } from './plan.ts';

const TRUE: KExpr = { kind: 'bool', value: true };
const f32 = (value: number): KExpr => ({ kind: 'f32', value });

/** One row an invocation serves: its query (and grouped head) value, and registers. */
export interface RowSlot {
  readonly r: number;
  /** The row's place in the workgroup, `r × invocations + local index`. */
  readonly slot: KExpr;
  readonly query: KExpr;
  readonly grouped: KExpr | null;
  readonly valid: KExpr;
  /** The row takes part in the current tile (valid, and the tile filter holds for it). */
  on: KExpr;
}

export interface ChunkContext {
  readonly fs: FusedStatic;
  readonly spec: FusedSpec;
  readonly scope: KernelContext;
  readonly rows: readonly RowSlot[];
  /** Every decidable per-key conjunct holds for the whole chunk. */
  readonly full: KExpr;
  /** Keys in this chunk (a uniform), and the chunk's first key within the tile. */
  readonly count: KExpr;
  readonly first: KExpr;
  /** Where the chunk's key factors and values are read. */
  readonly staged: StagedChunk;
}

export const registerName = {
  /** Row `r`'s hoisted factors of contraction `k`. */
  hoisted: (r: number, k: number) => `rh_${r}_${k}`,
  acc: (r: number) => `ra_${r}`,
  max: (r: number) => `rm_${r}`,
  sum: (r: number) => `rl_${r}`,
  has: (r: number) => `rs_${r}`,
};

/** The conjuncts of `filters`, each distinct one once. */
export function distinctConjuncts(filters: readonly (Expr | null)[]): Expr[] {
  return filters
    .flatMap((f) => conjuncts(f))
    .filter((c, k, all) => all.findIndex((x) => irKey(x) === irKey(c)) === k);
}

/** The statements whose filters are evaluated per (row, key), softmax or not. */
export function perKeyFilters(fs: FusedStatic): Expr[] {
  const g = fs.group;
  return distinctConjuncts([
    ...g.chain.map((s) => s.filter),
    g.weights.filter,
    g.tacc.filter,
    ...(g.softmax ? [g.softmax.tmax.filter, g.softmax.tsum.filter] : []),
  ]).filter(decidable);
}

/** Presence of a filter at the current point; decidable conjuncts only on partial chunks. */
function filterOk(b: Block, filters: readonly (Expr | null)[], full: KExpr): KExpr | null {
  const parts = distinctConjuncts(filters);
  const dec = parts.filter(decidable);
  let ok: KExpr | null = null;
  if (dec.length > 0) {
    const vis = b.scope.fresh('vis');
    b.push({ kind: 'var', name: vis, type: 'bool', init: TRUE });
    const inner = b.child();
    const c = dec.map((x) => holds(lowerExpr(x, inner))).reduce(kAnd);
    inner.push({ kind: 'assign', name: vis, value: c });
    b.push({ kind: 'if', cond: kNot(full), then: inner.stmts, else: [] });
    ok = letFresh(b, 'vk', ref(vis));
  }
  for (const c of parts.filter((x) => !decidable(x))) ok = and(ok, holds(lowerExpr(c, b)));
  return ok;
}

function setRow(ctx: ChunkContext, row: RowSlot): void {
  ctx.scope.indexValues.set(ctx.fs.query, row.query);
  if (ctx.fs.grouped && row.grouped) ctx.scope.indexValues.set(ctx.fs.grouped.index, row.grouped);
}

/** The chain at (row, current key); `dots[k]` is the value of contraction `k`. */
function evalChain(ctx: ChunkContext, b: Block, dots: readonly KExpr[]): Map<TensorName, Lowered> {
  const locals = new Map<TensorName, Lowered>();
  for (const s of ctx.fs.group.chain) {
    ctx.scope.redirects.set(s.target, () => {
      const v = locals.get(s.target);
      if (!v) throw new Error(`chain tensor ${s.target} read before it is computed`);
      return v;
    });
  }
  for (const s of ctx.fs.group.chain) {
    const ok = filterOk(b, [s.filter], ctx.full);
    const k = ctx.fs.contractions.findIndex((c) => c.statement === s);
    if (k >= 0) {
      locals.set(s.target, { value: dots[k], ok });
    } else {
      const v = lowerExpr(s.body, b);
      locals.set(s.target, { value: v.value, ok: and(ok, v.ok) });
    }
  }
  return locals;
}

/**
 * Per key and contraction: load each staged vec4 of the key once, and fold it into every row's
 * dot product. Returns each row's values, `[row][contraction]`.
 */
function dots(ctx: ChunkContext, b: Block, key: number): KExpr[][] {
  const { spec } = ctx;
  const out: KExpr[][] = ctx.rows.map(() => []);
  ctx.fs.contractions.forEach((_, k) => {
    const n = spec.reduced[k] / 4;
    const acc = ctx.rows.map(() => {
      const name = b.scope.fresh('sd');
      b.push({ kind: 'var', name, type: 'f32', init: f32(0) });
      return name;
    });
    for (let i = 0; i < n; i++) {
      const kv = letFresh(b, 'kv', ctx.staged.key(k, key, i));
      ctx.rows.forEach((row, r) => {
        const h: KExpr = {
          kind: 'load',
          buffer: registerName.hoisted(row.r, k),
          index: i32(i),
          mutable: true,
        };
        const term: KExpr = { kind: 'call', fn: 'dot', args: [h, kv] };
        b.push({ kind: 'assign', name: acc[r], value: bin('+', ref(acc[r]), term) });
      });
    }
    acc.forEach((name, r) => out[r].push(letFresh(b, 'sd', ref(name))));
  });
  return out;
}

/** A key's place in the chunk: its staged row `j`, and whether it exists (`j < count`). */
interface ChunkKey {
  readonly j: number;
  /** The key within its tile (`m0`). */
  readonly kk: KExpr;
  /** Null for key 0, which every chunk has. */
  readonly inChunk: KExpr | null;
}

function chunkKeys(ctx: ChunkContext, b: Block): ChunkKey[] {
  const keys: ChunkKey[] = [];
  for (let j = 0; j < ctx.spec.chunk; j++)
    keys.push({
      j,
      kk: letFresh(b, 'kk', bin('+', ctx.first, i32(j))),
      inChunk: j === 0 ? null : letFresh(b, 'kin', bin('<', i32(j), ctx.count)),
    });
  return keys;
}

const all = (parts: readonly (KExpr | null)[]): KExpr =>
  parts.reduce<KExpr>((a, x) => (x ? kAnd(a, x) : a), TRUE);

/** What one row adds for one key: the weight, and whether the key counts at all. */
interface Weight {
  readonly take: KExpr;
  readonly w: KExpr;
}

/**
 * Every row's accumulator, one value vec4 at a time: `acc × factor + Σ_keys weight × value`,
 * each staged value vec4 loaded once for all rows. Branch-free: a select keeps a skipped
 * product (NaN for an infinite value) out.
 */
function accumulate(
  ctx: ChunkContext,
  b: Block,
  weights: readonly (readonly Weight[])[],
  factors: readonly (KExpr | null)[] | null,
): void {
  const n = ctx.spec.featureCount / 4;
  for (let i = 0; i < n; i++) {
    const sums: KExpr[] = ctx.rows.map((row, r) => {
      const acc: KExpr = {
        kind: 'load',
        buffer: registerName.acc(row.r),
        index: i32(i),
        mutable: true,
      };
      const factor = factors?.[r];
      return factor ? bin('*', acc, factor) : acc;
    });
    weights.forEach((perRow, j) => {
      const v = letFresh(b, 'vv', ctx.staged.value(j, i));
      perRow.forEach((w, r) => {
        sums[r] = bin('+', sums[r], {
          kind: 'select',
          cond: w.take,
          ifTrue: bin('*', w.w, v),
          ifFalse: { kind: 'vec4', args: [] },
        });
      });
    });
    ctx.rows.forEach((row, r) =>
      b.push({ kind: 'store', buffer: registerName.acc(row.r), index: i32(i), value: sums[r] }),
    );
  }
}

/** Points the chain's tensors at one (row, key)'s values from `evalChain`. */
function useChain(ctx: ChunkContext, locals: ReadonlyMap<TensorName, Lowered>): void {
  for (const [t, v] of locals) ctx.scope.redirects.set(t, () => v);
}

function weightsAt(
  ctx: ChunkContext,
  b: Block,
  row: RowSlot,
  key: ChunkKey,
  seen: KExpr | null,
): Weight {
  const g = ctx.fs.group;
  const ok = filterOk(
    b,
    [g.weights.filter, g.tacc.filter, ...(g.softmax ? [g.softmax.tsum.filter] : [])],
    ctx.full,
  );
  const v = lowerExpr(g.weights.body, b);
  const take = all([row.on, key.inChunk, seen, ok, v.ok]);
  return { take: letFresh(b, 'tk', take), w: b.bind(v.value, 'w') };
}

/** Steps 1 of the file header for every key: the chain per (key, row), `[key][row]`. */
function chains(
  ctx: ChunkContext,
  b: Block,
  keys: readonly ChunkKey[],
  perRow?: (row: RowSlot, r: number, key: ChunkKey) => void,
): Map<TensorName, Lowered>[][] {
  return keys.map((key) => {
    ctx.scope.indexValues.set(ctx.fs.key[1], key.kk);
    const d = dots(ctx, b, key.j);
    return ctx.rows.map((row, r) => {
      setRow(ctx, row);
      const locals = evalChain(ctx, b, d[r]);
      perRow?.(row, r, key);
      return locals;
    });
  });
}

/** Softmax over one chunk: the sweep of the file header. */
export function softmaxChunk(ctx: ChunkContext, b: Block): void {
  const g = ctx.fs.group;
  const sm = g.softmax!;
  const tm = ctx.rows.map(() => b.scope.fresh('tm'));
  const ts = ctx.rows.map(() => b.scope.fresh('ts'));
  ctx.rows.forEach((_, r) => {
    b.push({ kind: 'var', name: tm[r], type: 'f32', init: f32(0) });
    b.push({ kind: 'var', name: ts[r], type: 'bool', init: { kind: 'bool', value: false } });
  });

  const keys = chunkKeys(ctx, b);
  const chained = chains(ctx, b, keys, (row, r, key) => {
    const ok = filterOk(b, [sm.tmax.filter], ctx.full);
    const v = lowerExpr(sm.tmax.body, b);
    const t = letFresh(b, 'tk', all([row.on, key.inChunk, ok, v.ok]));
    const folded: KExpr = {
      kind: 'select',
      cond: ref(ts[r]),
      ifTrue: b.call('attn_max', ref(tm[r]), v.value),
      ifFalse: v.value,
    };
    b.push(
      {
        kind: 'assign',
        name: tm[r],
        value: { kind: 'select', cond: t, ifTrue: folded, ifFalse: ref(tm[r]) },
      },
      { kind: 'assign', name: ts[r], value: bin('||', ref(ts[r]), t) },
    );
  });

  // Once per row: the running maximum grows to cover the chunk's logits (branch-free: the
  // lanes of a SIMD batch are different rows).
  const maxima: KExpr[] = [];
  const factors = ctx.rows.map((row, r) => {
    const [m, l, has] = [registerName.max(row.r), registerName.sum(row.r), registerName.has(row.r)];
    const update = letFresh(b, 'up', kAnd(row.on, ref(ts[r])));
    const grown: KExpr = {
      kind: 'select',
      cond: ref(has),
      ifTrue: b.call('attn_max', ref(m), ref(tm[r])),
      ifFalse: ref(tm[r]),
    };
    const mn = letFresh(b, 'mn', { kind: 'select', cond: update, ifTrue: grown, ifFalse: ref(m) });
    const finite = bin('>', mn, b.call('attn_neg_inf'));
    const corr = letFresh(b, 'cr', {
      kind: 'select',
      cond: kAnd(kAnd(update, ref(has)), finite),
      ifTrue: { kind: 'call', fn: 'exp', args: [bin('-', ref(m), mn)] },
      ifFalse: f32(1),
    });
    b.push(
      { kind: 'assign', name: l, value: bin('*', ref(l), corr) },
      { kind: 'assign', name: m, value: mn },
      { kind: 'assign', name: has, value: bin('||', ref(has), update) },
    );
    maxima.push(mn);
    return corr;
  });

  const weights = keys.map((key, k) => {
    ctx.scope.indexValues.set(ctx.fs.key[1], key.kk);
    return ctx.rows.map((row, r) => {
      setRow(ctx, row);
      useChain(ctx, chained[k][r]);
      ctx.scope.redirects.set(sm.rmax.target, () => ({ value: maxima[r], ok: null }));
      const w = weightsAt(ctx, b, row, key, ref(ts[r]));
      const l = registerName.sum(row.r);
      b.push({
        kind: 'assign',
        name: l,
        value: bin('+', ref(l), { kind: 'select', cond: w.take, ifTrue: w.w, ifFalse: f32(0) }),
      });
      return w;
    });
  });
  accumulate(ctx, b, weights, factors);
}

/** A weighted sum without softmax: the chain and the weights per key, then accumulate. */
export function weightedChunk(ctx: ChunkContext, b: Block): void {
  const keys = chunkKeys(ctx, b);
  const weights: Weight[][] = keys.map(() => []);
  chains(ctx, b, keys, (row, r, key) => {
    weights[key.j][r] = weightsAt(ctx, b, row, key, null);
  });
  accumulate(ctx, b, weights, null);
}
