/**
 * Interval reasoning for fused kernels, emitted as run-time code: a workgroup knows the ranges
 * of its rows (`p ∈ [p0, p1]`, `hq ∈ [h0, h1]`) and of the keys of a chunk, so it can decide a
 * filter for the whole box at once:
 *
 *  - `decide(F)` gives two conditions, "F holds at every point" and "F fails at every point"
 *    (both false when unknown). A tile whose filter fails everywhere is skipped; a chunk whose
 *    per-key visibility holds everywhere is *full* and evaluates no per-key predicate.
 *  - `tileRange(F, m1)` gives key tiles `[lo, hi]` outside which F fails for every row, the
 *    workgroup's loop bounds.
 *
 * The rules, one per case (an affine expression's range is the sum of its terms' ranges, the
 * coefficient's sign choosing the end):
 *   index in the box       → its range; an index bound to one value (a fixed row) → that value
 *   extent, const, i32 param → its value (a uniform)
 *   a / k, k > 0 literal   → [lo / k, hi / k] (floor division is monotone)
 *   min(..), max(..)       → elementwise
 *   anything else          → unknown (a tensor read, a product of indices, a modulo)
 *   d ≤ 0 everywhere       ⇔ max(d) ≤ 0;  nowhere ⇔ min(d) > 0   (and so on for < ≥ > == !=)
 *   bool param or const    → its value; `&&`, `||`, `!` combine the two conditions
 * For loop bounds the filter is put in negation normal form, then
 *   c·m1 + r ≤ t (c > 0)   → m1 ≤ floor((t − min r) / c);  c < 0 → m1 ≥ −floor((t − min r) / |c|)
 *   a && b → intersection;  a || b → hull;  no m1 → everything, or nothing when it fails
 *   everywhere;  anything else → everything.
 * Every answer errs on the safe side: a tile outside the bounds, or a skipped one, has no point
 * where the filter holds, and "unknown" never skips or marks full.
 */
import * as A from '../../compiler/affine.ts';
import type { Affine, Atom, CompareOp, Expr, IndexName } from '../../compiler/ir.ts';
import { indicesOfExpr } from '../../compiler/ir-walk.ts';
import { pushNegations } from '../../compiler/passes/relax.ts';
import { bin, i32, lowerExpr, uniform, type Block } from './lower-expr.ts';
import { mangle } from './names.ts';
import type { KExpr } from './plan.ts';

export interface Range {
  readonly lo: KExpr;
  readonly hi: KExpr;
}

/** The box: a range for each index that varies over it (others take their bound value). */
export type Box = ReadonlyMap<IndexName, Range>;

export interface Decision {
  /** The filter holds at every point of the box. */
  readonly all: KExpr;
  /** The filter holds at no point of the box. */
  readonly none: KExpr;
}

const TRUE: KExpr = { kind: 'bool', value: true };
const FALSE: KExpr = { kind: 'bool', value: false };
const isBool = (e: KExpr, v: boolean) => e.kind === 'bool' && e.value === v;

export function kAnd(a: KExpr, b: KExpr): KExpr {
  if (isBool(a, false) || isBool(b, false)) return FALSE;
  if (isBool(a, true)) return b;
  if (isBool(b, true)) return a;
  return bin('&&', a, b);
}

export function kOr(a: KExpr, b: KExpr): KExpr {
  if (isBool(a, true) || isBool(b, true)) return TRUE;
  if (isBool(a, false)) return b;
  if (isBool(b, false)) return a;
  return bin('||', a, b);
}

export function kNot(a: KExpr): KExpr {
  if (a.kind === 'bool') return { kind: 'bool', value: !a.value };
  return { kind: 'unary', op: '!', arg: a };
}

const call = (fn: 'min' | 'max', x: KExpr, y: KExpr): KExpr => ({ kind: 'call', fn, args: [x, y] });
const UNKNOWN: Decision = { all: FALSE, none: FALSE };

function atomRange(atom: Atom, box: Box, b: Block): Range | null {
  switch (atom.kind) {
    case 'index': {
      const r = box.get(atom.name);
      if (r) return r;
      const v = b.scope.indexValues.get(atom.name);
      return v ? { lo: v, hi: v } : null;
    }
    case 'symbol': {
      const v = uniform(mangle('symbol', atom.name));
      return { lo: v, hi: v };
    }
    case 'floordiv': {
      if (!A.isConstant(atom.den) || atom.den.constant <= 0) return null;
      const num = affineRange(atom.num, box, b);
      if (!num) return null;
      const d = i32(atom.den.constant);
      return { lo: b.call('attn_floor_div', num.lo, d), hi: b.call('attn_floor_div', num.hi, d) };
    }
    case 'min':
    case 'max': {
      const args = atom.args.map((x) => affineRange(x, box, b));
      if (args.some((x) => x === null)) return null;
      const rs = args as Range[];
      return {
        lo: rs.map((r) => r.lo).reduce((x, y) => call(atom.kind, x, y)),
        hi: rs.map((r) => r.hi).reduce((x, y) => call(atom.kind, x, y)),
      };
    }
    default:
      return null;
  }
}

/** The range of an integer expression over the box, or null when unknown. */
export function affineRange(a: Affine, box: Box, b: Block): Range | null {
  let lo: KExpr = i32(a.constant);
  let hi: KExpr = i32(a.constant);
  for (const t of a.terms) {
    const r = atomRange(t.atom, box, b);
    if (!r) return null;
    const [l, h] = t.coeff > 0 ? [r.lo, r.hi] : [r.hi, r.lo];
    const scale = (x: KExpr) => (t.coeff === 1 ? x : bin('*', i32(t.coeff), x));
    lo = bin('+', lo, scale(l));
    hi = bin('+', hi, scale(h));
  }
  return { lo: b.bind(lo, 'x'), hi: b.bind(hi, 'x') };
}

function decideCompare(op: CompareOp, d: Range): Decision {
  switch (op) {
    case '<':
      return { all: bin('<', d.hi, i32(0)), none: bin('>=', d.lo, i32(0)) };
    case '<=':
      return { all: bin('<=', d.hi, i32(0)), none: bin('>', d.lo, i32(0)) };
    case '>':
      return { all: bin('>', d.lo, i32(0)), none: bin('<=', d.hi, i32(0)) };
    case '>=':
      return { all: bin('>=', d.lo, i32(0)), none: bin('<', d.hi, i32(0)) };
    case '==':
      return {
        all: bin('&&', bin('==', d.lo, i32(0)), bin('==', d.hi, i32(0))),
        none: bin('||', bin('>', d.lo, i32(0)), bin('<', d.hi, i32(0))),
      };
    case '!=': {
      const eq = decideCompare('==', d);
      return { all: eq.none, none: eq.all };
    }
  }
}

/** Whether `decide` can answer `e` exactly from the box alone (no reads, no unknown atoms). */
export function decidable(e: Expr): boolean {
  switch (e.kind) {
    case 'bool':
    case 'const':
      return true;
    case 'param':
      return true;
    case 'not':
      return decidable(e.arg);
    case 'logical':
      return decidable(e.lhs) && decidable(e.rhs);
    case 'icompare':
      return [e.lhs, e.rhs].every(knownAffine);
    default:
      return false;
  }
}

function knownAffine(a: Affine): boolean {
  return a.terms.every(({ atom }) => {
    if (atom.kind === 'index' || atom.kind === 'symbol') return true;
    if (atom.kind === 'floordiv')
      return A.isConstant(atom.den) && atom.den.constant > 0 && knownAffine(atom.num);
    if (atom.kind === 'min' || atom.kind === 'max') return atom.args.every(knownAffine);
    return false;
  });
}

/** A boolean filter over the box (see the file header). `e` must be boolean. */
export function decide(e: Expr, box: Box, b: Block): Decision {
  switch (e.kind) {
    case 'bool':
      return { all: { kind: 'bool', value: e.value }, none: { kind: 'bool', value: !e.value } };
    case 'param':
    case 'const': {
      const v = b.bind(lowerExpr(e, b).value, 'x');
      return { all: v, none: kNot(v) };
    }
    case 'not': {
      const d = decide(e.arg, box, b);
      return { all: d.none, none: d.all };
    }
    case 'logical': {
      const l = decide(e.lhs, box, b);
      const r = decide(e.rhs, box, b);
      return e.op === '&&'
        ? { all: kAnd(l.all, r.all), none: kOr(l.none, r.none) }
        : { all: kOr(l.all, r.all), none: kAnd(l.none, r.none) };
    }
    case 'icompare': {
      const d = affineRange(A.sub(e.lhs, e.rhs), box, b);
      return d ? decideCompare(e.op, d) : UNKNOWN;
    }
    default:
      return UNKNOWN;
  }
}

/** The key tiles `[lo, hi]` (not clamped) outside which `filter` fails for every row. */
export function tileRange(filter: Expr, m1: IndexName, tiles: KExpr, box: Box, b: Block): Range {
  const all: Range = { lo: i32(0), hi: bin('-', tiles, i32(1)) };
  const go = (e: Expr): Range => {
    if (e.kind === 'logical') {
      const l = go(e.lhs);
      const r = go(e.rhs);
      return e.op === '&&'
        ? { lo: call('max', l.lo, r.lo), hi: call('min', l.hi, r.hi) }
        : { lo: call('min', l.lo, r.lo), hi: call('max', l.hi, r.hi) };
    }
    if (!indicesOfExpr(e).has(m1)) {
      const none = b.bind(decide(e, box, b).none, 'x');
      if (isBool(none, false)) return all;
      return {
        lo: { kind: 'select', cond: none, ifTrue: tiles, ifFalse: i32(0) },
        hi: { kind: 'select', cond: none, ifTrue: i32(-1), ifFalse: all.hi },
      };
    }
    if (e.kind !== 'icompare') return all;
    const d = A.sub(e.lhs, e.rhs);
    const term = d.terms.find((t) => t.atom.kind === 'index' && t.atom.name === m1);
    if (!term) return all;
    const rest = A.sub(d, A.scale(A.index(m1), term.coeff));
    if (A.indicesOf(rest).has(m1)) return all;
    // c·m1 + rest ≤ t for some row  ⇔  c·m1 ≤ t − min(rest).
    const upTo = (c: number, r: Range | null, t: number): Range => {
      if (!r) return all;
      const slack = bin('-', i32(t), r.lo);
      const q = b.call('attn_floor_div', slack, i32(Math.abs(c)));
      return c > 0 ? { lo: i32(0), hi: q } : { lo: { kind: 'unary', op: '-', arg: q }, hi: all.hi };
    };
    const pos = () => upTo(term.coeff, affineRange(rest, box, b), 0);
    const neg = () => upTo(-term.coeff, affineRange(A.neg(rest), box, b), 0);
    const strict = (c: number, r: Range | null) => upTo(c, r, -1);
    switch (e.op) {
      case '<=':
        return pos();
      case '<':
        return strict(term.coeff, affineRange(rest, box, b));
      case '>=':
        return neg();
      case '>':
        return strict(-term.coeff, affineRange(A.neg(rest), box, b));
      case '==': {
        const l = pos();
        const r = neg();
        return { lo: call('max', l.lo, r.lo), hi: call('min', l.hi, r.hi) };
      }
      case '!=':
        return all;
    }
  };
  const r = go(pushNegations(filter));
  return { lo: b.bind(r.lo, 'x'), hi: b.bind(r.hi, 'x') };
}
