/**
 * The keys of one staged chunk in a fused kernel (`lower-fused.ts` builds the rest): every
 * invocation walks the chunk's keys for each of its rows.
 *
 * Softmax, two passes over the chunk (FlashAttention-2's per-tile rescaling, not per key):
 *   1. per key: the contractions (each a dot of the row's hoisted registers with its part of the
 *      staged key), the rest of the chain, the logit of the tile maximum (folded with a "seen" flag) and the
 *      logits the weights read, kept in workgroup memory (absent ones as the ABSENT marker);
 *   then once per row: the new running maximum, and the running sum and accumulator rescaled by
 *      `exp(old − new)` (1 when nothing was seen before, or the maximum is still −inf);
 *   2. per key: the weights (e.g. `exp(logit − max)`), added to the sum, and weight × value
 *      added to the accumulator.
 * Without a softmax, one pass: chain, weights, accumulate.
 *
 * Every filter of a per-key statement is split into the conjuncts the box can decide (affine
 * comparisons, bool params) and the others; on a *full* chunk, where the decidable ones hold at
 * every (row, key), they are not evaluated at all.
 */
import { conjuncts, readAt } from '../../compiler/ir-make.ts';
import { irKey } from '../../compiler/ir-equal.ts';
import type { Expr, TensorName } from '../../compiler/ir.ts';
import { decidable, kAnd, kNot } from './fused-bounds.ts';
import type { FusedStatic } from './fused-plan.ts';
import { keyRow, type FusedSpec } from './fused-spec.ts';
import { letFresh, type KernelContext } from './fused-scope.ts';
import { and, bin, Block, holds, i32, lowerExpr, ref, type Lowered } from './lower-expr.ts';
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
  /** Workgroup arrays of the stored logits, by tensor. */
  readonly stored: ReadonlyMap<TensorName, string>;
}

export const registerName = {
  /** Row `r`'s hoisted factors of contraction `k`. */
  hoisted: (r: number, k: number) => `rh_${r}_${k}`,
  acc: (r: number) => `ra_${r}`,
  max: (r: number) => `rm_${r}`,
  sum: (r: number) => `rl_${r}`,
  has: (r: number) => `rs_${r}`,
};

/** The statements whose filters are evaluated per (row, key), softmax or not. */
export function perKeyFilters(fs: FusedStatic): Expr[] {
  const g = fs.group;
  const list = [
    ...g.chain.map((s) => s.filter),
    g.weights.filter,
    g.tacc.filter,
    ...(g.softmax ? [g.softmax.tmax.filter, g.softmax.tsum.filter] : []),
  ];
  const out: Expr[] = [];
  for (const c of list.flatMap((f) => conjuncts(f)))
    if (decidable(c) && !out.some((x) => irKey(x) === irKey(c))) out.push(c);
  return out;
}

/** Presence of a filter at the current point; decidable conjuncts only on partial chunks. */
function filterOk(b: Block, filters: readonly (Expr | null)[], full: KExpr): KExpr | null {
  const parts = filters
    .flatMap((f) => conjuncts(f))
    .filter((c, k, all) => all.findIndex((x) => irKey(x) === irKey(c)) === k);
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
function evalChain(ctx: ChunkContext, b: Block, dots: readonly KExpr[]): void {
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
}

/**
 * Per key and contraction: load each staged vec4 of the key once, and fold it into every row's
 * dot product. Returns each row's values, `[row][contraction]`.
 */
function dots(ctx: ChunkContext, b: Block, key: KExpr): KExpr[][] {
  const { spec } = ctx;
  const keys = keyRow(spec);
  const out: KExpr[][] = ctx.rows.map(() => []);
  ctx.fs.contractions.forEach((_, k) => {
    const n = spec.reduced[k] / 4;
    const acc = ctx.rows.map(() => {
      const name = b.scope.fresh('sd');
      b.push({ kind: 'var', name, type: 'f32', init: f32(0) });
      return name;
    });
    for (let i = 0; i < n; i++) {
      const kv = letFresh(b, 'kv', {
        kind: 'load',
        buffer: 'wg_k',
        index: bin('+', bin('*', key, i32(keys.width / 4)), i32(keys.offsets[k] / 4 + i)),
        mutable: true,
      });
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

/**
 * Per key: load each staged value vec4 once and add weight × value to every row that takes the
 * key, one vec4 at a time (few live registers). Branch-free: a select keeps a skipped product
 * (NaN for an infinite value) out.
 */
function accumulate(
  ctx: ChunkContext,
  b: Block,
  key: KExpr,
  weights: readonly { take: KExpr; w: KExpr }[],
): void {
  const n = ctx.spec.featureCount / 4;
  for (let i = 0; i < n; i++) {
    const v = letFresh(b, 'vv', {
      kind: 'load',
      buffer: 'wg_v',
      index: bin('+', bin('*', key, i32(n)), i32(i)),
      mutable: true,
    });
    ctx.rows.forEach((row, r) => {
      const acc: KExpr = {
        kind: 'load',
        buffer: registerName.acc(row.r),
        index: i32(i),
        mutable: true,
      };
      const term: KExpr = {
        kind: 'select',
        cond: weights[r].take,
        ifTrue: bin('*', weights[r].w, v),
        ifFalse: { kind: 'vec4', args: [] },
      };
      b.push({
        kind: 'store',
        buffer: registerName.acc(row.r),
        index: i32(i),
        value: bin('+', acc, term),
      });
    });
  }
}

const keyLoop = (body: Block['stmts'], count: KExpr) =>
  ({ kind: 'for', index: 'kj', from: i32(0), to: count, step: 1, body }) as const;

/** The current key of the chunk: binds m0 and returns the key's row in the staged tiles. */
function bindKey(ctx: ChunkContext, b: Block): KExpr {
  ctx.scope.indexValues.set(ctx.fs.key[1], letFresh(b, 'kk', bin('+', ctx.first, ref('kj'))));
  return ref('kj');
}

function weightsAt(
  ctx: ChunkContext,
  b: Block,
  row: RowSlot,
  seen: KExpr | null,
): { take: KExpr; w: KExpr } {
  const g = ctx.fs.group;
  const ok = filterOk(
    b,
    [g.weights.filter, g.tacc.filter, ...(g.softmax ? [g.softmax.tsum.filter] : [])],
    ctx.full,
  );
  const v = lowerExpr(g.weights.body, b);
  const take = [row.on, seen, ok, v.ok].reduce<KExpr>((a, x) => (x ? kAnd(a, x) : a), TRUE);
  return { take: letFresh(b, 'tk', take), w: v.value };
}

/** Softmax over one chunk: the two passes and the rescaling between them (file header). */
export function softmaxChunk(ctx: ChunkContext, b: Block): void {
  const g = ctx.fs.group;
  const sm = g.softmax!;
  const tm = ctx.rows.map(() => b.scope.fresh('tm'));
  const ts = ctx.rows.map(() => b.scope.fresh('ts'));
  ctx.rows.forEach((_, r) => {
    b.push({ kind: 'var', name: tm[r], type: 'f32', init: f32(0) });
    b.push({ kind: 'var', name: ts[r], type: 'bool', init: { kind: 'bool', value: false } });
  });

  const first = b.child();
  const key = bindKey(ctx, first);
  const d = dots(ctx, first, key);
  ctx.rows.forEach((row, r) => {
    setRow(ctx, row);
    evalChain(ctx, first, d[r]);
    const ok = filterOk(first, [sm.tmax.filter], ctx.full);
    const v = lowerExpr(sm.tmax.body, first);
    const take = [row.on, ok, v.ok].reduce<KExpr>((a, x) => (x ? kAnd(a, x) : a), TRUE);
    const folded: KExpr = {
      kind: 'select',
      cond: ref(ts[r]),
      ifTrue: first.call('attn_max', ref(tm[r]), v.value),
      ifFalse: v.value,
    };
    const t = letFresh(first, 'tk', take);
    first.push(
      {
        kind: 'assign',
        name: tm[r],
        value: { kind: 'select', cond: t, ifTrue: folded, ifFalse: ref(tm[r]) },
      },
      { kind: 'assign', name: ts[r], value: bin('||', ref(ts[r]), t) },
    );
    for (const [tensor, array] of ctx.stored) {
      const x = lowerExpr(readAt(tensor, g.chain.find((s) => s.target === tensor)!.indices), first);
      const bits: KExpr = first.call('attn_encode', x.value);
      first.push({
        kind: 'store',
        buffer: array,
        index: bin('+', bin('*', key, i32(ctx.spec.rows)), row.slot),
        value:
          x.ok === null
            ? bits
            : { kind: 'select', cond: x.ok, ifTrue: bits, ifFalse: { kind: 'absent' } },
      });
    }
  });
  b.push(keyLoop(first.stmts, ctx.count));

  // Rescale once per chunk: the running maximum grows to cover the chunk's logits.
  ctx.rows.forEach((row, r) => {
    const up = b.child();
    const [m, l, has, acc] = [
      registerName.max(row.r),
      registerName.sum(row.r),
      registerName.has(row.r),
      registerName.acc(row.r),
    ];
    const mn = letFresh(up, 'mn', {
      kind: 'select',
      cond: ref(has),
      ifTrue: up.call('attn_max', ref(m), ref(tm[r])),
      ifFalse: ref(tm[r]),
    });
    const finite = bin('>', mn, up.call('attn_neg_inf'));
    const corr = letFresh(up, 'cr', {
      kind: 'select',
      cond: bin('&&', ref(has), finite),
      ifTrue: { kind: 'call', fn: 'exp', args: [bin('-', ref(m), mn)] },
      ifFalse: f32(1),
    });
    up.push({ kind: 'assign', name: l, value: bin('*', ref(l), corr) });
    for (let i = 0; i < ctx.spec.featureCount / 4; i++) {
      const cur: KExpr = { kind: 'load', buffer: acc, index: i32(i), mutable: true };
      up.push({ kind: 'store', buffer: acc, index: i32(i), value: bin('*', cur, corr) });
    }
    up.push({ kind: 'assign', name: m, value: mn }, { kind: 'assign', name: has, value: TRUE });
    b.push({ kind: 'if', cond: kAnd(row.on, ref(ts[r])), then: up.stmts, else: [] });
  });

  const maxima = ctx.rows.map((row) => letFresh(b, 'mx', ref(registerName.max(row.r))));
  const second = b.child();
  const key2 = bindKey(ctx, second);
  const weights = ctx.rows.map((row, r) => {
    setRow(ctx, row);
    for (const [tensor, array] of ctx.stored) {
      ctx.scope.redirects.set(tensor, (_at, blk) => {
        const w = letFresh(blk, 'sb', {
          kind: 'load',
          buffer: array,
          index: bin('+', bin('*', key2, i32(ctx.spec.rows)), row.slot),
          mutable: true,
        });
        return {
          value: blk.bind({ kind: 'bitcast', to: 'f32', arg: w }),
          ok: blk.bind(bin('!=', w, { kind: 'absent' }), 'ok'),
        };
      });
    }
    ctx.scope.redirects.set(sm.rmax.target, () => ({ value: maxima[r], ok: null }));
    const w = weightsAt(ctx, second, row, ref(ts[r]));
    const add: KExpr = { kind: 'select', cond: w.take, ifTrue: w.w, ifFalse: f32(0) };
    second.push({
      kind: 'assign',
      name: registerName.sum(row.r),
      value: bin('+', ref(registerName.sum(row.r)), add),
    });
    return w;
  });
  accumulate(ctx, second, key2, weights);
  b.push(keyLoop(second.stmts, ctx.count));
}

/** A weighted sum without softmax: one pass over the chunk. */
export function weightedChunk(ctx: ChunkContext, b: Block): void {
  const body = b.child();
  const key = bindKey(ctx, body);
  const d = dots(ctx, body, key);
  const weights = ctx.rows.map((row, r) => {
    setRow(ctx, row);
    evalChain(ctx, body, d[r]);
    return weightsAt(ctx, body, row, null);
  });
  accumulate(ctx, body, key, weights);
  b.push(keyLoop(body.stmts, ctx.count));
}
