/**
 * Equations and recurrences: the Einsum rule.
 *  - The left-hand side names the target's dimensions with plain indices (E207, E208); a
 *    recurrence writes `i + 1` on exactly one of them.
 *  - Every index on the left appears on the right or in the filter (E203).
 *  - An index on the right but not on the left is reduced: by the explicit reducer, which must
 *    name exactly those indices (E205, E206), or else by an implicit sum.
 *  - A recurrence has one `init` (E401, E403, E405) and reads itself only at the current step
 *    (E404).
 */
import type * as ast from '../../grammar/ast.ts';
import type { Span } from '../diagnostics/source.ts';
import * as A from '../affine.ts';
import type {
  Equation,
  IndexName,
  Recurrence,
  ReduceOp,
  Statement,
  TensorName,
  Expr,
} from '../ir.ts';
import {
  convertBool,
  convertReal,
  convertValue,
  type ExprContext,
  type ReadSite,
} from './exprs.ts';
import { intValue } from '../ir-walk.ts';
import type { ExtentTable } from './extents.ts';
import { isIndexName, type BlockScope, type Definition } from './scope.ts';

/** Index names referenced in `e`, in order of first appearance, with that appearance's span. */
export function indicesIn(
  e: ast.Expr,
  scope: BlockScope,
  out: Map<string, Span> = new Map(),
): Map<string, Span> {
  const visit = (x: ast.Expr): void => {
    switch (x.kind) {
      case 'name':
        if (
          scope.indices.has(x.name.text) &&
          !scope.params.has(x.name.text) &&
          !scope.consts.has(x.name.text) &&
          !out.has(x.name.text)
        ) {
          out.set(x.name.text, x.name.span);
        }
        return;
      case 'access':
        x.subscripts.forEach(visit);
        return;
      case 'call':
      case 'macro':
        x.args.forEach(visit);
        return;
      case 'unary':
        visit(x.operand);
        return;
      case 'binary':
        visit(x.left);
        visit(x.right);
        return;
      case 'reduction':
        visit(x.body);
        return;
      case 'paren':
        visit(x.inner);
        return;
      default:
        return;
    }
  };
  visit(e);
  return out;
}

interface LeftSide {
  readonly indices: IndexName[];
  readonly spans: Span[];
}

/** Plain indices on the left; for a recurrence, `i + 1` at `axis` contributes `i`. */
function checkLeftSide(def: Definition, scope: BlockScope): LeftSide | null {
  const { bag } = scope;
  const indices: IndexName[] = [];
  const spans: Span[] = [];
  let ok = true;
  def.stmt.subscripts.forEach((s, axis) => {
    let id: ast.Identifier | null = null;
    if (s.kind === 'name') id = s.name;
    else if (
      def.kind === 'recurrence' &&
      axis === def.axis &&
      s.kind === 'binary' &&
      s.left.kind === 'name'
    )
      id = s.left.name;
    if (
      !id ||
      !scope.indices.has(id.text) ||
      scope.params.has(id.text) ||
      scope.consts.has(id.text)
    ) {
      reportNotAnIndex(id, s, scope);
      ok = false;
      return;
    }
    if (indices.includes(id.text as IndexName)) {
      bag.report('E208', id.span, [id.text]);
      ok = false;
      return;
    }
    indices.push(id.text as IndexName);
    spans.push(id.span);
  });
  return ok ? { indices, spans } : null;
}

/** A subscript on the left that is not an index: E111 for an upper-case name, else E207. */
function reportNotAnIndex(id: ast.Identifier | null, s: ast.Expr, scope: BlockScope): void {
  const name = id?.text ?? '';
  const scalar = scope.params.has(name) ? 'a param' : scope.consts.has(name) ? 'a const' : null;
  if (scalar)
    scope.bag.report('E207', s.span, [], {
      hint: `\`${name}\` is ${scalar}; the left names the target's dimensions with indices`,
    });
  else if (id && !isIndexName(name)) scope.bag.report('E111', id.span, [name]);
  else scope.bag.report('E207', s.span);
}

interface RightSide {
  readonly reduce: {
    readonly op: ReduceOp;
    readonly over: IndexName[];
    readonly rank?: IndexName;
  } | null;
  readonly body: ast.Expr;
  /** All indices of the statement: left-hand, then reduced. */
  readonly all: Set<string>;
}

/** Applies the Einsum rule: which indices are reduced, and by what. */
function checkRightSide(
  stmt: ast.EquationStmt,
  left: LeftSide,
  scope: BlockScope,
): RightSide | null {
  const { bag } = scope;
  const value =
    stmt.value.kind === 'paren' && stmt.value.inner.kind === 'reduction'
      ? stmt.value.inner
      : stmt.value;
  const explicit = value.kind === 'reduction' ? value : null;
  // An upper-case name in the reducer list is already E111; judging the reduction would only
  // add consequences of it (the index it stands for looks unreduced).
  if (explicit?.indices.some((id) => !isIndexName(id.text))) return null;
  const body = explicit ? explicit.body : value;
  if (explicit?.reducer === 'topk') return checkTopk(stmt, explicit, left, scope);
  const used = indicesIn(body, scope);
  if (stmt.filter) indicesIn(stmt.filter, scope, used);
  let ok = true;
  const free = [...used.keys()].filter((i) => !left.indices.includes(i as IndexName));
  left.indices.forEach((i, k) => {
    if (!used.has(i)) {
      bag.report('E203', left.spans[k], [i], unboundHint(free));
      ok = false;
    }
  });
  let reduce: RightSide['reduce'] = null;
  if (explicit) {
    const over: IndexName[] = [];
    for (const id of explicit.indices) {
      if (over.includes(id.text as IndexName)) {
        bag.report('E212', id.span, [id.text]);
        ok = false;
      } else if (!free.includes(id.text)) {
        const onLeft = left.indices.includes(id.text as IndexName);
        const why = onLeft ? 'is on the left' : 'does not appear in the reduced expression';
        bag.report('E205', id.span, [id.text, why], {
          hint: onLeft
            ? `each element of the result has one \`${id.text}\`; remove \`${id.text}\` from the left or from \`${explicit.reducer}[...]\``
            : `remove \`${id.text}\` from \`${explicit.reducer}[...]\`, or use it in the reduced expression`,
        });
        ok = false;
      } else over.push(id.text as IndexName);
    }
    for (const i of free) {
      if (!over.includes(i as IndexName) && !explicit.indices.some((id) => id.text === i)) {
        bag.report('E206', used.get(i)!, [i, explicit.reducer]);
        ok = false;
      }
    }
    reduce = { op: explicit.reducer, over };
  } else if (free.length > 0) {
    reduce = { op: 'sum', over: free as IndexName[] };
  }
  if (!ok) return null;
  return { reduce, body, all: new Set([...left.indices, ...(reduce?.over ?? [])]) };
}

/**
 * `topk[m, j] body`: `m` is reduced (on the right, not the left), `j` ranks the selected keys
 * (on the left, not the right); every other index on the right is on the left.
 */
function checkTopk(
  stmt: ast.EquationStmt,
  r: ast.Reduction,
  left: LeftSide,
  scope: BlockScope,
): RightSide | null {
  const { bag } = scope;
  if (r.indices.length !== 2) {
    bag.report('E213', r.reducerSpan, [r.indices.length]);
    return null;
  }
  const [key, rank] = r.indices.map((i) => i.text as IndexName);
  const used = indicesIn(r.body, scope);
  if (stmt.filter) indicesIn(stmt.filter, scope, used);
  let ok = true;
  if (!used.has(key) || left.indices.includes(key)) {
    bag.report('E205', r.indices[0].span, [
      key,
      left.indices.includes(key) ? 'is on the left' : 'does not appear in the reduced expression',
    ]);
    ok = false;
  }
  if (!left.indices.includes(rank) || used.has(rank)) {
    bag.report('E214', r.indices[1].span, [rank]);
    ok = false;
  }
  for (const i of used.keys()) {
    if (i !== key && !left.indices.includes(i as IndexName)) {
      bag.report('E206', used.get(i)!, [i, 'topk']);
      ok = false;
    }
  }
  left.indices.forEach((i, k) => {
    if (i !== rank && !used.has(i)) {
      bag.report('E203', left.spans[k], [i]);
      ok = false;
    }
  });
  if (!ok) return null;
  return {
    reduce: { op: 'topk', over: [key], rank },
    body: r.body,
    all: new Set([...left.indices, key]),
  };
}

/** E203's hint: the indices the right uses beyond the left's are the likely intended ones. */
function unboundHint(free: readonly string[]): { hint?: string } {
  const names = free.map((u) => `\`${u}\``);
  if (names.length === 0) return {};
  const which = names.length === 1 ? names[0] : `one of ${names.join(', ')}`;
  return { hint: `every index on the left must appear on the right; did you mean ${which}?` };
}

/**
 * The right-hand side's value. An element-wise equation may define a boolean tensor (a mask
 * such as `Same[p, m] = Doc[p] == Doc[m]`, read later in filters); reductions and recurrences
 * are over real numbers.
 */
function convertBody(def: Definition, right: RightSide, ctx: ExprContext) {
  if (right.reduce?.op === 'topk') {
    // The selected keys are indices: an i32 tensor, which later subscripts may read (a gather).
    const info = ctx.scope.tensors.get(def.target)!;
    ctx.scope.tensors.set(def.target, { ...info, dtype: 'i32' });
  }
  if (def.kind === 'recurrence' || right.reduce) return convertReal(right.body, ctx);
  const t = convertValue(right.body, ctx);
  if (!t) return null;
  if (t.type !== 'bool') return t.type === 'int' ? intValue(t.value) : t.value;
  const info = ctx.scope.tensors.get(def.target)!;
  ctx.scope.tensors.set(def.target, { ...info, dtype: 'bool' });
  return t.value;
}

/** Converts one definition (in dependency order) to a statement. */
export function checkDefinition(
  def: Definition,
  scope: BlockScope,
  extents: ExtentTable,
  initsOf: (target: string) => ast.InitStmt[],
): Statement | null {
  if (scope.failed.has(def.target)) return null;
  const left = checkLeftSide(def, scope);
  if (!left) return null;
  const right = checkRightSide(def.stmt, left, scope);
  if (!right) return null;
  const target = def.target as TensorName;
  const stepIndex = def.kind === 'recurrence' ? left.indices[def.axis] : null;
  const selfReads: ReadSite[] = [];
  const ctx: ExprContext = {
    scope,
    indices: right.all,
    allowParams: true,
    where: 'this equation',
    onRead: (site) => {
      extents.onRead(site);
      if (site.tensor === def.target) selfReads.push(site);
    },
  };
  const body = convertBody(def, right, ctx);
  const filter = def.stmt.filter ? convertBool(def.stmt.filter, ctx) : null;
  if (!body || (def.stmt.filter && !filter)) return null;
  if (def.kind === 'equation') {
    const eq: Equation = {
      kind: 'equation',
      target,
      indices: left.indices,
      reduce: right.reduce,
      filter,
      body,
      origin: def.stmt.span,
    };
    return eq;
  }
  for (const site of selfReads) {
    const expected = left.indices.map((i) => A.index(i));
    if (!site.subscripts.every((s, k) => A.affineEqual(s, expected[k]))) {
      scope.bag.report('E404', site.span, [def.target, stepIndex!]);
      return null;
    }
  }
  const init = checkInit(def, left, scope, extents, initsOf(def.target));
  if (!init) return null;
  const rec: Recurrence = {
    kind: 'recurrence',
    target,
    indices: left.indices,
    axis: def.axis,
    init: init.value,
    reduce: right.reduce,
    filter,
    body,
    origin: def.stmt.span,
    initOrigin: init.span,
  };
  return rec;
}

function checkInit(
  def: Extract<Definition, { kind: 'recurrence' }>,
  left: LeftSide,
  scope: BlockScope,
  extents: ExtentTable,
  inits: ast.InitStmt[],
): { value: Expr; span: Span } | null {
  const { bag } = scope;
  if (inits.length === 0) {
    bag.report('E401', def.stmt.target.span, [def.target]);
    return null;
  }
  const init = inits[0];
  for (const extra of inits.slice(1))
    bag.report('E108', extra.target.span, [def.target], {
      hint: 'a recurrence has one `init`; remove this one',
      related: [bag.related(init.target.span, `the first \`init ${def.target}\` is here`)],
    });
  if (!checkInitShape(def, left, init, scope)) return null;
  const others = new Set(left.indices.filter((_, k) => k !== def.axis) as string[]);
  let selfRead = false;
  const ctx: ExprContext = {
    scope,
    indices: others,
    allowParams: true,
    where: 'this init',
    onRead: (site) => {
      extents.onRead(site);
      if (site.tensor === def.target) selfRead = true;
    },
  };
  const value = convertReal(init.value, ctx);
  if (selfRead) {
    bag.report('E402', init.value.span, [`\`init ${def.target}\` uses \`${def.target}\``], {
      hint: 'an `init` gives the value at step 0, so it cannot read the recurrence itself',
    });
    return null;
  }
  return value ? { value, span: init.span } : null;
}

/**
 * E405: the `init` must write step 0 with the update's other subscripts. The caret goes on the
 * first subscript that differs (on the name when the count is wrong); the hint spells out the
 * line to write.
 */
function checkInitShape(
  def: Extract<Definition, { kind: 'recurrence' }>,
  left: LeftSide,
  init: ast.InitStmt,
  scope: BlockScope,
): boolean {
  const expected = left.indices.map((i, k) => (k === def.axis ? '0' : i));
  const hint = `write \`init ${def.target}[${expected.join(', ')}] = ...\``;
  if (init.subscripts.length !== left.indices.length) {
    scope.bag.report('E405', init.target.span, [def.target], { hint });
    return false;
  }
  const wrong = init.subscripts.find((s, k) =>
    k === def.axis
      ? !(s.kind === 'number' && s.value === 0 && s.isInteger)
      : !(s.kind === 'name' && s.name.text === left.indices[k]),
  );
  if (wrong) scope.bag.report('E405', wrong.span, [def.target], { hint });
  return !wrong;
}
