/**
 * The static plan of a fused kernel: what `lower-fused.ts` needs to know about a fused group
 * (`compiler/passes/fused-group.ts`) before any extent is bound, or why the group cannot run as
 * one kernel (then its statements keep their unfused kernels and the manifest says why).
 *
 * The kernel hard-codes the running recurrences of `fuse.ts` (max, rescaled sum, accumulator)
 * and evaluates everything else generically: the per-key chain, the tile maximum's and the
 * weights' bodies and filters, and the output. So this file checks that the recurrences are
 * exactly the ones `fuse` writes, and that every read of a group tensor in an expression the
 * kernel evaluates is one it can answer from registers (a chain tensor at the current point, the
 * new running maximum, the final sum and accumulator).
 *
 * Roles of the row indices (the weights' indices other than the key):
 *  - the *query* (`p`): a workgroup serves a range of it (`tile p` is the hint);
 *  - the *grouped* head (`hq` of `group hq / G`): a workgroup serves the G heads sharing a K/V
 *    head, so the staged reads may use it only as `hq / G`;
 *  - the other, *fixed*, rows (`b`): one value per workgroup.
 * Each contraction of the chain (`S = sum[e] scale * Q[.., e] * K[.., key, e]`; MLA has two,
 * `S1 = sum[r] ..` and `S2 = sum[d] ..`, each over its own index) splits into the factors that do
 * not depend on the key (hoisted into registers once per row) and those that do (staged per key
 * tile in workgroup memory); the value read `V[.., key, f]` is staged too.
 *
 * Chain tensors that do not vary with the query (*key-side*: the key norms of cosine attention,
 * the concatenated keys of two-source attention, the pooled agents of agent attention) leave the
 * group: their own unfused kernels compute them before the fused kernel, which reads them as
 * ordinary buffers. They cost O(keys) work and memory once, where computing them inside would
 * cost it per row (a key norm per (query, key)) or be impossible: a piecewise tensor or one with
 * indices of its own (`KC[b, h, m, e]`, defined per prefix and suffix) is no per-(row, key)
 * value the kernel evaluates.
 */
import * as A from '../../compiler/affine.ts';
import { irKey } from '../../compiler/ir-equal.ts';
import {
  extentName,
  type Affine,
  type Equation,
  type Expr,
  type IndexName,
  type Program,
  type Statement,
  type TensorName,
} from '../../compiler/ir.ts';
import {
  arith,
  call,
  compare,
  conjuncts,
  literal,
  read,
  readAt,
  select,
} from '../../compiler/ir-make.ts';
import {
  affinesOf,
  forEachExpr,
  indicesOfExpr,
  statementExprs,
  tensorsRead,
} from '../../compiler/ir-walk.ts';
import { isBoundsFilter, isPlainRead } from '../../compiler/passes/attention-match.ts';
import type { FusedGroup } from '../../compiler/passes/fused-group.ts';

export interface Contraction {
  readonly statement: Equation;
  readonly reduced: IndexName;
  /** The product of the factors without the key (`scale * Q[.., e]`), or 1: per row. */
  readonly hoisted: Expr;
  /** The product of the factors with the key (`K[.., key, e]`), or 1: staged per key tile. */
  readonly staged: Expr;
}

export interface FusedStatic {
  /** The matched group without its key-side chain tensors. */
  readonly group: FusedGroup;
  readonly output: TensorName;
  readonly rows: readonly IndexName[];
  readonly query: IndexName;
  /** Queries per workgroup asked for by the schedule (`tile p`): a hint. */
  readonly queryTile: number;
  readonly grouped: { readonly index: IndexName; readonly by: string } | null;
  readonly fixed: readonly IndexName[];
  /** Output indices that are not rows (`f`): one accumulator per value. */
  readonly features: readonly IndexName[];
  readonly key: readonly [IndexName, IndexName];
  /** M0, the key tile size (a const of the program). */
  readonly keyTile: number;
  /** `K` in `key < K` when every per-key statement carries the tile pass's bounds filter. */
  readonly keyLimit: Affine | null;
  /** The chain's contractions, in body order; each sizes its own registers and staged tile. */
  readonly contractions: readonly Contraction[];
  /**
   * Per staged tile (each contraction's key factors, then the values): when the tile is one
   * plain read of an input whose last subscript is the tile's own index (`K[b, h, m, e]`), the
   * extent symbol of that input's innermost axis; null otherwise. Where it and the tile's extent
   * are multiples of 4, the kernel stages whole vec4s (`FusedSpec.vectorLoads`).
   */
  readonly vectorAxes: readonly (string | null)[];
  /** Key-side chain tensors: computed by their own kernels before the fused kernel. */
  readonly keySide: readonly TensorName[];
  /** The running values' filter over (rows, m1), from block sparsity; null when none. */
  readonly tileFilter: Expr | null;
  readonly split: boolean;
  /** Tensors of the group that get no buffer. */
  readonly internal: readonly TensorName[];
  /** Chain tensors read outside the group: their unfused kernels run too. */
  readonly materialized: readonly TensorName[];
}

const NEG_INF = literal(-Infinity);

function factors(e: Expr): Expr[] {
  return e.kind === 'arith' && e.op === '*' ? [...factors(e.lhs), ...factors(e.rhs)] : [e];
}

const product = (xs: readonly Expr[]): Expr =>
  xs.length === 0 ? literal(1) : xs.reduce((a, x) => arith('*', a, x));

/**
 * Whether every index of `e` is in `allowed`, with `grouped` (if any) only as `grouped / by`:
 * the expression then has one value per workgroup and key (and `extra` index).
 */
function workgroupUniform(
  e: Expr,
  allowed: ReadonlySet<IndexName>,
  grouped: FusedStatic['grouped'],
): boolean {
  const ok = (a: Affine): boolean =>
    a.terms.every(({ atom }) => {
      if (atom.kind === 'index') return allowed.has(atom.name);
      if (
        grouped &&
        atom.kind === 'floordiv' &&
        A.asIndex(atom.num) === grouped.index &&
        A.asAtom(atom.den)?.kind === 'symbol' &&
        (A.asAtom(atom.den) as { name: string }).name === grouped.by
      )
        return true;
      return A.childAffines(atom).every(ok);
    });
  return affinesOf(e).every(ok);
}

type Plan = FusedStatic | string;

/** Reads of group tensors in `e` that the kernel cannot answer, as a reason; null if none. */
function badReads(
  e: Expr,
  internal: ReadonlySet<TensorName>,
  answer: (r: Extract<Expr, { kind: 'read' }>) => boolean,
): string | null {
  let bad: string | null = null;
  forEachExpr(e, (x) => {
    if (x.kind === 'read' && internal.has(x.tensor) && !answer(x))
      bad ??= `\`${x.tensor}\` is read where the fused kernel does not hold it`;
  });
  for (const t of tensorsRead(e)) {
    let inValue = false;
    forEachExpr(e, (x) => {
      if (x.kind === 'read' && x.tensor === t) inValue = true;
    });
    if (internal.has(t) && !inValue) bad ??= `\`${t}\` is read inside an index expression`;
  }
  return bad;
}

/**
 * The key-side tensors of a group's chain (file header): none of their pieces is indexed by the
 * query, the row the schedule tiles (the last row without a tile). A chain tensor one of them
 * reads that is not key-side (a sum over the queries) is materialized as well, below.
 */
function keySideTensors(program: Program, g: FusedGroup): Set<TensorName> {
  const query =
    program.schedule.tiles.find((t) => g.rows.includes(t.index))?.index ?? g.rows.at(-1);
  if (query === undefined) return new Set();
  const queried = new Set(g.chain.filter((s) => s.indices.includes(query)).map((s) => s.target));
  return new Set(g.chain.filter((s) => !queried.has(s.target)).map((s) => s.target));
}

function withoutTensors(g: FusedGroup, gone: ReadonlySet<TensorName>): FusedGroup {
  const keep = (s: Statement) => !gone.has(s.target);
  return { ...g, chain: g.chain.filter(keep), statements: g.statements.filter(keep) };
}

/**
 * The finals (a log-sum-exp) are evaluated once per row in the epilogue, where the kernel holds
 * the final running maximum and sum: element-wise over the rows, reading no other group tensor.
 */
function checkFinals(g: FusedGroup, internal: ReadonlySet<TensorName>, m1: IndexName) {
  const sm = g.softmax;
  for (const s of g.finals) {
    const name = `\`${s.target}\``;
    const byRows = s.indices.length === g.rows.length && g.rows.every((r) => s.indices.includes(r));
    if (!sm || s.kind !== 'equation' || s.reduce || s.filter || !byRows)
      return `${name} reads the running values but is not element-wise over the rows`;
    const final = (t: TensorName) =>
      read(t, [...g.rows.map((i) => A.index(i)), A.symbol(extentName(m1))]);
    const answer = (r: Extract<Expr, { kind: 'read' }>) =>
      [sm.rmax.target, sm.rsum.target].some((t) => irKey(r) === irKey(final(t)));
    const bad = badReads(s.body, internal, answer);
    if (bad) return bad;
  }
  return null;
}

/** See `FusedStatic.vectorAxes`. */
function vectorAxis(program: Program, e: Expr, index: IndexName): string | null {
  if (e.kind !== 'read') return null;
  const input = program.inputs.find((x) => x.name === e.tensor);
  if (!input || input.dtype !== 'f32') return null;
  const last = e.at.at(-1);
  if (!last || A.asIndex(last) !== index) return null;
  if (e.at.slice(0, -1).some((a) => A.indicesOf(a).has(index))) return null;
  return extentName(input.indices.at(-1)!);
}

export function planFused(program: Program, matched: FusedGroup): Plan {
  const keySide = keySideTensors(program, matched);
  const g = withoutTensors(matched, keySide);
  const out = g.output.target;
  const [m1, m0] = g.key;
  const defs = (t: TensorName) => program.body.filter((s) => s.target === t);
  for (const s of g.statements)
    if (defs(s.target).length !== 1) return `\`${s.target}\` is defined piecewise`;
  // The output and the finals (fused-group.ts) are written by the kernel; the rest stays inside.
  const written = (s: Statement) => s === g.output || g.finals.includes(s);
  const internal = new Set(g.statements.filter((s) => !written(s)).map((s) => s.target));
  for (const t of internal) if (program.outputs.includes(t)) return `\`${t}\` is an output`;
  const chainSet = new Set(g.chain.map((s) => s.target));
  const defOf = (t: TensorName) => defs(t)[0];

  // Tensors read outside the group: chain tensors are also computed unfused (with what they read
  // in the chain); anything else of the group must stay inside.
  const materialized = new Set<TensorName>();
  const need = (t: TensorName) => {
    if (materialized.has(t)) return;
    materialized.add(t);
    for (const e of statementExprs(defOf(t)))
      for (const r of tensorsRead(e)) if (chainSet.has(r)) need(r);
  };
  for (const s of program.body) {
    if (g.statements.includes(s)) continue;
    for (const e of statementExprs(s))
      for (const t of tensorsRead(e)) {
        if (!internal.has(t)) continue;
        if (!chainSet.has(t))
          return `\`${s.target}\` reads \`${t}\`, which the fused kernel keeps in registers`;
        need(t);
      }
  }

  const weights = g.weights;
  if (weights.reduce) return 'the weights are a reduction';
  const rows = g.rows;
  const tileRows = [...rows, m1];
  const keyTileConst = program.consts.find((c) => c.name === extentName(m0));
  if (
    keyTileConst?.type !== 'i32' ||
    !A.isConstant(keyTileConst.value) ||
    keyTileConst.value.constant < 1
  )
    return 'the key tile size is not a constant';
  const keyTile = keyTileConst.value.constant;

  // The chain: per (row, key) equations, some of them contractions.
  const weightIdx = new Set(weights.indices);
  const contractions: Contraction[] = [];
  const chainRead = (r: Extract<Expr, { kind: 'read' }>) =>
    chainSet.has(r.tensor) && isPlainRead(r, defOf(r.tensor).indices);
  for (const s of g.chain) {
    if (s.kind !== 'equation') return `\`${s.target}\` is a recurrence inside the fused chain`;
    if (!s.indices.every((i) => weightIdx.has(i)))
      return `\`${s.target}\` has indices the weights do not`;
    for (const e of statementExprs(s)) {
      const bad = badReads(e, internal, chainRead);
      if (bad) return bad;
    }
    if (!s.reduce) continue;
    if (s.reduce.op !== 'sum' || s.reduce.over.length !== 1)
      return `\`${s.target}\` is not a sum over one index`;
    const reduced = s.reduce.over[0];
    if (s.filter && indicesOfExpr(s.filter).has(reduced))
      return `the filter of \`${s.target}\` depends on \`${reduced}\``;
    const parts = factors(s.body);
    const keyed = (f: Expr) => indicesOfExpr(f).has(m1) || indicesOfExpr(f).has(m0);
    const staged = parts.filter(keyed);
    const hoisted = parts.filter((f) => !keyed(f));
    if ([...parts].some((f) => [...tensorsRead(f)].some((t) => chainSet.has(t))))
      return `\`${s.target}\` reads another chain tensor inside its contraction`;
    contractions.push({
      statement: s,
      reduced,
      hoisted: product(hoisted),
      staged: product(staged),
    });
  }

  // The cascade fuse.ts writes, checked against its exact form.
  const step = (t: TensorName, idx: readonly IndexName[], off: 0 | 1) =>
    read(t, [...idx.map((i) => A.index(i)), A.add(A.index(m1), A.constant(off))]);
  const same = (a: Expr | null, b: Expr | null) =>
    a === null ? b === null : b !== null && irKey(a) === irKey(b);
  const sameIdx = (a: readonly IndexName[], b: readonly IndexName[]) =>
    a.length === b.length && a.every((x, k) => x === b[k]);
  const unexpected = (what: string) => `the ${what} is not in the form the fused kernel runs`;
  const sm = g.softmax;
  const accIdx = [...g.output.indices, m1];
  if (!sameIdx(g.tacc.indices, accIdx) || !sameIdx(g.racc.indices, accIdx))
    return unexpected('accumulator');
  if (!rows.every((r) => g.output.indices.includes(r))) return unexpected('output');
  const features = g.output.indices.filter((i) => !rows.includes(i));
  const wRead = readAt(weights.target, weights.indices);
  const value = g.value;
  const tb = g.tacc.body;
  if (!(same(tb, arith('*', wRead, value)) || same(tb, arith('*', value, wRead))))
    return unexpected('per-tile accumulator');
  const boundsOnly = (f: Expr | null) => conjuncts(f).every((c) => isBoundsFilter(c, g.key));
  if (!boundsOnly(g.tacc.filter)) return unexpected('per-tile accumulator filter');
  const tileFilter = g.racc.filter;
  const racc0 = step(g.racc.target, g.output.indices, 0);
  if (sm) {
    const newMax = step(sm.rmax.target, rows, 1);
    const corr = readAt(sm.corr.target, tileRows);
    const checks: [Statement, Expr, string][] = [
      [
        sm.rmax,
        call('max', step(sm.rmax.target, rows, 0), readAt(sm.tmax.target, tileRows)),
        'running maximum',
      ],
      [
        sm.corr,
        select(
          compare('>', newMax, NEG_INF),
          call('exp', arith('-', step(sm.rmax.target, rows, 0), newMax)),
          literal(1),
        ),
        'correction',
      ],
      [
        sm.rsum,
        arith(
          '+',
          arith('*', step(sm.rsum.target, rows, 0), corr),
          readAt(sm.tsum.target, tileRows),
        ),
        'running sum',
      ],
      [
        g.racc,
        arith('+', arith('*', racc0, corr), readAt(g.tacc.target, accIdx)),
        'running accumulator',
      ],
      [sm.tsum, wRead, 'tile sum'],
    ];
    for (const [s, body, what] of checks)
      if (!same(s.body, body) || !sameIdx(s.indices, s === g.racc ? accIdx : tileRows))
        return unexpected(what);
    if (
      sm.rmax.kind !== 'recurrence' ||
      !same(sm.rmax.init, NEG_INF) ||
      !same(sm.rsum.init, literal(0))
    )
      return unexpected('running maximum');
    if (
      sm.corr.filter ||
      sm.corr.reduce ||
      !boundsOnly(sm.tsum.filter) ||
      sm.tsum.reduce?.op !== 'sum'
    )
      return unexpected('tile sum');
    if (!same(sm.rmax.filter, tileFilter) || !same(sm.rsum.filter, tileFilter))
      return 'the running values are filtered differently';
    if (
      !sameIdx(sm.tmax.indices, tileRows) ||
      sm.tmax.reduce?.op !== 'max' ||
      !sameIdx(sm.tmax.reduce.over, [m0])
    )
      return unexpected('tile maximum');
    for (const e of statementExprs(sm.tmax)) {
      const bad = badReads(e, internal, chainRead);
      if (bad) return bad;
    }
    const maxRead = (r: Extract<Expr, { kind: 'read' }>) =>
      r.tensor === sm.rmax.target && irKey(r) === irKey(newMax);
    for (const e of statementExprs(weights)) {
      const bad = badReads(e, internal, (r) => chainRead(r) || maxRead(r));
      if (bad) return bad;
    }
    const total = read(sm.rsum.target, [...rows.map((i) => A.index(i)), A.symbol(extentName(m1))]);
    const accFinal = read(g.racc.target, [
      ...g.output.indices.map((i) => A.index(i)),
      A.symbol(extentName(m1)),
    ]);
    if (
      !same(
        g.output.body,
        select(compare('>', total, literal(0)), arith('/', accFinal, total), literal(0)),
      )
    )
      return unexpected('output');
  } else {
    if (!same(g.racc.body, arith('+', racc0, readAt(g.tacc.target, accIdx))))
      return unexpected('running accumulator');
    for (const e of statementExprs(weights)) {
      const bad = badReads(e, internal, chainRead);
      if (bad) return bad;
    }
    const accFinal = read(g.racc.target, [
      ...g.output.indices.map((i) => A.index(i)),
      A.symbol(extentName(m1)),
    ]);
    if (!same(g.output.body, accFinal)) return unexpected('output');
  }
  if (!same(g.racc.init, literal(0))) return unexpected('running accumulator');
  const finalsWhy = checkFinals(g, internal, m1);
  if (finalsWhy) return finalsWhy;
  if (tileFilter && ![...indicesOfExpr(tileFilter)].every((i) => i === m1 || rows.includes(i)))
    return 'the tile filter uses indices other than the rows and the key tile';
  if (tileFilter && [...tensorsRead(tileFilter)].some((t) => internal.has(t)))
    return 'the tile filter reads a tensor of the group';

  // Row roles.
  const stagedExprs = [value, ...contractions.map((c) => c.staged)];
  const tile = program.schedule.tiles.find((t) => rows.includes(t.index));
  const used = new Set(stagedExprs.flatMap((e) => [...indicesOfExpr(e)]));
  const query =
    tile?.index ?? [...rows].reverse().find((r) => !used.has(r)) ?? rows[rows.length - 1];
  if (query === undefined) return 'the weights have no row index';
  const keyIdx: readonly IndexName[] = [m1, m0];
  let grouped: FusedStatic['grouped'] =
    program.schedule.groups.find((x) => rows.includes(x.index) && x.index !== query) ?? null;
  const allowedFor = (gr: FusedStatic['grouped'], extra: readonly IndexName[]) =>
    new Set<IndexName>([
      ...rows.filter((r) => r !== query && r !== gr?.index),
      ...keyIdx,
      ...extra,
    ]);
  const stageable = (gr: FusedStatic['grouped']) =>
    workgroupUniform(value, allowedFor(gr, features), gr) &&
    contractions.every((c) => workgroupUniform(c.staged, allowedFor(gr, [c.reduced]), gr));
  if (grouped && !stageable(grouped)) grouped = null;
  if (!stageable(null)) return `the keys or values are read at the query index \`${query}\``;
  // A reduced index may also be a feature (MLA's latent `r` is summed in `S1` and indexes the
  // output): the kernel binds it only while it evaluates that contraction's factors, and the
  // features only while it stages values or writes the output.
  for (const c of contractions)
    if ([...indicesOfExpr(c.hoisted)].some((i) => !rows.includes(i) && i !== c.reduced))
      return unexpected('contraction');

  // Keys at or past the key extent contribute nothing when the tile maximum and the weights
  // carry the bounds filter: the kernel then never visits them.
  const bound = (f: Expr | null) =>
    conjuncts(f).find(
      (c) =>
        c.kind === 'icompare' &&
        isBoundsFilter(c, g.key) &&
        A.affineEqual(c.lhs, A.add(A.scale(A.index(m1), keyTile), A.index(m0))),
    );
  const wBound = bound(weights.filter);
  const mBound = sm ? bound(sm.tmax.filter) : wBound;
  const keyLimit =
    wBound?.kind === 'icompare' &&
    mBound?.kind === 'icompare' &&
    A.affineEqual(wBound.rhs, mBound.rhs)
      ? wBound.rhs
      : null;

  return {
    group: g,
    output: out,
    rows,
    query,
    queryTile: tile?.size ?? 32,
    grouped,
    fixed: rows.filter((r) => r !== query && r !== grouped?.index),
    features,
    key: g.key,
    keyTile,
    keyLimit,
    contractions,
    vectorAxes: [
      ...contractions.map((c) => vectorAxis(program, c.staged, c.reduced)),
      features.length === 1 ? vectorAxis(program, value, features[0]) : null,
    ],
    keySide: [...keySide],
    tileFilter,
    split: program.schedule.splits.includes(m1),
    internal: [...internal],
    materialized: [...materialized],
  };
}
