/**
 * Constructors for value expressions, used by passes that synthesise IR. Index expressions come
 * from `affine.ts`; these keep the shapes of `Expr` nodes in one place.
 */
import * as A from './affine.ts';
import type { Affine, CompareOp, ElementwiseFn, Expr, IndexName, TensorName } from './ir.ts';

export const literal = (value: number): Expr => ({ kind: 'literal', value });
export const read = (tensor: string, at: readonly Affine[]): Expr => ({
  kind: 'read',
  tensor: tensor as TensorName,
  at,
});
export const readAt = (tensor: string, indices: readonly string[]): Expr =>
  read(
    tensor,
    indices.map((i) => A.index(i)),
  );
export const call = (fn: ElementwiseFn, ...args: Expr[]): Expr => ({ kind: 'call', fn, args });
export const arith = (op: '+' | '-' | '*' | '/', lhs: Expr, rhs: Expr): Expr => ({
  kind: 'arith',
  op,
  lhs,
  rhs,
});
export const compare = (op: CompareOp, lhs: Expr, rhs: Expr): Expr => ({
  kind: 'compare',
  op,
  lhs,
  rhs,
});
export const icompare = (op: CompareOp, lhs: Affine, rhs: Affine): Expr => ({
  kind: 'icompare',
  op,
  lhs,
  rhs,
});
export const select = (cond: Expr, then: Expr, els: Expr): Expr => ({
  kind: 'select',
  cond,
  then,
  else: els,
});
export const and = (lhs: Expr, rhs: Expr): Expr => ({ kind: 'logical', op: '&&', lhs, rhs });
export const or = (lhs: Expr, rhs: Expr): Expr => ({ kind: 'logical', op: '||', lhs, rhs });
export const not = (arg: Expr): Expr => ({ kind: 'not', arg });
export const TRUE: Expr = { kind: 'bool', value: true };

/** `a && b`, dropping a missing side. */
export function conjoin(a: Expr | null, b: Expr | null): Expr | null {
  if (!a) return b;
  if (!b) return a;
  return and(a, b);
}

/** The conjuncts of `e` (`a && b && c` → [a, b, c]). */
export function conjuncts(e: Expr | null): Expr[] {
  if (!e) return [];
  if (e.kind === 'logical' && e.op === '&&') return [...conjuncts(e.lhs), ...conjuncts(e.rhs)];
  return [e];
}

/** Indices as affine subscripts. */
export const at = (indices: readonly (IndexName | string)[]): Affine[] =>
  indices.map((i) => A.index(i));
