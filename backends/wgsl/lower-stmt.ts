/**
 * The body of one kernel per statement kind (see `lower.ts` for the program around them).
 *
 *  - An equation kernel runs one invocation per left-hand point (the points are linearised
 *    row-major, so invocation `lin` writes element `lin` of its target). It loops over the
 *    reduced indices, evaluates the filter at every point of the iteration space (once, when
 *    it does not depend on the reduced indices), and folds present values with a "seen" flag,
 *    so that a reduction over nothing yields the reducer's identity without ever computing
 *    with an infinity.
 *  - A recurrence kernel runs one invocation per point of the non-step indices: it writes the
 *    init at step 0, then loops over the steps in order; a step whose filter is false or whose
 *    body is absent copies the previous value. When the body reads the target at other points
 *    than its own, all points must finish step `s` before any starts step `s + 1`, so the
 *    kernel becomes one workgroup that strides over the points with a storage barrier per step.
 */
import * as affine from '../../compiler/affine.ts';
import { InternalError } from '../../compiler/diagnostics/diagnostic.ts';
import { extentName, type Equation, type IndexName, type Recurrence } from '../../compiler/ir.ts';
import { forEachExpr, indicesOfExpr } from '../../compiler/ir-walk.ts';
import {
  Block,
  bin,
  holds,
  i32,
  linearAddress,
  lowerDim,
  lowerExpr,
  not,
  ref,
  uniform,
  type Lowered,
} from './lower-expr.ts';
import { mangle } from './names.ts';
import { WORKGROUP_SIZE, type Dispatch, type KExpr, type KStmt } from './plan.ts';

const extentOf = (index: IndexName): KExpr => uniform(mangle('symbol', extentName(index)));

function product(xs: readonly KExpr[]): KExpr {
  return xs.length === 0 ? i32(1) : xs.reduce((a, x) => bin('*', a, x));
}

/** Binds `indices` (row-major, last fastest) from the linear point number `linear`. */
function delinearize(b: Block, indices: readonly IndexName[], linear: KExpr): void {
  let rest = linear;
  for (let k = indices.length - 1; k >= 0; k--) {
    const name = mangle('index', indices[k]);
    b.push({ kind: 'let', name, value: k === 0 ? rest : bin('%', rest, extentOf(indices[k])) });
    b.scope.indexValues.set(indices[k], ref(name));
    if (k > 0) rest = b.bind(bin('/', rest, extentOf(indices[k])), 'q');
  }
}

/** Grid prologue: `lin`, the bounds guard, and the point's coordinates. */
function gridPrologue(b: Block, indices: readonly IndexName[]): Dispatch {
  b.push({ kind: 'let', name: 'lin', value: { kind: 'invocation' } });
  b.push({
    kind: 'if',
    cond: bin('>=', ref('lin'), product(indices.map(extentOf))),
    then: [{ kind: 'return' }],
    else: [],
  });
  delinearize(b, indices, ref('lin'));
  const points = indices
    .map((i) => affine.symbol(extentName(i)))
    .reduce(affine.mul, affine.constant(1));
  return { kind: 'grid', invocations: points };
}

// ── Writing values ───────────────────────────────────────────────────────────────────────

/**
 * Stores a lowered value at `addr` (booleans as 0 or 1). An absent value writes the marker when
 * `writeAbsent`, else leaves the element as it is (a later piece of a piecewise definition).
 */
function storeValue(b: Block, v: Lowered, addr: KExpr, writeAbsent: boolean): void {
  const { target, writes: buffer } = b.scope;
  const value = b.scope.boolTensors.has(target)
    ? b.bind({
        kind: 'select',
        cond: v.value,
        ifTrue: { kind: 'f32', value: 1 },
        ifFalse: { kind: 'f32', value: 0 },
      })
    : v.value;
  const store = (x: KExpr): KStmt => ({ kind: 'store', buffer, index: addr, value: x });
  if (b.scope.storages.get(target) === 'f32') {
    if (v.ok !== null)
      throw new InternalError(`${target} is stored as always present but its value may be absent`);
    b.push(store(value));
    return;
  }
  const encoded = b.call('attn_encode', value);
  if (v.ok === null) b.push(store(encoded));
  else if (writeAbsent)
    b.push(store({ kind: 'select', cond: v.ok, ifTrue: encoded, ifFalse: { kind: 'absent' } }));
  else b.push({ kind: 'if', cond: v.ok, then: [store(encoded)], else: [] });
}

/** Where the statement's own point goes in its target (`coords` are the target's subscripts). */
function targetAddress(b: Block, coords: readonly KExpr[]): KExpr {
  const shape = b.scope.shapes.get(b.scope.target)!;
  return b.bind(
    linearAddress(
      coords,
      shape.map((d) => lowerDim(d, b)),
    ),
    'at',
  );
}

// ── Equations ────────────────────────────────────────────────────────────────────────────

export function lowerEquation(s: Equation, b: Block, first: boolean): Dispatch {
  const dispatch = gridPrologue(b, s.indices);
  const shape = b.scope.shapes.get(s.target)!;
  const own =
    s.indices.length === shape.length &&
    s.indices.every((i, k) => affine.affineEqual(affine.symbol(extentName(i)), shape[k]));
  const addr = own
    ? ref('lin')
    : targetAddress(
        b,
        s.indices.map((i) => b.scope.indexValues.get(i)!),
      );
  const absentStorage = b.scope.storages.get(s.target) === 'f32-absent';
  if (s.reduce?.op === 'topk') {
    storeValue(b, topk(b, s), addr, first);
    return dispatch;
  }
  if (s.reduce !== null) {
    storeValue(b, reduce(b, s), addr, first);
    return dispatch;
  }
  if (s.filter !== null) {
    const cond = holds(lowerExpr(s.filter, b));
    const skip: KStmt[] =
      first && absentStorage
        ? [
            {
              kind: 'store',
              buffer: mangle('tensor', s.target),
              index: addr,
              value: { kind: 'absent' },
            },
          ]
        : [];
    b.push({ kind: 'if', cond: not(cond), then: [...skip, { kind: 'return' }], else: [] });
  }
  storeValue(b, lowerExpr(s.body, b), addr, first);
  return dispatch;
}

/**
 * The reduction of `s` at the current point (its left-hand indices already bound): a loop nest
 * over the reduced indices that folds the present values. `seen` records that some value was
 * folded (so max/min of nothing is the identity, with no infinity computed); `hit` that the
 * filter admitted some point; where it admitted none the result is absent
 * (`backends/cpu/absent.ts` rule 5).
 */
function reduce(b: Block, s: Equation | Recurrence): Lowered {
  const { op, over } = s.reduce!;
  const acc = b.scope.fresh('acc');
  const seen = b.scope.fresh('seen');
  const hit = b.scope.fresh('hit');
  // A filter on the left-hand indices alone is tested once; extents are >= 1, so when it holds
  // it admits some reduced point.
  const hoisted = s.filter !== null && ![...indicesOfExpr(s.filter)].some((i) => over.includes(i));
  const guard = hoisted ? b.bind(holds(lowerExpr(s.filter!, b)), 'ok') : null;
  b.push({ kind: 'var', name: acc, type: 'f32', init: { kind: 'f32', value: 0 } });
  if (op !== 'sum')
    b.push({ kind: 'var', name: seen, type: 'bool', init: { kind: 'bool', value: false } });
  if (s.filter !== null && !hoisted)
    b.push({ kind: 'var', name: hit, type: 'bool', init: { kind: 'bool', value: false } });
  for (const i of over) b.scope.indexValues.set(i, ref(mangle('index', i)));

  const inner = b.child();
  let bodyBlock = inner;
  if (s.filter !== null && !hoisted) {
    const cond = holds(lowerExpr(s.filter, inner));
    bodyBlock = inner.child();
    bodyBlock.push({ kind: 'assign', name: hit, value: { kind: 'bool', value: true } });
    inner.push({ kind: 'if', cond, then: bodyBlock.stmts, else: [] });
  }
  const v = lowerExpr(s.body, bodyBlock);
  const combine = op === 'max' ? 'attn_max' : 'attn_min';
  const fold: KStmt[] =
    op === 'sum'
      ? [{ kind: 'assign', name: acc, value: bin('+', ref(acc), v.value) }]
      : [
          {
            kind: 'assign',
            name: acc,
            value: {
              kind: 'select',
              cond: ref(seen),
              ifTrue: bodyBlock.call(combine, ref(acc), v.value),
              ifFalse: v.value,
            },
          },
          { kind: 'assign', name: seen, value: { kind: 'bool', value: true } },
        ];
  if (v.ok === null) bodyBlock.push(...fold);
  else bodyBlock.push({ kind: 'if', cond: v.ok, then: fold, else: [] });

  let nest: KStmt[] = inner.stmts;
  for (const i of [...over].reverse()) {
    nest = [
      {
        kind: 'for',
        index: mangle('index', i),
        from: i32(0),
        to: extentOf(i),
        step: 1,
        body: nest,
      },
    ];
  }
  if (guard !== null) b.push({ kind: 'if', cond: guard, then: nest, else: [] });
  else b.push(...nest);
  const ok = guard ?? (s.filter !== null ? ref(hit) : null);
  if (op === 'sum') return { value: ref(acc), ok };
  const identity = b.call(op === 'max' ? 'attn_neg_inf' : 'attn_pos_inf');
  return {
    value: b.bind({ kind: 'select', cond: ref(seen), ifTrue: ref(acc), ifFalse: identity }, 'r'),
    ok,
  };
}

/**
 * `topk[m, j]` at the current point, rank `r` = the value of `j`: the key of the `r`-th largest
 * present (value, key) pair, in the order of `backends/cpu/compile-stmt.ts` (larger value first,
 * smaller key on ties). Selection without storage: round `t` finds the best pair strictly after
 * round `t - 1`'s, so `r + 1` rounds over the keys give rank `r`; when a round finds nothing the
 * rank is past the number of present values and the result is absent. O(r · M) per point,
 * which suits the small `J` of a top-k selection.
 */
function topk(b: Block, s: Equation): Lowered {
  const [key] = s.reduce!.over;
  const rank = b.scope.indexValues.get(s.reduce!.rank!)!;
  const [prevV, prevM, bestV, bestM] = ['pv', 'pm', 'bv', 'bm'].map((x) => b.scope.fresh(x));
  const round = b.scope.fresh('round');
  b.push({ kind: 'var', name: prevV, type: 'f32', init: { kind: 'f32', value: 0 } });
  b.push({ kind: 'var', name: prevM, type: 'i32', init: i32(-1) });
  b.scope.indexValues.set(key, ref(mangle('index', key)));

  const inner = b.child();
  let bodyBlock = inner;
  if (s.filter !== null) {
    const cond = holds(lowerExpr(s.filter, inner));
    bodyBlock = inner.child();
    inner.push({ kind: 'if', cond, then: bodyBlock.stmts, else: [] });
  }
  const v = lowerExpr(s.body, bodyBlock);
  const value = bodyBlock.bind(v.value, 'x');
  const m = ref(mangle('index', key));
  const after = bin(
    '||',
    bin('==', ref(round), i32(0)),
    bin(
      '||',
      bin('<', value, ref(prevV)),
      bin('&&', bin('==', value, ref(prevV)), bin('>', m, ref(prevM))),
    ),
  );
  const better = bin('||', bin('<', ref(bestM), i32(0)), bin('>', value, ref(bestV)));
  const take: KStmt = {
    kind: 'if',
    cond: bin('&&', after, better),
    then: [
      { kind: 'assign', name: bestV, value },
      { kind: 'assign', name: bestM, value: m },
    ],
    else: [],
  };
  if (v.ok === null) bodyBlock.push(take);
  else bodyBlock.push({ kind: 'if', cond: v.ok, then: [take], else: [] });

  // Rounds after one that found nothing keep `prevM = -1`: there is no later pair.
  const roundBody: KStmt[] = [
    { kind: 'var', name: bestV, type: 'f32', init: { kind: 'f32', value: 0 } },
    { kind: 'var', name: bestM, type: 'i32', init: i32(-1) },
    {
      kind: 'for',
      index: mangle('index', key),
      from: i32(0),
      to: extentOf(key),
      step: 1,
      body: inner.stmts,
    },
    { kind: 'assign', name: prevV, value: ref(bestV) },
    { kind: 'assign', name: prevM, value: ref(bestM) },
  ];
  b.push({
    kind: 'for',
    index: round,
    from: i32(0),
    to: bin('+', rank, i32(1)),
    step: 1,
    body: [
      {
        kind: 'if',
        cond: bin('||', bin('==', ref(round), i32(0)), bin('>=', ref(prevM), i32(0))),
        then: roundBody,
        else: [],
      },
    ],
  });
  return {
    value: { kind: 'convert', to: 'f32', arg: ref(prevM) },
    ok: bin('>=', ref(prevM), i32(0)),
  };
}

// ── Recurrences ──────────────────────────────────────────────────────────────────────────

/** Whether the body or filter reads the target anywhere but at this point's own coordinates. */
export function readsOtherPoints(s: Recurrence): boolean {
  let other = false;
  for (const e of s.filter ? [s.body, s.filter] : [s.body]) {
    forEachExpr(e, (x) => {
      if (x.kind !== 'read' || x.tensor !== s.target) return;
      if (x.at.some((sub, k) => k !== s.axis && affine.asIndex(sub) !== s.indices[k])) other = true;
    });
  }
  return other;
}

const nonStep = (s: Recurrence) => s.indices.filter((_, k) => k !== s.axis);

/** The target address of the current point at step `step`. */
function stepAddress(b: Block, s: Recurrence, step: KExpr): KExpr {
  return targetAddress(
    b,
    s.indices.map((i, k) => (k === s.axis ? step : b.scope.indexValues.get(i)!)),
  );
}

function initStep(b: Block, s: Recurrence): void {
  storeValue(b, lowerExpr(s.init, b), stepAddress(b, s, i32(0)), true);
}

/** One step `s → s + 1` of the current point, inside the loop over the steps. */
function advanceStep(b: Block, s: Recurrence): void {
  const stepVar = ref(mangle('index', s.indices[s.axis]));
  b.scope.indexValues.set(s.indices[s.axis], stepVar);
  const next = stepAddress(b, s, bin('+', stepVar, i32(1)));
  const prev = stepAddress(b, s, stepVar);
  const buffer = mangle('tensor', s.target);
  const carry: KStmt = {
    kind: 'store',
    buffer,
    index: next,
    value: { kind: 'load', buffer, index: prev },
  };
  if (s.reduce !== null) {
    // A filter that admitted no reduced point carries the previous value (absent.ts rule 7).
    const r = reduce(b, s);
    const write = b.child();
    storeValue(write, { value: r.value, ok: null }, next, true);
    if (r.ok === null) b.push(...write.stmts);
    else b.push({ kind: 'if', cond: r.ok, then: write.stmts, else: [carry] });
    return;
  }
  const taken = b.child();
  const v = lowerExpr(s.body, taken);
  const write = taken.child();
  storeValue(write, { value: v.value, ok: null }, next, true);
  // Where the filter holds and the body is present the step is written; otherwise it carries.
  const alwaysTaken = s.filter === null && v.ok === null;
  if (!alwaysTaken) write.push({ kind: 'continue' });
  if (v.ok === null) taken.push(...write.stmts);
  else taken.push({ kind: 'if', cond: v.ok, then: write.stmts, else: [] });
  if (s.filter !== null)
    b.push({ kind: 'if', cond: holds(lowerExpr(s.filter, b)), then: taken.stmts, else: [] });
  else b.push(...taken.stmts);
  if (!alwaysTaken) b.push(carry);
}

function stepLoop(s: Recurrence, body: readonly KStmt[]): KStmt {
  const step = s.indices[s.axis];
  return {
    kind: 'for',
    index: mangle('index', step),
    from: i32(0),
    to: extentOf(step),
    step: 1,
    body,
  };
}

export function lowerRecurrence(s: Recurrence, b: Block): Dispatch {
  const dispatch = gridPrologue(b, nonStep(s));
  initStep(b, s);
  const loop = b.child();
  advanceStep(loop, s);
  b.push(stepLoop(s, loop.stmts));
  return dispatch;
}

export function lowerCooperativeRecurrence(s: Recurrence, b: Block): Dispatch {
  const indices = nonStep(s);
  const count = product(indices.map(extentOf));
  const points = (body: readonly KStmt[]): KStmt => ({
    kind: 'for',
    index: 'pt',
    from: { kind: 'localIndex' },
    to: count,
    step: WORKGROUP_SIZE,
    body,
  });
  const init = b.child();
  delinearize(init, indices, ref('pt'));
  initStep(init, s);
  b.push(points(init.stmts), { kind: 'barrier' });
  const step = b.child();
  delinearize(step, indices, ref('pt'));
  advanceStep(step, s);
  b.push(stepLoop(s, [points(step.stmts), { kind: 'barrier' }]));
  return { kind: 'single' };
}
