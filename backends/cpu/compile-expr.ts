/**
 * IR expressions → JavaScript statements for the innermost body of a generated loop nest
 * (`codegen.ts` says why code is generated, `compile-stmt.ts` builds the loops around it).
 *
 * One `const` per IR node, every operation through `compiler/scalar.ts` (`FN`, `AR`, `CMP` in
 * the generated code), so the code stays a plain reference implementation.
 *
 * Absence (see `absent.ts`): every value is emitted inside a labelled block; an absent operand
 * emits `break <label>;`, which abandons the point. Only `select` evaluates conditionally, so a
 * `break` in its unchosen branch never runs.
 *
 * Types: booleans are JS booleans, reals and integers are JS numbers. Bool tensors store 0/1.
 */
import { InternalError, assertNever } from '../../compiler/diagnostics/diagnostic.ts';
import { ELEMENTWISE_FUNCTIONS } from '../../compiler/ir.ts';
import type { Affine, Atom, CompareOp, Expr, TensorName } from '../../compiler/ir.ts';
import { applyArithmetic, applyCompare, applyFunction } from '../../compiler/scalar.ts';
import { num, quoteOp, type CodeWriter, type Scope } from './codegen.ts';

const COMPARE_OPS: ReadonlySet<string> = new Set(['==', '!=', '<', '<=', '>', '>=']);
const ARITHMETIC_OPS: ReadonlySet<string> = new Set(['+', '-', '*', '/']);

// ── Types ────────────────────────────────────────────────────────────────────────────────

export type ValueType = 'real' | 'bool';

/** The type of `e` under the rules of `ir.ts` (what the checker guarantees). */
export function typeOf(e: Expr, scope: Scope): ValueType {
  switch (e.kind) {
    case 'literal':
    case 'int':
    case 'neg':
    case 'arith':
    case 'call':
      return 'real';
    case 'bool':
    case 'not':
    case 'compare':
    case 'icompare':
    case 'logical':
    case 'const':
      return 'bool';
    case 'param':
      return scope.binding.bools.has(e.name) ? 'bool' : 'real';
    case 'read':
      return scope.tensor(e.tensor).kind === 'bool' ? 'bool' : 'real';
    case 'select':
      return typeOf(e.then, scope);
    default:
      return assertNever(e, 'expression');
  }
}

// ── Values ───────────────────────────────────────────────────────────────────────────────

export interface Code {
  /** An atomic JS expression: a literal, a variable or a call. */
  readonly text: string;
  readonly type: ValueType;
  /** The value, when it is known while generating (literals, params, folded operations). */
  readonly value?: number | boolean;
}

/** A value known while generating: emitted as a literal, so loops do not recompute it. */
function known(value: number | boolean): Code {
  return typeof value === 'boolean'
    ? { text: String(value), type: 'bool', value }
    : { text: num(value), type: 'real', value };
}

/**
 * Emits the statements computing `e`; an absent operand breaks out of `label`. Operations on
 * known values are folded with the same `scalar.ts` functions the generated code calls, so
 * folding never changes a result (`rsqrt(E)` is then computed once, not per point).
 */
export function emitExpr(e: Expr, scope: Scope, w: CodeWriter, label: string): Code {
  const real = (x: Expr): Code => expect(emitExpr(x, scope, w, label), 'real', e.kind);
  const bool = (x: Expr): Code => expect(emitExpr(x, scope, w, label), 'bool', e.kind);
  switch (e.kind) {
    case 'literal':
    case 'bool':
      return known(e.value);
    case 'int': {
      const a = emitAffine(e.value, scope, w, label);
      return a.constant !== undefined ? known(a.constant) : { text: a.text, type: 'real' };
    }
    case 'param': {
      const value = scope.binding.reals.get(e.name) ?? scope.binding.bools.get(e.name);
      if (value === undefined) throw new InternalError(`param ${e.name} has no value`);
      return known(value);
    }
    case 'const': {
      const value = scope.binding.bools.get(e.name);
      if (value === undefined) throw new InternalError(`bool const ${e.name} has no value`);
      return known(value);
    }
    case 'read':
      return emitRead(e.tensor, e.at, 'value', scope, w, label);
    case 'neg': {
      const a = real(e.arg);
      return a.value !== undefined ? known(-a.value) : { text: w.let(`-${a.text}`), type: 'real' };
    }
    case 'not': {
      const a = bool(e.arg);
      return a.value !== undefined ? known(!a.value) : { text: w.let(`!${a.text}`), type: 'bool' };
    }
    case 'arith': {
      const [a, b] = [real(e.lhs), real(e.rhs)];
      const op = quoteOp(e.op, ARITHMETIC_OPS);
      if (a.value !== undefined && b.value !== undefined) {
        return known(applyArithmetic(e.op, a.value as number, b.value as number));
      }
      return { text: w.let(`AR(${op}, ${a.text}, ${b.text})`), type: 'real' };
    }
    case 'compare': {
      const [a, b] = [real(e.lhs), real(e.rhs)];
      return compare(e.op, a.value, b.value, a.text, b.text, w);
    }
    case 'icompare': {
      const a = emitAffine(e.lhs, scope, w, label);
      const b = emitAffine(e.rhs, scope, w, label);
      return compare(e.op, a.constant, b.constant, a.text, b.text, w);
    }
    case 'logical': {
      // Both operands are evaluated first: an absent one makes the whole expression absent.
      const [a, b] = [bool(e.lhs), bool(e.rhs)];
      if (e.op !== '&&' && e.op !== '||') throw new InternalError(`unknown logical ${e.op}`);
      if (a.value !== undefined && b.value !== undefined) {
        return known(e.op === '&&' ? a.value && b.value : a.value || b.value);
      }
      return { text: w.let(`${a.text} ${e.op} ${b.text}`), type: 'bool' };
    }
    case 'call': {
      if (!Object.hasOwn(ELEMENTWISE_FUNCTIONS, e.fn)) {
        throw new InternalError(`unknown function ${JSON.stringify(e.fn)}`);
      }
      const arity = ELEMENTWISE_FUNCTIONS[e.fn];
      if (e.args.length !== arity) {
        throw new InternalError(`${e.fn} takes ${arity} arguments, got ${e.args.length}`);
      }
      const args = e.args.map(real);
      if (args.every((x) => x.value !== undefined)) {
        return known(applyFunction(e.fn, ...(args.map((x) => x.value) as [number, number?])));
      }
      const text = `FN(${JSON.stringify(e.fn)}, ${args.map((x) => x.text).join(', ')})`;
      return { text: w.let(text), type: 'real' };
    }
    case 'select':
      return emitSelect(e, scope, w, label);
    default:
      return assertNever(e, 'expression');
  }
}

function expect(code: Code, type: ValueType, context: string): Code {
  if (code.type !== type) {
    throw new InternalError(`${context} expects a ${type} operand, got a ${code.type}`);
  }
  return code;
}

function compare(
  op: CompareOp,
  a: number | boolean | undefined,
  b: number | boolean | undefined,
  aText: string,
  bText: string,
  w: CodeWriter,
): Code {
  const quoted = quoteOp(op, COMPARE_OPS);
  if (a !== undefined && b !== undefined) return known(applyCompare(op, a as number, b as number));
  return { text: w.let(`CMP(${quoted}, ${aText}, ${bText})`), type: 'bool' };
}

/** Only the chosen branch is emitted into the taken path, so only it needs to be present. */
function emitSelect(
  e: Extract<Expr, { kind: 'select' }>,
  scope: Scope,
  w: CodeWriter,
  label: string,
): Code {
  const cond = expect(emitExpr(e.cond, scope, w, label), 'bool', 'select');
  if (typeOf(e.then, scope) !== typeOf(e.else, scope)) {
    throw new InternalError('select branches have different types');
  }
  if (cond.value !== undefined) return emitExpr(cond.value ? e.then : e.else, scope, w, label);
  const result = w.temp();
  w.line(`let ${result};`);
  w.open(`if (${cond.text})`);
  const then = emitExpr(e.then, scope, w, label);
  w.line(`${result} = ${then.text};`);
  w.close();
  w.open('else');
  const els = emitExpr(e.else, scope, w, label);
  w.line(`${result} = ${els.text};`);
  w.close();
  return { text: result, type: then.type };
}

/**
 * A tensor element. `value` reads are reals or booleans; `index` reads (inside an `Affine`)
 * must be of an i32 tensor. Out-of-range subscripts and absent elements break out of `label`.
 */
function emitRead(
  tensor: TensorName,
  at: readonly Affine[],
  use: 'value' | 'index',
  scope: Scope,
  w: CodeWriter,
  label: string,
): Code {
  const layout = scope.tensor(tensor);
  if (at.length !== layout.shape.length) {
    throw new InternalError(
      `${tensor} has rank ${layout.shape.length} but is read with ${at.length} subscripts`,
    );
  }
  if ((use === 'index') !== (layout.kind === 'int')) {
    throw new InternalError(
      `${tensor} (${layout.kind}) read as ${use === 'index' ? 'an index' : 'a value'}`,
    );
  }
  w.tensors.add(layout.id);
  let constantOffset = 0;
  const parts: string[] = [];
  at.forEach((subscript, axis) => {
    const s = emitAffine(subscript, scope, w, label);
    const dim = layout.shape[axis];
    if (s.hi < 0 || s.lo >= dim) w.line(`break ${label};`);
    else if (s.lo < 0 || s.hi >= dim) {
      const name = s.constant === undefined ? w.let(s.text) : s.text;
      w.line(`if (${name} < 0 || ${name} >= ${dim}) break ${label};`);
      parts.push(`${name} * ${layout.strides[axis]}`);
      return;
    }
    if (s.constant !== undefined) constantOffset += s.constant * layout.strides[axis];
    else parts.push(`${s.text} * ${layout.strides[axis]}`);
  });
  if (constantOffset !== 0 || parts.length === 0) parts.push(String(constantOffset));
  const offset = w.let(parts.join(' + '));
  if (!layout.fullyPresent) w.line(`if (p${layout.id}[${offset}] === 0) break ${label};`);
  const element = `v${layout.id}[${offset}]`;
  return layout.kind === 'bool'
    ? { text: w.let(`${element} !== 0`), type: 'bool' }
    : { text: w.let(element), type: 'real' };
}

// ── Index expressions ────────────────────────────────────────────────────────────────────

/**
 * An integer expression with what is known of its value at code-generation time: the exact
 * value when it is constant, and an inclusive range (±Infinity when unknown). The range lets
 * `emitRead` drop bounds checks that can never fail, e.g. a plain loop index.
 */
export interface IntCode {
  readonly text: string;
  readonly constant?: number;
  readonly lo: number;
  readonly hi: number;
}

const constantCode = (value: number): IntCode => ({
  text: num(value),
  constant: value,
  lo: value,
  hi: value,
});
const UNKNOWN = { lo: -Infinity, hi: Infinity };

/** `Σ coeff·atom + constant`, evaluated as `evaluateAffine` (compiler/affine.ts) does. */
export function emitAffine(a: Affine, scope: Scope, w: CodeWriter, label: string): IntCode {
  let total = a.constant;
  let lo = a.constant;
  let hi = a.constant;
  const parts: string[] = [];
  for (const term of a.terms) {
    if (term.coeff === 0) continue;
    const atom = emitAtom(term.atom, scope, w, label);
    if (atom.constant !== undefined) {
      total += term.coeff * atom.constant;
      lo += term.coeff * atom.constant;
      hi += term.coeff * atom.constant;
      continue;
    }
    parts.push(term.coeff === 1 ? atom.text : `${num(term.coeff)} * ${atom.text}`);
    lo += term.coeff > 0 ? term.coeff * atom.lo : term.coeff * atom.hi;
    hi += term.coeff > 0 ? term.coeff * atom.hi : term.coeff * atom.lo;
  }
  if (parts.length === 0) return constantCode(total);
  if (total !== 0) parts.push(num(total));
  return { text: parts.length === 1 ? parts[0] : `(${parts.join(' + ')})`, lo, hi };
}

function emitAtom(atom: Atom, scope: Scope, w: CodeWriter, label: string): IntCode {
  switch (atom.kind) {
    case 'index': {
      const loop = scope.loop(atom.name);
      if (!loop) throw new InternalError(`index ${atom.name} is not bound in this statement`);
      return { text: loop.variable, lo: 0, hi: loop.extent - 1 };
    }
    case 'symbol': {
      const value = scope.binding.symbols.get(atom.name);
      if (value === undefined) throw new InternalError(`symbol ${atom.name} has no value`);
      return constantCode(value);
    }
    case 'floordiv':
    case 'mod':
      return emitDivision(atom.kind, atom.num, atom.den, scope, w, label);
    case 'mul': {
      const factors = atom.factors.map((f) => emitAffine(f, scope, w, label));
      if (factors.every((f) => f.constant !== undefined)) {
        return constantCode(factors.reduce((p, f) => p * f.constant!, 1));
      }
      let range = { lo: 1, hi: 1 };
      for (const f of factors) range = multiplyRanges(range, f);
      return { text: `(${factors.map((f) => f.text).join(' * ')})`, ...range };
    }
    case 'min':
    case 'max': {
      const args = atom.args.map((x) => emitAffine(x, scope, w, label));
      const pick = atom.kind === 'min' ? Math.min : Math.max;
      if (args.every((x) => x.constant !== undefined)) {
        return constantCode(pick(...args.map((x) => x.constant!)));
      }
      const text = `Math.${atom.kind}(${args.map((x) => x.text).join(', ')})`;
      return { text, lo: pick(...args.map((x) => x.lo)), hi: pick(...args.map((x) => x.hi)) };
    }
    case 'read':
      return { text: emitRead(atom.tensor, atom.at, 'index', scope, w, label).text, ...UNKNOWN };
    default:
      return assertNever(atom, 'atom');
  }
}

/** Floor division and floor modulo; a divisor that is not positive reads absent. */
function emitDivision(
  kind: 'floordiv' | 'mod',
  numerator: Affine,
  denominator: Affine,
  scope: Scope,
  w: CodeWriter,
  label: string,
): IntCode {
  const n = emitAffine(numerator, scope, w, label);
  const d = emitAffine(denominator, scope, w, label);
  if (d.hi <= 0) {
    w.line(`break ${label};`);
    return constantCode(0);
  }
  if (d.constant === 1) return kind === 'floordiv' ? n : constantCode(0);
  if (n.constant !== undefined && d.constant !== undefined) {
    const q = Math.floor(n.constant / d.constant);
    return constantCode(kind === 'floordiv' ? q : n.constant - d.constant * q);
  }
  let den = d.text;
  if (d.lo <= 0) {
    den = w.let(d.text);
    w.line(`if (${den} <= 0) break ${label};`);
  }
  const dLo = Math.max(d.lo, 1);
  const numName = n.constant === undefined && kind === 'mod' ? w.let(n.text) : n.text;
  const quotient = `Math.floor(${numName} / ${den})`;
  if (kind === 'mod') return { text: `(${numName} - ${den} * ${quotient})`, lo: 0, hi: d.hi - 1 };
  if (![n.lo, n.hi, d.hi].every(Number.isFinite)) return { text: quotient, ...UNKNOWN };
  // floor(n / d) is monotone in n and in d (d > 0), so its extremes are at the corners.
  const corners = [n.lo / dLo, n.lo / d.hi, n.hi / dLo, n.hi / d.hi];
  return {
    text: quotient,
    lo: Math.floor(Math.min(...corners)),
    hi: Math.floor(Math.max(...corners)),
  };
}

function multiplyRanges(
  a: { lo: number; hi: number },
  b: { lo: number; hi: number },
): { lo: number; hi: number } {
  if (![a.lo, a.hi, b.lo, b.hi].every(Number.isFinite)) return UNKNOWN;
  const products = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi];
  return { lo: Math.min(...products), hi: Math.max(...products) };
}
