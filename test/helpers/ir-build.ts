/**
 * Terse constructors for hand-built IR in tests (tests that must not depend on the parser and
 * checker). Production code builds IR through the checker.
 */
import * as A from '../../compiler/affine.ts';
import { NO_SPAN } from '../../compiler/diagnostics/source.ts';
import type {
  Affine,
  ArithmeticOp,
  CompareOp,
  ConstDecl,
  DType,
  ElementwiseFn,
  Equation,
  Expr,
  IndexName,
  InputDecl,
  ParamDecl,
  ParamType,
  Program,
  Recurrence,
  Reduction,
  Statement,
  TensorName,
} from '../../compiler/ir.ts';
import { EMPTY_SCHEDULE, extentName } from '../../compiler/ir.ts';
import { statementExprs, affinesOf } from '../../compiler/ir-walk.ts';

type Sub = Affine | string | number;

/** A subscript: an index name, an integer literal, or an Affine built with `A.*`. */
export function sub(x: Sub): Affine {
  if (typeof x === 'number') return A.constant(x);
  if (typeof x === 'string') return /^[A-Z]/.test(x) ? A.symbol(x) : A.index(x);
  return x;
}

export const lit = (value: number): Expr => ({ kind: 'literal', value });
export const bool = (value: boolean): Expr => ({ kind: 'bool', value });
export const int = (x: Sub): Expr => ({ kind: 'int', value: sub(x) });
export const param = (name: string): Expr => ({ kind: 'param', name });
export const boolConst = (name: string): Expr => ({ kind: 'const', name });
export const read = (tensor: string, ...at: Sub[]): Expr => ({
  kind: 'read',
  tensor: tensor as TensorName,
  at: at.map(sub),
});
export const neg = (arg: Expr): Expr => ({ kind: 'neg', arg });
export const not = (arg: Expr): Expr => ({ kind: 'not', arg });
export const arith = (op: ArithmeticOp, lhs: Expr, rhs: Expr): Expr => ({
  kind: 'arith',
  op,
  lhs,
  rhs,
});
export const add = (l: Expr, r: Expr) => arith('+', l, r);
export const subtract = (l: Expr, r: Expr) => arith('-', l, r);
export const mul = (l: Expr, r: Expr) => arith('*', l, r);
export const div = (l: Expr, r: Expr) => arith('/', l, r);
export const cmp = (op: CompareOp, lhs: Expr, rhs: Expr): Expr => ({
  kind: 'compare',
  op,
  lhs,
  rhs,
});
export const icmp = (op: CompareOp, lhs: Sub, rhs: Sub): Expr => ({
  kind: 'icompare',
  op,
  lhs: sub(lhs),
  rhs: sub(rhs),
});
export const and = (lhs: Expr, rhs: Expr): Expr => ({ kind: 'logical', op: '&&', lhs, rhs });
export const or = (lhs: Expr, rhs: Expr): Expr => ({ kind: 'logical', op: '||', lhs, rhs });
export const call = (fn: ElementwiseFn, ...args: Expr[]): Expr => ({ kind: 'call', fn, args });
export const select = (cond: Expr, then: Expr, els: Expr): Expr => ({
  kind: 'select',
  cond,
  then,
  else: els,
});

export function input(name: string, indices: string[], dtype: DType = 'f32'): InputDecl {
  return { name: name as TensorName, dtype, indices: indices as IndexName[], origin: NO_SPAN };
}

export function paramDecl(name: string, type: ParamType, dflt: Expr): ParamDecl {
  return { name, type, default: dflt, origin: NO_SPAN };
}

export function intConst(name: string, value: Sub): ConstDecl {
  return { name, type: 'i32', value: sub(value), origin: NO_SPAN };
}

export function eq(
  target: string,
  indices: string[],
  body: Expr,
  opts: { reduce?: Reduction['op']; over?: string[]; filter?: Expr } = {},
): Equation {
  return {
    kind: 'equation',
    target: target as TensorName,
    indices: indices as IndexName[],
    reduce: opts.over ? { op: opts.reduce ?? 'sum', over: opts.over as IndexName[] } : null,
    filter: opts.filter ?? null,
    body,
    origin: NO_SPAN,
  };
}

export function rec(
  target: string,
  indices: string[],
  axis: number,
  init: Expr,
  body: Expr,
  opts: { reduce?: Reduction['op']; over?: string[]; filter?: Expr } = {},
): Recurrence {
  return {
    kind: 'recurrence',
    target: target as TensorName,
    indices: indices as IndexName[],
    axis,
    init,
    reduce: opts.over ? { op: opts.reduce ?? 'sum', over: opts.over as IndexName[] } : null,
    filter: opts.filter ?? null,
    body,
    origin: NO_SPAN,
    initOrigin: NO_SPAN,
  };
}

/** A program; `indices` is derived from every index mentioned. */
export function program(
  parts: {
    inputs: InputDecl[];
    body: Statement[];
    outputs: string[];
    params?: ParamDecl[];
    consts?: ConstDecl[];
  },
  name = 'test',
): Program {
  const names = new Set<string>();
  for (const i of parts.inputs) i.indices.forEach((x) => names.add(x));
  for (const s of parts.body) {
    s.indices.forEach((x) => names.add(x));
    s.reduce?.over.forEach((x) => names.add(x));
    for (const e of statementExprs(s))
      for (const a of affinesOf(e)) for (const x of A.indicesOf(a)) names.add(x);
  }
  return {
    name,
    file: `${name}.attn`,
    inputs: parts.inputs,
    params: parts.params ?? [],
    consts: parts.consts ?? [],
    indices: [...names].sort().map((n) => ({ name: n as IndexName, extent: extentName(n) })),
    body: parts.body,
    outputs: parts.outputs as TensorName[],
    schedule: EMPTY_SCHEDULE,
    origin: NO_SPAN,
  };
}

export { A };
