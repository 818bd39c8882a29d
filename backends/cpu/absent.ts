/**
 * The "absent" semantics of `compiler/ir.ts`, in one place for the CPU interpreter.
 *
 * Representation: every tensor is a float64 array plus a presence byte per element (1 = present,
 * `ndarray.ts`). While one point of an iteration space is evaluated, the generated code holds
 * values in plain JS locals; an absent operand makes the code leave the point's labelled block
 * (`break`), so nothing after it is evaluated or written. NaN is an ordinary value, never a
 * marker. The rules of `ir.ts` (with one refinement, in 5), and where each is implemented:
 *
 *  1. Inputs are fully present.                               `denseFromHost` (ndarray.ts)
 *  2. A point where the filter is false is absent.            filter guard (compile-stmt.ts)
 *  3. A read outside the tensor's dimensions, or of an absent element, is absent; so is a
 *     subscript that divides by a non-positive number (as `evaluateAffine` does).
 *                                                             `emitRead`, `emitAffine` (compile-expr.ts)
 *  4. An element-wise expression with an absent operand is absent, except that `select` only
 *     evaluates (and so only needs) the operand it picks. This includes `&&` and `||`: both
 *     operands are needed (no short-circuit rescue of an absent operand).
 *                                                             `emitExpr` (compile-expr.ts)
 *  5. A reduction skips absent points; with nothing left it yields the identity below, which is
 *     present. One refinement that `ir.ts` leaves open: a left-hand point whose filter is false
 *     at *every* reduced point is absent, not the identity. Without it the flagship
 *     `S[b, h, p, m] = Q[b, h, p, e] * K[b, h, m, e] where m <= p` (a sum over `e`) would give
 *     S = 0, present, above the diagonal instead of masking it. The identity is still what a
 *     reduction gives when the filter admits points but every body value there is absent (the
 *     fully masked softmax row: max → -inf, sum → 0).
 *                                                             `REDUCERS`, `emitPoint` (compile-stmt.ts)
 *  6. A filter that evaluates to absent is false.             filter guard (compile-stmt.ts)
 *  7. A recurrence step whose filter is false or whose body is absent carries the previous
 *     value (and its presence) over. With a reducer, "filter false" means false at every
 *     reduced point (rule 5); otherwise the step takes the reduction, the identity included.
 *                                                             `emitRecurrence` (compile-stmt.ts)
 *  8. Outputs are returned with absent elements written as 0. `denseToHostF32` (ndarray.ts)
 *
 * A statement writes only its present points. The first statement defining a tensor starts from
 * an all-absent array; a later one for the same tensor (a piecewise definition over disjoint
 * filters) overlays its present points on what is there.
 */
import type { ReduceOp } from '../../compiler/ir.ts';

export interface Reducer {
  /** The value of a reduction over nothing: present, per rule 5. */
  readonly identity: number;
  /** Folds one present value into the accumulator. NaN propagates, as in `Math.max`. */
  readonly combine: (acc: number, value: number) => number;
}

export const REDUCERS: Readonly<Record<ReduceOp, Reducer>> = {
  sum: { identity: 0, combine: (acc, value) => acc + value },
  max: { identity: -Infinity, combine: (acc, value) => Math.max(acc, value) },
  min: { identity: Infinity, combine: (acc, value) => Math.min(acc, value) },
  // `topk` selects rather than folds (compile-stmt.ts `emitTopk`); it has no identity.
  topk: { identity: NaN, combine: () => NaN },
};

/** The presence byte of a present element; absent is 0 (what typed arrays start as). */
export const PRESENT = 1;
