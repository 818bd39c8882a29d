/**
 * Consts and params. A const is an integer or boolean fixed once the shapes are known (it may
 * use extents and earlier consts, never params); a param is a run-time scalar whose default may
 * use extents and consts (`param scale: f32 = rsqrt(E)`).
 */
import type * as ast from '../../grammar/ast.ts';
import type { ConstDecl, Expr, ParamDecl } from '../ir.ts';
import { convertValue, convertIndex, type ExprContext } from './exprs.ts';
import { isIntegerSyntax } from './integer-syntax.ts';
import type { BlockScope } from './scope.ts';
import { stableTopologicalOrder } from './order.ts';

/** Names (params, consts, extents) a declaration's value mentions. */
function namesIn(e: ast.Expr, out: Set<string> = new Set()): Set<string> {
  switch (e.kind) {
    case 'name':
      out.add(e.name.text);
      break;
    case 'access':
      e.subscripts.forEach((s) => namesIn(s, out));
      break;
    case 'call':
    case 'macro':
      e.args.forEach((a) => namesIn(a, out));
      break;
    case 'unary':
      namesIn(e.operand, out);
      break;
    case 'binary':
      namesIn(e.left, out);
      namesIn(e.right, out);
      break;
    case 'reduction':
      namesIn(e.body, out);
      break;
    case 'paren':
      namesIn(e.inner, out);
      break;
    default:
      break;
  }
  return out;
}

/** Checks every const in dependency order; returns the IR declarations (without extent aliases). */
export function checkConsts(scope: BlockScope): ConstDecl[] {
  const decls = [...scope.consts.values()];
  const order = stableTopologicalOrder(
    decls.map((d) => d.name.text),
    (name) =>
      [...namesIn(scope.consts.get(name)!.value)].filter((n) => scope.consts.has(n) && n !== name),
    (name) => [...namesIn(scope.consts.get(name)!.value)].includes(name),
  );
  if (order.cycle) {
    const first = scope.consts.get(order.cycle[0])!;
    scope.bag.report('E402', first.name.span, [order.cycle.map((n) => `\`${n}\``).join(' uses ')], {
      hint: 'a const may use extents and earlier consts, not itself',
    });
    return [];
  }
  const out: ConstDecl[] = [];
  const ctx: ExprContext = { scope, indices: null, allowParams: false, where: 'a const' };
  for (const name of order.order) {
    const decl = scope.consts.get(name)!;
    if (isIntegerSyntax(decl.value, ctx)) {
      const value = convertIndex(decl.value, ctx);
      if (!value) continue;
      scope.constTypes.set(name, 'i32');
      scope.constValues.set(name, value);
      out.push({ name, type: 'i32', value, origin: decl.span });
      continue;
    }
    const t = convertValue(decl.value, ctx);
    if (!t) continue;
    if (t.type === 'bool') {
      scope.constTypes.set(name, 'bool');
      out.push({ name, type: 'bool', value: t.value, origin: decl.span });
    } else {
      scope.bag.report('E304', decl.value.span, [name]);
    }
  }
  return out;
}

const TYPE_WORDS = { int: 'an integer', real: 'a real number', bool: 'a boolean' } as const;

export function checkParams(scope: BlockScope): ParamDecl[] {
  const out: ParamDecl[] = [];
  const ctx: ExprContext = { scope, indices: null, allowParams: false, where: 'a param default' };
  for (const [name, { decl, type }] of scope.params) {
    if (scope.failed.has(name)) continue; // unknown type: its default cannot be judged
    let value: Expr | null = null;
    if (type === 'i32') {
      if (isIntegerSyntax(decl.value, ctx)) {
        const a = convertIndex(decl.value, ctx);
        value = a ? { kind: 'int', value: a } : null;
        if (a && a.terms.length === 0) value = { kind: 'literal', value: a.constant };
      } else {
        const t = convertValue(decl.value, ctx);
        if (t) scope.bag.report('E305', decl.value.span, [name, TYPE_WORDS[t.type], type]);
      }
    } else {
      const t = convertValue(decl.value, ctx);
      if (!t) continue;
      const want = type === 'bool' ? 'bool' : 'real';
      const got = t.type === 'int' ? 'real' : t.type;
      if (got !== want) {
        scope.bag.report('E305', decl.value.span, [name, TYPE_WORDS[t.type], type]);
        continue;
      }
      value =
        t.type === 'int'
          ? t.value.terms.length === 0
            ? { kind: 'literal', value: t.value.constant }
            : { kind: 'int', value: t.value }
          : t.value;
    }
    if (value) out.push({ name, type, default: value, origin: decl.span });
  }
  return out;
}
