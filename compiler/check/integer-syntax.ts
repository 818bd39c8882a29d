/**
 * Integer or not, from syntax and declarations alone. A comparison of two integer operands is an
 * integer comparison (floor division inside, `p / W == m / W`), so this must be known before its
 * operands are converted; consts and i32 params are classified the same way.
 */
import type * as ast from '../../grammar/ast.ts';
import type { ExprContext } from './exprs.ts';

/**
 * Whether `e` is integer-typed, judged from syntax and declarations alone (no diagnostics):
 * decides whether a comparison is integer or real before converting its operands.
 */
export function isIntegerSyntax(e: ast.Expr, ctx: ExprContext): boolean {
  const { scope } = ctx;
  switch (e.kind) {
    case 'number':
      return e.isInteger;
    case 'name': {
      const n = e.name.text;
      const param = scope.params.get(n);
      if (param) return param.type === 'i32';
      if (scope.consts.has(n)) return scope.constTypes.get(n) === 'i32';
      return scope.extents.has(n) || scope.indices.has(n);
    }
    case 'access':
      return scope.tensors.get(e.tensor.text)?.dtype === 'i32';
    case 'call':
      return (
        (e.callee.text === 'min' || e.callee.text === 'max') &&
        e.args.every((a) => isIntegerSyntax(a, ctx))
      );
    case 'paren':
      return isIntegerSyntax(e.inner, ctx);
    case 'unary':
      return e.op === '-' && isIntegerSyntax(e.operand, ctx);
    case 'binary':
      return (
        ['+', '-', '*', '/', '%'].includes(e.op) &&
        isIntegerSyntax(e.left, ctx) &&
        isIntegerSyntax(e.right, ctx)
      );
    default:
      return false;
  }
}
