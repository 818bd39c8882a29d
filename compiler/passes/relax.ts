/**
 * Projection of a filter onto key tiles: from a condition on a key `m0` within a tile, a
 * condition on the tile alone that holds whenever *some* key of the tile passes,
 *
 *   relax(F) ⇐ ∃ m0 ∈ [0, size): F
 *
 * so a tile where `relax(F)` is false can be skipped. It is exact for one affine comparison and
 * for `||`, and an over-approximation for `&&` (each side may be met by a different key), which
 * only means visiting a tile that turns out empty. The rules, one per case:
 *
 *   F without m0                     → F                        (exact)
 *   a || b                           → relax(a) || relax(b)     (exact)
 *   a && b                           → relax(a) && relax(b)     (over-approximation)
 *   lhs ≤ rhs, lhs < rhs             → at the m0 that makes lhs − rhs smallest (exact)
 *   lhs ≥ rhs, lhs > rhs             → at the m0 that makes lhs − rhs largest (exact)
 *   lhs == rhs                       → lhs − rhs at the two ends straddle 0 (over-approximation)
 *   lhs != rhs, anything else on m0  → true, and the tile needs a block summary (see below)
 * where "m0 appears linearly" means as a term `c·m0` of the difference, not inside a division,
 * a modulo, a min/max or a tensor read. Negations are pushed inward first (`!(a <= b)` is
 * `a > b`). A condition that needs a summary is reported, so block-sparsity can compute it per
 * tile with a small kernel instead (a mask tensor, document ids).
 */
import * as A from '../affine.ts';
import type { Affine, CompareOp, Expr, IndexName } from '../ir.ts';
import { indicesOfExpr } from '../ir-walk.ts';
import { and, icompare, or, TRUE } from '../ir-make.ts';

const NEGATED: Record<CompareOp, CompareOp> = {
  '<': '>=',
  '<=': '>',
  '>': '<=',
  '>=': '<',
  '==': '!=',
  '!=': '==',
};

/** Negation normal form: `!` only on leaves that cannot absorb it. */
export function pushNegations(e: Expr, negate = false): Expr {
  switch (e.kind) {
    case 'not':
      return pushNegations(e.arg, !negate);
    case 'logical': {
      const lhs = pushNegations(e.lhs, negate);
      const rhs = pushNegations(e.rhs, negate);
      const op = negate ? (e.op === '&&' ? '||' : '&&') : e.op;
      return { kind: 'logical', op, lhs, rhs };
    }
    case 'icompare':
      return negate ? { ...e, op: NEGATED[e.op] } : e;
    case 'bool':
      return negate ? { kind: 'bool', value: !e.value } : e;
    default:
      return negate ? { kind: 'not', arg: e } : e;
  }
}

export interface Relaxed {
  /** A condition without `m0`; `true` when nothing is known. */
  readonly expr: Expr;
  /** Whether a part that depends on `m0` could not be projected (a summary would be exact). */
  readonly lossy: boolean;
}

/** The coefficient of `m0` in `d`, if `m0` appears only as a plain term; null otherwise. */
function linearCoefficient(d: Affine, m0: IndexName): number | null {
  let coeff = 0;
  for (const t of d.terms) {
    if (t.atom.kind === 'index' && t.atom.name === m0) coeff = t.coeff;
    else if ([...A.atomsOf(A.fromAtom(t.atom))].some((a) => a.kind === 'index' && a.name === m0))
      return null;
  }
  return coeff;
}

const atValue = (a: Affine, m0: IndexName, value: number) =>
  A.substituteIndices(a, new Map([[m0, A.constant(value)]]));

function relaxCompare(
  e: Extract<Expr, { kind: 'icompare' }>,
  m0: IndexName,
  size: number,
): Relaxed | null {
  const c = linearCoefficient(A.sub(e.lhs, e.rhs), m0);
  if (c === null) return null;
  const low = c >= 0 ? 0 : size - 1; // the m0 that makes lhs − rhs smallest
  const high = c >= 0 ? size - 1 : 0;
  const at = (v: number, op: CompareOp): Expr =>
    icompare(op, atValue(e.lhs, m0, v), atValue(e.rhs, m0, v));
  switch (e.op) {
    case '<':
    case '<=':
      return { expr: at(low, e.op), lossy: false };
    case '>':
    case '>=':
      return { expr: at(high, e.op), lossy: false };
    case '==':
      return { expr: and(at(low, '<='), at(high, '>=')), lossy: false };
    case '!=':
      return null;
  }
}

export function relaxOverKey(filter: Expr, m0: IndexName, size: number): Relaxed {
  const go = (e: Expr): Relaxed => {
    if (!indicesOfExpr(e).has(m0)) return { expr: e, lossy: false };
    if (e.kind === 'logical') {
      const l = go(e.lhs);
      const r = go(e.rhs);
      const lossy = l.lossy || r.lossy;
      if (e.op === '&&') {
        if (isTrue(l.expr)) return { expr: r.expr, lossy };
        if (isTrue(r.expr)) return { expr: l.expr, lossy };
        return { expr: and(l.expr, r.expr), lossy };
      }
      if (isTrue(l.expr) || isTrue(r.expr)) return { expr: TRUE, lossy };
      return { expr: or(l.expr, r.expr), lossy };
    }
    if (e.kind === 'icompare') return relaxCompare(e, m0, size) ?? { expr: TRUE, lossy: true };
    return { expr: TRUE, lossy: true };
  };
  return go(pushNegations(filter));
}

export const isTrue = (e: Expr): boolean => e.kind === 'bool' && e.value;
