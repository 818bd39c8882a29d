/**
 * The IR of attn: a checked attention spec as a cascade of Einsum equations.
 *
 * Read this file first; it is the contract between the checker (which builds IR), the passes
 * (which rewrite it), the IR printer (which turns it back into `.attn`) and the backends (which
 * run it). All nodes are plain readonly objects in discriminated unions: no classes, no parent
 * pointers, no methods. Build index expressions only through the smart constructors of
 * `affine.ts`, so that equal expressions are structurally equal.
 *
 * ## The model
 *
 * A `Program` is one `attention` block. It has inputs (dense tensors whose shapes are given at
 * run time), scalar params, integer or boolean consts, and a body: a list of statements in
 * dependency order, each defining one tensor. Some tensors are outputs.
 *
 * Every tensor is indexed by *indices* (`b`, `hq`, `p`, `m`, ...). The *extent* of index `m` is
 * the symbol `M` (its name upper-cased): the size of the dimensions that `m` ranges over. An
 * extent is bound from the shape of an input that declares the index, or fixed by a `const` of
 * that name. Extents are positive integers known when the kernel runs, not when it compiles.
 *
 * ## Equations (the Einsum rule)
 *
 *   target[indices] = reduce.op[reduce.over] body   where filter
 *
 * The iteration space of an equation is the product of the extents of its left-hand indices
 * and its reduced indices. For every point of it where the filter holds, the body is evaluated;
 * the results are combined along the reduced indices by the reducer (sum, max or min) and
 * written at the left-hand indices. With no reducer the body is written directly; the checker
 * turns the implicit sum of Einsum notation (an index on the right but not on the left) into an
 * explicit `sum`.
 *
 * ## Absent values (the sparse semantics of FuseMax / TeAAL)
 *
 * Any element of any tensor may be *absent*. Inputs are fully present. Then:
 *  - The filter selects points of the iteration space. A left-hand point none of whose
 *    reduced points passes the filter is absent. (So `S[p, m] = Q[p, e] * K[m, e] where m <= p`,
 *    a sum over `e`, is absent above the diagonal, not 0.)
 *  - A read whose subscripts fall outside the tensor's dimensions is absent (so an index
 *    expression such as `p - m + 1` or `hq / G` never reads out of bounds).
 *  - An element-wise expression with an absent operand is absent, with one exception: a
 *    `select` only needs the operand it picks. `&&` and `||` need both operands.
 *  - A reduction skips absent values. When the filter admits points but every value there is
 *    absent, it yields the reducer's identity, which is present: sum → 0, max → -inf,
 *    min → +inf.
 *  - A filter that reads an absent value (an out-of-bounds mask element) is false.
 *  - When an output is returned, absent elements are written as 0.
 * Hence softmax over a fully masked row gives an all-zero output row and never NaN: the row max
 * is -inf, every exp() is absent, the row sum is 0, every weight is absent and the weighted sum
 * of V is the empty sum, 0.
 *
 * ## Numbers
 *
 * There are two kinds of arithmetic and they never mix implicitly:
 *  - *Index expressions* (`Affine`) are integers: subscripts, integer comparisons in filters,
 *    integer consts. `/` is floor division and `%` the matching floor modulo (the result has
 *    the sign of the divisor), as in Python. Divisors must be positive.
 *  - *Values* (`Expr`) are real numbers, stored as f32 (inputs may be stored as f16) and
 *    computed in at least f32. An integer expression used as a value (an index, an extent such
 *    as `E` in `rsqrt(E)`) is converted exactly once, by an `int` node.
 * Booleans come from comparisons, boolean tensors, bool params and consts; using one as a
 * number is a type error, and `select(cond, a, b)` is the way to turn one into a number.
 *
 * ## Recurrences
 *
 *   init target[..., 0, ...]   = init
 *   target[..., s + 1, ...]    = reduce.op[reduce.over] body   where filter
 *
 * The step index `s = indices[axis]` runs from 0 to S - 1 in order; the target's step axis has
 * S + 1 positions. The body may read the target only at step `s` (the previous value). A read at
 * `S` is the final value. Where the filter is false (with a reducer: false at every reduced
 * point) or the body is absent, the step carries the previous value, and its presence, over
 * unchanged (a recurrence is a fold, and a fold skips absent values).
 */
import type { Span } from './diagnostics/source.ts';

/** Names of tensors and of indices are branded so that they cannot be mixed up. */
export type TensorName = string & { readonly __brand: 'TensorName' };
export type IndexName = string & { readonly __brand: 'IndexName' };

/** Storage types. Inputs may be any of these; a computed tensor is f32, bool when its body is
 * a condition (an element-wise mask such as `Same[p, m] = Doc[p] == Doc[m]`), or i32 when it is
 * a `topk` (indices). */
export type DType = 'f32' | 'f16' | 'i32' | 'bool';
export type ParamType = 'f32' | 'i32' | 'bool';

// ── Index expressions ────────────────────────────────────────────────────────────────────

/**
 * An integer index expression in canonical form: `Σ coeff·atom + constant`.
 * Canonical means: terms sorted by `atomKey`, one term per atom, no zero coefficient, integer
 * coefficients and constant. A plain index `m` is `{ terms: [{ atom: m, coeff: 1 }], constant: 0 }`
 * and a literal is a term-less `Affine`. Build these with `affine.ts`, never by hand.
 */
export interface Affine {
  readonly kind: 'affine';
  readonly terms: readonly Term[];
  readonly constant: number;
}

export interface Term {
  readonly atom: Atom;
  readonly coeff: number;
}

/** The non-linear leaves of an index expression. */
export type Atom =
  /** An index of the iteration space. */
  | { readonly kind: 'index'; readonly name: IndexName }
  /** A loop-invariant integer: an extent (`M`), an integer const (`G`) or an i32 param. */
  | { readonly kind: 'symbol'; readonly name: string }
  /** `floor(num / den)`; `den` is positive at run time. */
  | { readonly kind: 'floordiv'; readonly num: Affine; readonly den: Affine }
  /** `num - den * floor(num / den)` */
  | { readonly kind: 'mod'; readonly num: Affine; readonly den: Affine }
  /** A product of two or more non-constant factors (`wy * S`). */
  | { readonly kind: 'mul'; readonly factors: readonly Affine[] }
  | { readonly kind: 'min'; readonly args: readonly Affine[] }
  | { readonly kind: 'max'; readonly args: readonly Affine[] }
  /** An element of an i32 tensor (a gather index, a sequence length, a document id). */
  | { readonly kind: 'read'; readonly tensor: TensorName; readonly at: readonly Affine[] };

// ── Value expressions ────────────────────────────────────────────────────────────────────

export type ArithmeticOp = '+' | '-' | '*' | '/';
export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';
export type LogicalOp = '&&' | '||';

/** The element-wise functions, with their arity. `min`, `max` and `pow` take two arguments. */
export const ELEMENTWISE_FUNCTIONS = {
  exp: 1,
  log: 1,
  sqrt: 1,
  rsqrt: 1,
  tanh: 1,
  sigmoid: 1,
  softplus: 1,
  relu: 1,
  abs: 1,
  sign: 1,
  min: 2,
  max: 2,
  pow: 2,
} as const;
export type ElementwiseFn = keyof typeof ELEMENTWISE_FUNCTIONS;

/**
 * A value: a real number (f32) or a boolean. Which one is fixed by the node kind and the
 * checker: `compare`, `icompare`, `logical`, `bool`, `not`, bool params and consts and reads of
 * bool tensors are booleans; everything else is real.
 */
export type Expr =
  /** A real constant; may be `Infinity` or `-Infinity` (written `inf`, `-inf`). */
  | { readonly kind: 'literal'; readonly value: number }
  | { readonly kind: 'bool'; readonly value: boolean }
  /** An integer expression used as a real number (`m - p`, `E`). Never a bare constant. */
  | { readonly kind: 'int'; readonly value: Affine }
  /** An f32 or bool param; an i32 param is a `symbol` inside an `int`. */
  | { readonly kind: 'param'; readonly name: string }
  /** A bool const; an integer const is a `symbol` inside an `int`. */
  | { readonly kind: 'const'; readonly name: string }
  /** An element of an f32, f16 or bool tensor; absent outside the tensor. */
  | { readonly kind: 'read'; readonly tensor: TensorName; readonly at: readonly Affine[] }
  | { readonly kind: 'neg'; readonly arg: Expr }
  | { readonly kind: 'not'; readonly arg: Expr }
  | { readonly kind: 'arith'; readonly op: ArithmeticOp; readonly lhs: Expr; readonly rhs: Expr }
  /** Comparison of two real values. */
  | { readonly kind: 'compare'; readonly op: CompareOp; readonly lhs: Expr; readonly rhs: Expr }
  /** Comparison of two integer index expressions (`m <= p`, `m < Len[b]`). */
  | {
      readonly kind: 'icompare';
      readonly op: CompareOp;
      readonly lhs: Affine;
      readonly rhs: Affine;
    }
  | { readonly kind: 'logical'; readonly op: LogicalOp; readonly lhs: Expr; readonly rhs: Expr }
  | { readonly kind: 'call'; readonly fn: ElementwiseFn; readonly args: readonly Expr[] }
  /** `select(cond, then, else)`: only the chosen operand needs to be present. */
  | { readonly kind: 'select'; readonly cond: Expr; readonly then: Expr; readonly else: Expr };

// ── Statements ───────────────────────────────────────────────────────────────────────────

export type ReduceOp = 'sum' | 'max' | 'min' | 'topk';

/**
 * `sum[..]`, `max[..]`, `min[..]` fold the body over the reduced indices. `topk[m, j]` selects:
 * for each point of the other left-hand indices, the value at rank `j` (0 = largest) is the
 * index `m` of the `j`-th largest present body value (ties: the smaller `m` first); ranks past
 * the number of present values are absent. The rank index is on the left, its extent says how
 * many to keep, and the tensor is i32, so it can be a subscript (a gather: `K[Idx[p, j], e]`).
 */
export interface Reduction {
  readonly op: ReduceOp;
  /** The reduced indices, in the order written (one for `topk`). */
  readonly over: readonly IndexName[];
  /** `topk` only: the left-hand index that enumerates the selected keys. */
  readonly rank?: IndexName;
}

/**
 * `target[indices] = reduce body where filter`; see the file header for the semantics.
 *
 * A tensor may be defined piecewise: several equations for the same target, each with a filter,
 * with the same left-hand indices, listed one after another. Each writes only the points where
 * it is present; a point that no piece writes is absent; where pieces overlap, the later wins.
 * (Concatenating two key sets: `KC[m, e] = K1[m, e] where m < M1` and
 * `KC[m, e] = K2[m - M1, e] where m >= M1`.)
 */
export interface Equation {
  readonly kind: 'equation';
  readonly target: TensorName;
  readonly indices: readonly IndexName[];
  readonly reduce: Reduction | null;
  /** A boolean expression, or null for "everywhere". */
  readonly filter: Expr | null;
  readonly body: Expr;
  /** Where the equation was written; passes point their notes here. Ignored by equality. */
  readonly origin: Span;
}

/** A fold along `indices[axis]`; see the file header for the semantics. */
export interface Recurrence {
  readonly kind: 'recurrence';
  readonly target: TensorName;
  readonly indices: readonly IndexName[];
  readonly axis: number;
  /** The value at step 0; may use the other indices, not the step index. */
  readonly init: Expr;
  readonly reduce: Reduction | null;
  readonly filter: Expr | null;
  readonly body: Expr;
  readonly origin: Span;
  readonly initOrigin: Span;
}

export type Statement = Equation | Recurrence;

// ── Declarations ─────────────────────────────────────────────────────────────────────────

export interface InputDecl {
  readonly name: TensorName;
  readonly dtype: DType;
  /** The declared index of every dimension; binds (or is checked against) its extent. */
  readonly indices: readonly IndexName[];
  readonly origin: Span;
}

export interface ParamDecl {
  readonly name: string;
  readonly type: ParamType;
  /** Evaluated when the kernel runs if no value is given; may use extents and consts. */
  readonly default: Expr;
  readonly origin: Span;
}

export type ConstDecl =
  | { readonly name: string; readonly type: 'i32'; readonly value: Affine; readonly origin: Span }
  | { readonly name: string; readonly type: 'bool'; readonly value: Expr; readonly origin: Span };

export interface IndexDecl {
  readonly name: IndexName;
  /** The extent symbol: the index name upper-cased (`hq` → `HQ`). */
  readonly extent: string;
}

// ── Schedule ─────────────────────────────────────────────────────────────────────────────

/**
 * How to run a program, kept apart from what it computes (Halide's algorithm / schedule split).
 * Written by the user in `schedule { ... }` or by the passes, printed back in the same form, and
 * never part of the math: the interpreter ignores it, and every entry's effect on the IR
 * itself (tiling rewrites indices, fusion rewrites the cascade) is already in the statements.
 */
export interface Schedule {
  /**
   * `tile m = 64`: the size of one partition of an index. For a key index, the `tile` pass
   * partitions it in the IR (`m → m1, m0`); for a query index, it is how many queries one
   * workgroup serves (a mapping, so the IR keeps `p` whole).
   */
  readonly tiles: readonly { readonly index: IndexName; readonly size: number }[];
  /** `fuse O`: the cascade that produces `O` runs as one kernel (recorded by the `fuse` pass). */
  readonly fused: readonly TensorName[];
  /** `group hq / G`: one workgroup serves the `G` query heads that share a key/value head. */
  readonly groups: readonly { readonly index: IndexName; readonly by: string }[];
  /** `split m`: the key range may be split across workgroups and merged (decided at run time). */
  readonly splits: readonly IndexName[];
}

export const EMPTY_SCHEDULE: Schedule = { tiles: [], fused: [], groups: [], splits: [] };

export interface Program {
  readonly name: string;
  /** The file the spec came from (diagnostic spans refer to it). */
  readonly file: string;
  readonly inputs: readonly InputDecl[];
  readonly params: readonly ParamDecl[];
  /** In dependency order: a const uses only extents and earlier consts. */
  readonly consts: readonly ConstDecl[];
  /** Every index used anywhere in the program, sorted by name. */
  readonly indices: readonly IndexDecl[];
  /** In dependency order: a statement reads only inputs and tensors defined before it. */
  readonly body: readonly Statement[];
  readonly outputs: readonly TensorName[];
  readonly schedule: Schedule;
  readonly origin: Span;
}

/** The extent symbol of an index: its name upper-cased. */
export function extentName(index: string): string {
  return index.toUpperCase();
}
