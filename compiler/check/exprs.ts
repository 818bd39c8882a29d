/**
 * Expressions: AST → typed IR. Every expression has one of three types:
 *  - `int`: an integer index expression (`Affine`): indices, extents, integer consts and
 *    params, integer literals, i32 tensor reads, and `+ - * / % min max` of those;
 *  - `real`: an f32 value (`Expr`);
 *  - `bool`: a condition (`Expr`).
 * In an index context (subscripts, consts, i32 params) `/` is floor division. In a value context
 * it is real division, so an integer sub-expression is kept integer only through `+ - * % min
 * max`, then converted to real once (`int` node). A comparison of two integer operands is an
 * integer comparison (`icompare`), whatever the context.
 */
import * as A from '../affine.ts';
import type * as ast from '../../grammar/ast.ts';
import type { Span } from '../diagnostics/source.ts';
import {
  ELEMENTWISE_FUNCTIONS,
  type Affine,
  type CompareOp,
  type ElementwiseFn,
  type Expr,
  type TensorName,
} from '../ir.ts';
import { intValue } from '../ir-walk.ts';
import { isIntegerSyntax } from './integer-syntax.ts';
import { closest, convertName } from './names.ts';
import type { BlockScope } from './scope.ts';

export type Typed =
  | { readonly type: 'int'; readonly value: Affine }
  | { readonly type: 'real'; readonly value: Expr }
  | { readonly type: 'bool'; readonly value: Expr };

/** A tensor read as the checker saw it, for extent and recurrence checks. */
export interface ReadSite {
  readonly tensor: string;
  readonly subscripts: readonly Affine[];
  readonly nodes: readonly ast.Expr[];
  readonly span: Span;
}

export interface ExprContext {
  readonly scope: BlockScope;
  /** The indices that may appear here; `null` where none may (consts, params). */
  readonly indices: ReadonlySet<string> | null;
  /** Where params may be used (not in consts). */
  readonly allowParams: boolean;
  /** Called for every tensor read, after its subscripts are converted. */
  readonly onRead?: (site: ReadSite) => void;
  /** What a use of a name that is not allowed here is reported as. */
  readonly where: string;
}

type Mode = 'index' | 'value';

/** Converts in a value context; the result is real, bool, or int (not yet promoted). */
export function convertValue(e: ast.Expr, ctx: ExprContext): Typed | null {
  return convert(e, ctx, 'value');
}

/** Converts in an index context: the result must be an integer (E306 otherwise). */
export function convertIndex(e: ast.Expr, ctx: ExprContext): Affine | null {
  const t = convert(e, ctx, 'index');
  if (!t) return null;
  if (t.type === 'int') return t.value;
  if (t.type === 'bool') ctx.scope.bag.report('E301', e.span);
  else ctx.scope.bag.report('E306', e.span, [describe(e)]);
  return null;
}

/** A real value (ints promoted); E301 for a boolean. */
export function convertReal(e: ast.Expr, ctx: ExprContext): Expr | null {
  const t = convert(e, ctx, 'value');
  return t ? asReal(t, e, ctx) : null;
}

/** A condition; E302 for a number. */
export function convertBool(e: ast.Expr, ctx: ExprContext): Expr | null {
  const t = convert(e, ctx, 'value');
  if (!t) return null;
  if (t.type === 'bool') return t.value;
  ctx.scope.bag.report('E302', e.span, [], maskHint(e, ctx.scope));
  return null;
}

/** A read of a number tensor used as a condition is usually a mask declared without `: bool`. */
function maskHint(e: ast.Expr, scope: BlockScope): { hint?: string } {
  const input = e.kind === 'access' ? scope.inputs.get(e.tensor.text) : undefined;
  if (!input) return {};
  const name = input.name.text;
  const dims = input.indices.map((i) => i.text).join(', ');
  return {
    hint: `declare a mask as \`input ${name}[${dims}]: bool\`, or compare the value: \`${name}[...] > 0\``,
  };
}

function asReal(t: Typed, e: ast.Expr, ctx: ExprContext): Expr | null {
  if (t.type === 'real') return t.value;
  if (t.type === 'int') return intValue(t.value);
  ctx.scope.bag.report('E301', e.span);
  return null;
}

function describe(e: ast.Expr): string {
  if (e.kind === 'number') return `\`${e.text}\``;
  if (e.kind === 'name') return `\`${e.name.text}\``;
  if (e.kind === 'access') return `\`${e.tensor.text}[...]\``;
  return 'this expression';
}

function convert(e: ast.Expr, ctx: ExprContext, mode: Mode): Typed | null {
  const { bag } = ctx.scope;
  switch (e.kind) {
    case 'number':
      if (e.isInteger && Number.isSafeInteger(e.value))
        return { type: 'int', value: A.constant(e.value) };
      return { type: 'real', value: { kind: 'literal', value: e.value } };
    case 'bool':
      return { type: 'bool', value: { kind: 'bool', value: e.value } };
    case 'name':
      return convertName(e.name, ctx);
    case 'access':
      return convertAccess(e, ctx);
    case 'call':
      return convertCall(e, ctx, mode);
    case 'paren':
      return convert(e.inner, ctx, mode);
    case 'unary':
      return convertUnary(e, ctx, mode);
    case 'binary':
      return convertBinary(e, ctx, mode);
    case 'reduction':
      bag.report('E209', e.reducerSpan, [e.reducer]);
      return null;
    case 'macro':
      bag.report('E209', e.callee.span, [e.callee.text], {
        hint: `write \`${e.callee.text}[...](...)\` as the whole right-hand side of its own equation`,
      });
      return null;
    case 'error':
      return null;
  }
}

function convertAccess(e: ast.TensorAccess, ctx: ExprContext): Typed | null {
  const { scope } = ctx;
  const name = e.tensor.text;
  const info = scope.tensors.get(name);
  if (info && scope.failed.has(name)) return null; // broken declaration; already reported
  if (!info) {
    const what = scope.params.has(name)
      ? 'a param'
      : scope.consts.has(name)
        ? 'a const'
        : scope.extents.has(name)
          ? 'an extent'
          : null;
    if (what && what !== 'an extent')
      scope.bag.report('E112', e.tensor.span, [name, what], {
        hint: `${what} is one value; write \`${name}\` without \`[...]\`, or declare \`input ${name}[...]\` for one value per element`,
      });
    else if (what) scope.bag.report('E112', e.tensor.span, [name, what]);
    else {
      const best = closest(name, scope.tensors.keys());
      scope.bag.report(
        'E101',
        e.tensor.span,
        [name],
        best ? { hint: `did you mean \`${best}\`?` } : {},
      );
    }
    return null;
  }
  if (ctx.indices === null) {
    scope.bag.report('E308', e.tensor.span, ['tensor', name, ctx.where], {
      hint: `${ctx.where} is fixed before any tensor is read; use \`${name}\` in an equation`,
    });
    return null;
  }
  if (e.subscripts.length !== info.dims.length) {
    const n = (k: number, what: string) => `${k} ${what}${k === 1 ? '' : 's'}`;
    const args = [name, n(info.dims.length, 'dimension'), n(e.subscripts.length, 'subscript')];
    scope.bag.report('E201', e.span, args, {
      related: [scope.bag.related(info.span, `\`${name}\` is declared here`)],
    });
    return null;
  }
  const at: Affine[] = [];
  for (const s of e.subscripts) {
    const a = convertIndex(s, ctx);
    if (!a) return null;
    at.push(a);
  }
  ctx.onRead?.({ tensor: name, subscripts: at, nodes: e.subscripts, span: e.span });
  const tensor = name as TensorName;
  if (info.dtype === 'i32') return { type: 'int', value: A.read(name, at) };
  if (info.dtype === 'bool') return { type: 'bool', value: { kind: 'read', tensor, at } };
  return { type: 'real', value: { kind: 'read', tensor, at } };
}

const REDUCTION_HINT = (fn: string) =>
  `a reduction names its indices in brackets, as the whole right-hand side: \`T[i] = ${fn}[j] X[i, j]\``;

function convertCall(e: ast.Call, ctx: ExprContext, mode: Mode): Typed | null {
  const { bag } = ctx.scope;
  const fn = e.callee.text;
  const arity = fn === 'select' ? 3 : (ELEMENTWISE_FUNCTIONS as Record<string, number>)[fn];
  if (arity === undefined) {
    const names = [...Object.keys(ELEMENTWISE_FUNCTIONS), 'select'];
    const best = closest(fn, names);
    const hint = fn === 'sum' ? REDUCTION_HINT('sum') : best ? `did you mean \`${best}\`?` : null;
    bag.report('E102', e.callee.span, [fn, names.join(' ')], hint ? { hint } : {});
    return null;
  }
  if (e.args.length !== arity) {
    // `max(X[i, j])` is a reduction written as a call.
    const reduction = (fn === 'min' || fn === 'max') && e.args.length === 1;
    const args = [fn, `${arity} argument${arity === 1 ? '' : 's'}`, e.args.length];
    bag.report('E303', e.span, args, reduction ? { hint: REDUCTION_HINT(fn) } : {});
    return null;
  }
  const args = e.args.map((a) => convert(a, ctx, mode));
  if (args.some((a) => a === null)) return null;
  const typed = args as Typed[];
  if (fn === 'select') return convertSelect(e, typed, ctx);
  if ((fn === 'min' || fn === 'max') && typed.every((a) => a.type === 'int')) {
    const ints = typed.map((a) => a.value as Affine);
    return { type: 'int', value: fn === 'min' ? A.min(ints) : A.max(ints) };
  }
  const reals = typed.map((a, i) => asReal(a, e.args[i], ctx));
  if (reals.some((r) => r === null)) return null;
  return { type: 'real', value: { kind: 'call', fn: fn as ElementwiseFn, args: reals as Expr[] } };
}

function convertSelect(e: ast.Call, [cond, a, b]: Typed[], ctx: ExprContext): Typed | null {
  if (cond.type !== 'bool') {
    ctx.scope.bag.report('E302', e.args[0].span, [], maskHint(e.args[0], ctx.scope));
    return null;
  }
  if (a.type === 'bool' && b.type === 'bool')
    return {
      type: 'bool',
      value: { kind: 'select', cond: cond.value, then: a.value, else: b.value },
    };
  const then = asReal(a, e.args[1], ctx);
  const els = asReal(b, e.args[2], ctx);
  if (!then || !els) return null;
  return { type: 'real', value: { kind: 'select', cond: cond.value, then, else: els } };
}

function convertUnary(e: ast.Unary, ctx: ExprContext, mode: Mode): Typed | null {
  const t = convert(e.operand, ctx, mode);
  if (!t) return null;
  if (e.op === '!') {
    if (t.type !== 'bool') {
      ctx.scope.bag.report('E302', e.operand.span, [], maskHint(e.operand, ctx.scope));
      return null;
    }
    return { type: 'bool', value: { kind: 'not', arg: t.value } };
  }
  if (t.type === 'int') return { type: 'int', value: A.neg(t.value) };
  if (t.type === 'bool') {
    ctx.scope.bag.report('E301', e.operand.span);
    return null;
  }
  // Fold `-literal` so that the printer's `-inf` and `-2.5` read back as the same literal.
  if (t.value.kind === 'literal')
    return { type: 'real', value: { kind: 'literal', value: -t.value.value } };
  return { type: 'real', value: { kind: 'neg', arg: t.value } };
}

const COMPARE_OPS: ReadonlySet<string> = new Set(['==', '!=', '<', '<=', '>', '>=']);

function convertBinary(e: ast.Binary, ctx: ExprContext, mode: Mode): Typed | null {
  const { bag } = ctx.scope;
  if (e.op === '&&' || e.op === '||') {
    const l = convertBool(e.left, ctx);
    const r = convertBool(e.right, ctx);
    return l && r ? { type: 'bool', value: { kind: 'logical', op: e.op, lhs: l, rhs: r } } : null;
  }
  if (COMPARE_OPS.has(e.op)) return convertCompare(e, ctx, mode);
  const l = convert(e.left, ctx, mode);
  const r = convert(e.right, ctx, mode);
  if (!l || !r) return null;
  if (l.type === 'bool' || r.type === 'bool') {
    bag.report('E301', (l.type === 'bool' ? e.left : e.right).span);
    return null;
  }
  if (l.type === 'int' && r.type === 'int') {
    switch (e.op) {
      case '+':
        return { type: 'int', value: A.add(l.value, r.value) };
      case '-':
        return { type: 'int', value: A.sub(l.value, r.value) };
      case '*':
        return { type: 'int', value: A.mul(l.value, r.value) };
      case '%':
      case '/':
        if (e.op === '/' && mode === 'value') break; // real division, below
        if (A.isConstant(r.value) && r.value.constant <= 0) {
          bag.report('E211', e.right.span, [
            r.value.constant,
            e.op === '/' ? 'division' : 'modulo',
          ]);
          return null;
        }
        return {
          type: 'int',
          value: e.op === '/' ? A.floorDiv(l.value, r.value) : A.mod(l.value, r.value),
        };
    }
  }
  if (e.op === '%') {
    const real = l.type === 'real' ? e.left : e.right;
    bag.report('E306', real.span, [describe(real)], {
      hint: '`%` is the floor modulo of integers',
    });
    return null;
  }
  if (mode === 'index') {
    const real = l.type === 'real' ? e.left : e.right;
    bag.report('E306', real.span, [describe(real)]);
    return null;
  }
  const lv = asReal(l, e.left, ctx);
  const rv = asReal(r, e.right, ctx);
  if (!lv || !rv) return null;
  return {
    type: 'real',
    value: { kind: 'arith', op: e.op as '+' | '-' | '*' | '/', lhs: lv, rhs: rv },
  };
}

function convertCompare(e: ast.Binary, ctx: ExprContext, mode: Mode): Typed | null {
  const op = e.op as CompareOp;
  // Both operands integer → integer comparison with floor division inside (`p / W == m / W`).
  if (isIntegerSyntax(e.left, ctx) && isIntegerSyntax(e.right, ctx)) {
    const l = convertIndex(e.left, ctx);
    const r = convertIndex(e.right, ctx);
    return l && r ? { type: 'bool', value: { kind: 'icompare', op, lhs: l, rhs: r } } : null;
  }
  const l = convert(e.left, ctx, mode === 'index' ? 'value' : mode);
  const r = convert(e.right, ctx, mode === 'index' ? 'value' : mode);
  if (!l || !r) return null;
  if (l.type === 'bool' || r.type === 'bool') {
    if (l.type === 'bool' && r.type === 'bool' && (op === '==' || op === '!=')) {
      // a == b on booleans: (a && b) || (!a && !b)
      const same: Expr = {
        kind: 'logical',
        op: '||',
        lhs: { kind: 'logical', op: '&&', lhs: l.value, rhs: r.value },
        rhs: {
          kind: 'logical',
          op: '&&',
          lhs: { kind: 'not', arg: l.value },
          rhs: { kind: 'not', arg: r.value },
        },
      };
      return { type: 'bool', value: op === '==' ? same : { kind: 'not', arg: same } };
    }
    ctx.scope.bag.report('E301', (l.type === 'bool' ? e.left : e.right).span);
    return null;
  }
  const lv = asReal(l, e.left, ctx)!;
  const rv = asReal(r, e.right, ctx)!;
  return { type: 'bool', value: { kind: 'compare', op, lhs: lv, rhs: rv } };
}
