/**
 * tile: partitions the key index of every attention, `m → (m1, m0)` with `m = M0·m1 + m0`
 * (FuseMax's partitioned ranks, §4), and chooses the tile sizes.
 *
 * Precondition: an attention `O = sum[m] W * V` (attention-match.ts) whose key `m` is not yet
 * partitioned, indexes no output the attention needs per (query, key), and steps no recurrence.
 * Postcondition: the attention's statements (those `O` needs, found by walking back from it
 * through every statement that uses `m`) use `[m1, m0]` instead, with the bounds filter
 * `M0·m1 + m0 < M` (the last tile may be ragged), and reads of a partitioned tensor use
 * `[m1, m0]`. `const M0 = size` and `const M1 = (M + size - 1) / size` give the new extents.
 * The schedule records `tile m = M0` and `tile p = P0` (queries per workgroup: a mapping for the
 * backend, so `p` stays whole in the IR); when an index is one attention's key and another's
 * query (attn_stats: `m` is the key of `O` and the row of the column sums `ACC`), the key's
 * size wins, since it is the one the IR depends on.
 *
 * Statements the attention does not need keep `m` whole, and read a partitioned tensor at
 * `[m / M0, m % M0]`: a second cascade over the same indices (the column sums `recompute`
 * writes) is a separate attention with its own key. So does a per-key tensor (indexed by the key
 * but not by the attention's query) that is an output or comes after a whole pass over the
 * (query × key) matrix, such as attn_stats' `LSE[b, h, p]` read by the column sums whose key is
 * `p`: the attention reads it at `M0·p1 + p0`, as it would an input. Every other statement that
 * uses `m` is partitioned (`partitionSet`).
 *
 * Example (tile m = 64):
 *   S[p, m] = sum[e] Q[p, e] * K[m, e]
 * becomes
 *   const M0 = 64
 *   const M1 = (M + 63) / 64
 *   S[p, m1, m0] = sum[e] Q[p, e] * K[64 * m1 + m0, e]   where 64 * m1 + m0 < M
 */
import * as A from '../affine.ts';
import {
  extentName,
  type Affine,
  type ConstDecl,
  type Expr,
  type IndexName,
  type Program,
  type Statement,
  type TensorName,
} from '../ir.ts';
import { forEachExpr, mapExpr, statementExprs, statementReads } from '../ir-walk.ts';
import { conjoin, icompare } from '../ir-make.ts';
import { findAttentions } from './attention-match.ts';
import {
  freshName,
  namesOf,
  no,
  yes,
  type DeviceLimits,
  type Pass,
  type PassContext,
} from './pass.ts';

interface Target {
  readonly key: IndexName;
  /** The query index: a row index of the weights that the values do not depend on. */
  readonly query: IndexName | null;
  /** The outputs of the attentions over this key. */
  readonly outputs: readonly TensorName[];
}

function targets(program: Program): Target[] {
  const out: Target[] = [];
  for (const m of findAttentions(program).matches) {
    if (m.key.length !== 1) continue;
    const same = out.findIndex((t) => t.key === m.key[0]);
    if (same >= 0) {
      out[same] = { ...out[same], outputs: [...out[same].outputs, m.output.target] };
      continue;
    }
    const valueIndices = new Set(
      m.value.kind === 'read' ? m.value.at.flatMap((a) => [...A.indicesOf(a)]) : [],
    );
    const query = [...m.rows].reverse().find((r) => !valueIndices.has(r)) ?? null;
    out.push({ key: m.key[0], query, outputs: [m.output.target] });
  }
  return out;
}

const usesIndex = (s: Statement, i: IndexName) =>
  s.indices.includes(i) || (s.reduce?.over.includes(i) ?? false);

/** A `topk` ranked by the key keeps its ranks whole (selection is not tiled). */
const ranksBy = (s: Statement, key: IndexName) => s.reduce?.op === 'topk' && s.reduce.rank === key;

/**
 * Whether `name` comes after a whole pass over the (query × key) matrix: some statement it
 * depends on reduces over the query a computed tensor read at both the query and the key (a
 * log-sum-exp read by column sums is the maximum and sum of the first pass's logits).
 */
function afterWholeMatrix(program: Program, name: TensorName, t: Target): boolean {
  const query = t.query;
  if (!query) return false;
  const seen = new Set<TensorName>();
  const computed = new Set(program.body.map((s) => s.target));
  const visit = (n: TensorName): boolean => {
    if (seen.has(n)) return false;
    seen.add(n);
    return program.body.some((s) => {
      if (s.target !== n) return false;
      if (s.reduce?.over.includes(query)) {
        let both = false;
        for (const e of statementExprs(s))
          forEachExpr(e, (x) => {
            if (x.kind !== 'read' || !computed.has(x.tensor)) return;
            const at = new Set(x.at.flatMap((a) => [...A.indicesOf(a)]));
            both ||= at.has(query) && at.has(t.key);
          });
        if (both) return true;
      }
      return [...statementReads(s)].some((r) => r !== n && visit(r));
    });
  };
  return visit(name);
}

/**
 * The tensors `tile` partitions for `t` (file header), or why it cannot. Every tensor defined by
 * statements that use the key, except those kept whole: walking back from the attention outputs
 * through everything they read, a per-key tensor (indexed by the key, not by the query) that is
 * an output or comes after a whole pass over the (query × key) matrix stops the walk; such
 * tensors, the outputs indexed by the key the walk does not reach, and what those read that uses
 * the key outside the walk keep the key whole. An output indexed by the key that the attentions
 * need per query cannot be partitioned: that would change its shape.
 */
function partitionSet(program: Program, t: Target): Set<TensorName> | string {
  const piecesOf = (name: TensorName) => program.body.filter((s) => s.target === name);
  const uses = (name: TensorName) => piecesOf(name).some((s) => usesIndex(s, t.key));
  const indexed = (name: TensorName) => uses(name) && piecesOf(name)[0].indices.includes(t.key);
  const attention = new Set<TensorName>();
  const stops: TensorName[] = program.outputs.filter(indexed);
  const seen = new Set<TensorName>();
  const visit = (name: TensorName): string | null => {
    if (seen.has(name)) return null;
    seen.add(name);
    const pieces = piecesOf(name);
    if (pieces.some((s) => ranksBy(s, t.key))) return null;
    const output = program.outputs.includes(name);
    if (indexed(name) && t.query && !pieces[0].indices.includes(t.query)) {
      if (output || afterWholeMatrix(program, name, t)) {
        stops.push(name);
        return null;
      }
    } else if (indexed(name) && output)
      return `\`${name}\` is an output indexed by \`${t.key}\`; partitioning \`${t.key}\` would change its shape`;
    if (uses(name)) attention.add(name);
    for (const s of pieces)
      for (const r of statementReads(s)) {
        const why = visit(r);
        if (why) return why;
      }
    return null;
  };
  for (const o of t.outputs) {
    const why = visit(o);
    if (why) return why;
  }
  const whole = new Set<TensorName>();
  const keep = (name: TensorName) => {
    if (whole.has(name) || attention.has(name) || !uses(name)) return;
    whole.add(name);
    for (const s of piecesOf(name)) for (const r of statementReads(s)) keep(r);
  };
  stops.forEach(keep);
  return new Set(
    program.body
      .filter((s) => usesIndex(s, t.key) && !ranksBy(s, t.key) && !whole.has(s.target))
      .map((s) => s.target),
  );
}

function blocker(program: Program, t: Target): string | null {
  const key = t.key;
  const stepped = program.body.find((s) => s.kind === 'recurrence' && s.indices[s.axis] === key);
  if (stepped) return `\`${key}\` steps the recurrence \`${stepped.target}\``;
  const selected = program.body.find((s) => s.reduce?.op === 'topk' && s.reduce.over.includes(key));
  if (selected) return `\`${key}\` is the key of the \`topk\` \`${selected.target}\``;
  const set = partitionSet(program, t);
  return typeof set === 'string' ? set : null;
}

const POWERS = [128, 64, 32, 16, 8];

/**
 * Sizes from the device limits: a key tile of M0 rows of K (then of V) is staged in workgroup
 * memory, and each of P0 queries keeps an accumulator row, each taking at most half the memory.
 * `hint` is the head dimension, 64 unless the caller says otherwise.
 */
export function chooseTileSizes(
  limits: DeviceLimits,
  headDim: number,
): { key: number; query: number } {
  const half = limits.maxComputeWorkgroupStorageSize / 2;
  const fits = (rows: number) => rows * headDim * 4 <= half;
  const key = POWERS.find(fits) ?? 4;
  const query =
    POWERS.find((q) => q <= 64 && q <= limits.maxComputeInvocationsPerWorkgroup && fits(q)) ?? 4;
  return { key, query };
}

function headDimHint(ctx: PassContext): number {
  const hints = Object.values(ctx.extentHints);
  return (
    ctx.extentHints.D ?? (hints.length > 0 ? Math.max(...hints.filter((h) => h <= 512), 1) : 64)
  );
}

function sizeFor(program: Program, ctx: PassContext, index: IndexName, fallback: number): number {
  return (
    ctx.tileOverrides[index] ??
    program.schedule.tiles.find((t) => t.index === index)?.size ??
    fallback
  );
}

/**
 * Rewrites one statement for the partition of `key`: all of it when it is `inside` the
 * partitioned set, else only its reads of partitioned tensors (it keeps `key` whole).
 */
function tileStatement(
  s: Statement,
  key: IndexName,
  parts: { outer: IndexName; inner: IndexName; size: number; bounds: Expr },
  partitioned: ReadonlyMap<TensorName, number>,
  inside: boolean,
): Statement {
  const { outer, inner, size } = parts;
  const split = A.add(A.scale(A.index(outer), size), A.index(inner));
  const subst = new Map<IndexName, Affine>(inside ? [[key, split]] : []);
  const splitKey = (xs: readonly IndexName[]) =>
    xs.flatMap((i) => (i === key && inside ? [outer, inner] : [i]));
  const rewrite = (e: Expr): Expr =>
    mapExpr(
      e,
      (x) => {
        const axis = x.kind === 'read' ? partitioned.get(x.tensor) : undefined;
        if (x.kind !== 'read' || axis === undefined) return x;
        // The partitioned dimension becomes two; a subscript other than `m` itself is split by
        // floor division and modulo.
        const a = x.at[axis];
        const parts = A.affineEqual(a, split)
          ? [A.index(outer), A.index(inner)]
          : [A.floorDiv(a, A.constant(size)), A.mod(a, A.constant(size))];
        return { ...x, at: [...x.at.slice(0, axis), ...parts, ...x.at.slice(axis + 1)] };
      },
      (a) => A.substituteIndices(a, subst),
    );
  const uses = inside && usesIndex(s, key);
  const body = rewrite(s.body);
  const filter = s.filter ? rewrite(s.filter) : null;
  if (
    !uses &&
    body === s.body &&
    filter === s.filter &&
    (s.kind === 'equation' || rewrite(s.init) === s.init)
  )
    return s;
  const indices = splitKey(s.indices);
  const reduce = s.reduce ? { op: s.reduce.op, over: splitKey(s.reduce.over) } : null;
  const common = { indices, reduce, body, filter: uses ? conjoin(parts.bounds, filter) : filter };
  if (s.kind === 'equation') return { ...s, ...common };
  const axis = indices.indexOf(s.indices[s.axis]);
  return { ...s, ...common, axis, init: rewrite(s.init) };
}

function tileKey(
  program: Program,
  key: IndexName,
  size: number,
  inside: ReadonlySet<TensorName>,
): Program {
  const taken = namesOf(program);
  const outer = freshName(taken, `${key}1`) as IndexName;
  const inner = freshName(new Set([...taken, outer]), `${key}0`) as IndexName;
  const extent = A.symbol(extentName(key));
  const consts: ConstDecl[] = [
    { name: extentName(inner), type: 'i32', value: A.constant(size), origin: program.origin },
    {
      name: extentName(outer),
      type: 'i32',
      value: A.floorDiv(A.add(extent, A.constant(size - 1)), A.constant(size)),
      origin: program.origin,
    },
  ];
  const bounds = icompare('<', A.add(A.scale(A.index(outer), size), A.index(inner)), extent);
  // A `topk` ranked by the key keeps its ranks whole (selection is not tiled); its readers
  // read it at `size * m1 + m0` like an input.
  const partitioned = new Map(
    program.body
      .filter((s) => s.indices.includes(key) && inside.has(s.target))
      .map((s) => [s.target, s.indices.indexOf(key)] as const),
  );
  const body = program.body.map((s) =>
    ranksBy(s, key)
      ? s
      : tileStatement(s, key, { outer, inner, size, bounds }, partitioned, inside.has(s.target)),
  );
  // The key stays an index only where something still uses it (an input declares it, or a
  // `topk` ranks by it); its extent symbol may live on as a const.
  const keep =
    program.inputs.some((i) => i.indices.includes(key)) ||
    body.some((s) => s.indices.includes(key));
  return {
    ...program,
    consts: [...program.consts, ...consts],
    indices: [
      ...program.indices.filter((i) => keep || i.name !== key),
      { name: outer, extent: extentName(outer) },
      { name: inner, extent: extentName(inner) },
    ].sort((a, b) => (a.name < b.name ? -1 : 1)),
    body,
  };
}

export const tile: Pass = {
  name: 'tile',
  summary: 'partition the key index m → (m1, m0) and choose tile sizes from the device limits',
  applies(program) {
    const found = targets(program);
    if (found.length === 0) {
      const tiled = findAttentions(program).matches.some((m) => m.key.length === 2);
      return no(
        tiled
          ? 'the key index is already partitioned'
          : 'no attention `O = sum[m] W * V` with computed weights `W`',
      );
    }
    for (const t of found) {
      const why = blocker(program, t);
      if (why) return no(why);
    }
    return yes(`partitions ${found.map((t) => `\`${t.key}\``).join(', ')}`);
  },
  run(program, ctx) {
    const sizes = chooseTileSizes(ctx.limits, headDimHint(ctx));
    let out = program;
    const tiles = [...program.schedule.tiles];
    const setTile = (index: IndexName, size: number) => {
      const i = tiles.findIndex((t) => t.index === index);
      if (i >= 0) tiles[i] = { index, size };
      else tiles.push({ index, size });
    };
    const all = targets(program);
    const keys = new Set(all.map((t) => t.key));
    for (const t of all) {
      // On the program as given: tensor names survive tiling, and a query partitioned as
      // another attention's key would no longer be found by name.
      const inside = blocker(program, t) ?? partitionSet(program, t);
      if (typeof inside === 'string') continue;
      const size = sizeFor(program, ctx, t.key, sizes.key);
      out = tileKey(out, t.key, size, inside);
      setTile(t.key, size);
      // An index that is also some attention's key keeps the key's tile size (file header).
      if (t.query && !keys.has(t.query))
        setTile(t.query, sizeFor(program, ctx, t.query, sizes.query));
    }
    return out === program ? program : { ...out, schedule: { ...out.schedule, tiles } };
  },
};
