/**
 * Generic traversals of the IR. `mapExpr` rebuilds bottom-up and returns the node itself when no
 * child changed (Halide's `same_as`), so passes can tell "nothing happened" by reference.
 */
import { assertNever } from './diagnostics/diagnostic.ts';
import { atomsOf, indicesOf, mapAtoms } from './affine.ts';
import type { Affine, Atom, Expr, IndexName, Program, Statement, TensorName } from './ir.ts';
import { extentName } from './ir.ts';
import * as affine from './affine.ts';

/** The direct sub-expressions of `e` (not the index expressions inside it). */
export function childExprs(e: Expr): readonly Expr[] {
  switch (e.kind) {
    case 'literal':
    case 'bool':
    case 'int':
    case 'param':
    case 'const':
    case 'read':
    case 'icompare':
      return [];
    case 'neg':
    case 'not':
      return [e.arg];
    case 'arith':
    case 'compare':
    case 'logical':
      return [e.lhs, e.rhs];
    case 'call':
      return e.args;
    case 'select':
      return [e.cond, e.then, e.else];
    default:
      return assertNever(e, 'expression');
  }
}

/** The index expressions that appear directly in `e` (subscripts, `int` values, comparisons). */
export function directAffines(e: Expr): readonly Affine[] {
  switch (e.kind) {
    case 'int':
      return [e.value];
    case 'read':
      return e.at;
    case 'icompare':
      return [e.lhs, e.rhs];
    default:
      return [];
  }
}

/** Pre-order visit of every expression node. */
export function forEachExpr(e: Expr, visit: (e: Expr) => void): void {
  visit(e);
  for (const c of childExprs(e)) forEachExpr(c, visit);
}

/** Every index expression anywhere inside `e`, including nested subscripts. */
export function affinesOf(e: Expr): Affine[] {
  const out: Affine[] = [];
  forEachExpr(e, (x) => out.push(...directAffines(x)));
  return out;
}

/** Every atom anywhere inside `e`. */
export function atomsOfExpr(e: Expr): Atom[] {
  return affinesOf(e).flatMap((a) => [...atomsOf(a)]);
}

/**
 * Rebuilds `e` bottom-up. `f` sees each node after its children were rebuilt and may return a
 * replacement; `g` (optional) rewrites every index expression. Unchanged subtrees keep identity.
 */
export function mapExpr(e: Expr, f: (e: Expr) => Expr = (x) => x, g?: (a: Affine) => Affine): Expr {
  const m = (x: Expr) => mapExpr(x, f, g);
  const ga = (a: Affine) => (g ? g(a) : a);
  const same = <T>(xs: readonly T[], ys: readonly T[]) => xs.every((x, i) => x === ys[i]);
  let out: Expr;
  switch (e.kind) {
    case 'literal':
    case 'bool':
    case 'param':
    case 'const':
      out = e;
      break;
    case 'int': {
      const value = ga(e.value);
      out = value === e.value ? e : intValue(value);
      break;
    }
    case 'read': {
      const at = e.at.map(ga);
      out = same(at, e.at) ? e : { ...e, at };
      break;
    }
    case 'icompare': {
      const lhs = ga(e.lhs);
      const rhs = ga(e.rhs);
      out = lhs === e.lhs && rhs === e.rhs ? e : { ...e, lhs, rhs };
      break;
    }
    case 'neg':
    case 'not': {
      const arg = m(e.arg);
      out = arg === e.arg ? e : { ...e, arg };
      break;
    }
    case 'arith':
    case 'compare':
    case 'logical': {
      const lhs = m(e.lhs);
      const rhs = m(e.rhs);
      out = lhs === e.lhs && rhs === e.rhs ? e : { ...e, lhs, rhs };
      break;
    }
    case 'call': {
      const args = e.args.map(m);
      out = same(args, e.args) ? e : { ...e, args };
      break;
    }
    case 'select': {
      const cond = m(e.cond);
      const then = m(e.then);
      const els = m(e.else);
      out =
        cond === e.cond && then === e.then && els === e.else
          ? e
          : { kind: 'select', cond, then, else: els };
      break;
    }
    default:
      return assertNever(e, 'expression');
  }
  return f(out);
}

/** An integer expression used as a value: a literal when it folds to a constant. */
export function intValue(value: Affine): Expr {
  return affine.isConstant(value)
    ? { kind: 'literal', value: value.constant }
    : { kind: 'int', value };
}

/** Replaces indices in every index expression inside `e`. */
export function substituteInExpr(e: Expr, subst: ReadonlyMap<IndexName, Affine>): Expr {
  return mapExpr(e, undefined, (a) => affine.substituteIndices(a, subst));
}

/** Every tensor `e` reads, in value position or inside index expressions. */
export function tensorsRead(e: Expr): Set<TensorName> {
  const out = new Set<TensorName>();
  forEachExpr(e, (x) => {
    if (x.kind === 'read') out.add(x.tensor);
  });
  for (const atom of atomsOfExpr(e)) if (atom.kind === 'read') out.add(atom.tensor);
  return out;
}

/** Every index `e` uses. */
export function indicesOfExpr(e: Expr): Set<IndexName> {
  const out = new Set<IndexName>();
  for (const a of affinesOf(e)) for (const i of indicesOf(a)) out.add(i);
  return out;
}

/** The expressions of a statement: body, filter, and a recurrence's init. */
export function statementExprs(s: Statement): Expr[] {
  const out = [s.body];
  if (s.filter) out.push(s.filter);
  if (s.kind === 'recurrence') out.push(s.init);
  return out;
}

/** The tensors a statement reads (a recurrence's own target included). */
export function statementReads(s: Statement): Set<TensorName> {
  const out = new Set<TensorName>();
  for (const e of statementExprs(s)) for (const t of tensorsRead(e)) out.add(t);
  return out;
}

/**
 * The shape of every tensor of the program, as extents. An input's dimensions are the extents of
 * its declared indices; an equation's are those of its left-hand indices; a recurrence's step
 * axis has one more position than its step index (steps 0..S).
 */
export function tensorShapes(program: Program): Map<TensorName, readonly Affine[]> {
  const shapes = new Map<TensorName, readonly Affine[]>();
  for (const input of program.inputs)
    shapes.set(
      input.name,
      input.indices.map((i) => affine.symbol(extentName(i))),
    );
  for (const s of program.body) {
    shapes.set(
      s.target,
      s.indices.map((i, axis) => {
        const extent = affine.symbol(extentName(i));
        return s.kind === 'recurrence' && axis === s.axis
          ? affine.add(extent, affine.constant(1))
          : extent;
      }),
    );
  }
  return shapes;
}

/** The statement defining `tensor`, if any. */
export function definitionOf(program: Program, tensor: TensorName): Statement | undefined {
  return program.body.find((s) => s.target === tensor);
}

export { mapAtoms };
