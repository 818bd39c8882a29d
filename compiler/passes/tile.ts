/**
 * tile: partitions the key index of every attention, `m → (m1, m0)` with `m = M0·m1 + m0`
 * (FuseMax's partitioned ranks, §4), and chooses the tile sizes.
 *
 * Precondition: an attention `O = sum[m] W * V` (attention-match.ts) whose key `m` is not yet
 * partitioned, indexes no output, and steps no recurrence.
 * Postcondition: no statement uses `m`; statements that did use `[m1, m0]` instead, with the
 * bounds filter `M0·m1 + m0 < M` (the last tile may be ragged), and reads of a partitioned
 * tensor use `[m1, m0]`. `const M0 = size` and `const M1 = (M + size - 1) / size` give the new
 * extents. The schedule records `tile m = M0` and `tile p = P0` (queries per workgroup: a
 * mapping for the backend, so `p` stays whole in the IR).
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
import { mapExpr } from '../ir-walk.ts';
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
}

function targets(program: Program): Target[] {
  const out: Target[] = [];
  for (const m of findAttentions(program).matches) {
    if (m.key.length !== 1 || out.some((t) => t.key === m.key[0])) continue;
    const valueIndices = new Set(
      m.value.kind === 'read' ? m.value.at.flatMap((a) => [...A.indicesOf(a)]) : [],
    );
    const query = [...m.rows].reverse().find((r) => !valueIndices.has(r)) ?? null;
    out.push({ key: m.key[0], query });
  }
  return out;
}

function blocker(program: Program, key: IndexName): string | null {
  const output = program.body.find(
    (s) => program.outputs.includes(s.target) && s.indices.includes(key),
  );
  if (output)
    return `\`${output.target}\` is an output indexed by \`${key}\`; partitioning \`${key}\` would change its shape`;
  const stepped = program.body.find((s) => s.kind === 'recurrence' && s.indices[s.axis] === key);
  if (stepped) return `\`${key}\` steps the recurrence \`${stepped.target}\``;
  const selected = program.body.find((s) => s.reduce?.op === 'topk' && s.reduce.over.includes(key));
  if (selected) return `\`${key}\` is the key of the \`topk\` \`${selected.target}\``;
  return null;
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

/** Rewrites one statement for the partition of `key`. */
function tileStatement(
  s: Statement,
  key: IndexName,
  parts: { outer: IndexName; inner: IndexName; size: number; bounds: Expr },
  partitioned: ReadonlyMap<TensorName, number>,
): Statement {
  const { outer, inner, size } = parts;
  const split = A.add(A.scale(A.index(outer), size), A.index(inner));
  const subst = new Map<IndexName, Affine>([[key, split]]);
  const splitKey = (xs: readonly IndexName[]) =>
    xs.flatMap((i) => (i === key ? [outer, inner] : [i]));
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
  const uses = s.indices.includes(key) || (s.reduce?.over.includes(key) ?? false);
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

function tileKey(program: Program, key: IndexName, size: number): Program {
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
  const ranks = (s: Statement) => s.reduce?.op === 'topk' && s.reduce.rank === key;
  const partitioned = new Map(
    program.body
      .filter((s) => s.indices.includes(key) && !ranks(s))
      .map((s) => [s.target, s.indices.indexOf(key)] as const),
  );
  const body = program.body.map((s) =>
    ranks(s) ? s : tileStatement(s, key, { outer, inner, size, bounds }, partitioned),
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
      const why = blocker(program, t.key);
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
    for (const t of targets(program)) {
      if (blocker(out, t.key)) continue;
      const size = sizeFor(program, ctx, t.key, sizes.key);
      out = tileKey(out, t.key, size);
      setTile(t.key, size);
      if (t.query) setTile(t.query, sizeFor(program, ctx, t.query, sizes.query));
    }
    return out === program ? program : { ...out, schedule: { ...out.schedule, tiles } };
  },
};
