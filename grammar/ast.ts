/**
 * The abstract syntax tree of a `.attn` file: one node per construct, exactly as written, with
 * the source span of every node. Nothing here is resolved or checked; the checker
 * (`compiler/check/`) turns this into IR. Nodes are readonly discriminated unions.
 */
import type { Span } from '../compiler/diagnostics/source.ts';

/** An identifier as written, with its own span (diagnostics point at names, not statements). */
export interface Identifier {
  readonly kind: 'identifier';
  readonly text: string;
  readonly span: Span;
}

export interface Module {
  readonly kind: 'module';
  readonly attentions: readonly Attention[];
  readonly span: Span;
}

/** `attention NAME { items }` */
export interface Attention {
  readonly kind: 'attention';
  readonly name: Identifier;
  readonly items: readonly Item[];
  readonly span: Span;
}

export type Item =
  | InputDecl
  | ParamDecl
  | ConstDecl
  | OutputDecl
  | EquationStmt
  | InitStmt
  | ScheduleBlock
  | ErrorNode;

/** `input Q[b, h, p, e]` or `input Mask[b, p, m]: bool` */
export interface InputDecl {
  readonly kind: 'input';
  readonly name: Identifier;
  readonly indices: readonly Identifier[];
  readonly dtype: Identifier | null;
  readonly span: Span;
}

/** `param cap: f32 = 50.0` (the type may be omitted: f32). */
export interface ParamDecl {
  readonly kind: 'param';
  readonly name: Identifier;
  readonly type: Identifier | null;
  readonly value: Expr;
  readonly span: Span;
}

/** `const G = HQ / HK` */
export interface ConstDecl {
  readonly kind: 'const';
  readonly name: Identifier;
  readonly value: Expr;
  readonly span: Span;
}

/** `output O` or `output O, LSE` */
export interface OutputDecl {
  readonly kind: 'output';
  readonly names: readonly Identifier[];
  readonly span: Span;
}

/**
 * `T[i, j] = rhs` or `T[i, j] = rhs where filter`. The subscripts on the left are expressions
 * so that a recurrence (`RM[m1 + 1, p] = ...`) parses; the checker enforces what is allowed.
 */
export interface EquationStmt {
  readonly kind: 'equation';
  readonly target: Identifier;
  readonly subscripts: readonly Expr[];
  readonly value: Expr;
  readonly filter: Expr | null;
  readonly span: Span;
}

/** `init RM[0, p] = -inf`: the value of a recurrence at step 0. */
export interface InitStmt {
  readonly kind: 'init';
  readonly target: Identifier;
  readonly subscripts: readonly Expr[];
  readonly value: Expr;
  readonly span: Span;
}

/** `schedule { ... }`: directives for the passes and the backend, not part of the math. */
export interface ScheduleBlock {
  readonly kind: 'schedule';
  readonly entries: readonly ScheduleEntry[];
  readonly span: Span;
}

/**
 * One directive: `tile m = 64` (verb, target, number), `group hq / G` (verb, target, divisor),
 * `fuse O` or `split m` (verb, target). The checker knows the verbs.
 */
export interface ScheduleEntry {
  readonly kind: 'schedule-entry';
  readonly verb: Identifier;
  readonly target: Identifier;
  /** `=` before a number, `/` (or, wrongly, `*` `%`) before a name, null for none. */
  readonly operator: '=' | '/' | '*' | '%' | null;
  readonly value: NumberLiteral | Identifier | null;
  readonly span: Span;
}

/** What the parser recovered past; the checker skips it (its error is already reported). */
export interface ErrorNode {
  readonly kind: 'error';
  readonly span: Span;
}

export type BinaryOperator =
  '+' | '-' | '*' | '/' | '%' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '&&' | '||';
export type UnaryOperator = '-' | '!';
export type Reducer = 'sum' | 'max' | 'min' | 'topk';

export type Expr =
  | NumberLiteral
  | BoolLiteral
  | NameRef
  | TensorAccess
  | Call
  | Unary
  | Binary
  | Reduction
  | MacroCall
  | Paren
  | ErrorNode;

/** `12`, `0.5`, `1e-3`. `isInteger` is true when written without `.` or exponent. */
export interface NumberLiteral {
  readonly kind: 'number';
  readonly value: number;
  readonly text: string;
  readonly isInteger: boolean;
  readonly span: Span;
}

export interface BoolLiteral {
  readonly kind: 'bool';
  readonly value: boolean;
  readonly span: Span;
}

/** A bare name: an index, an extent, a const, a param, or `inf` / `pi`. */
export interface NameRef {
  readonly kind: 'name';
  readonly name: Identifier;
  readonly span: Span;
}

/** `K[b, hq / G, m, e]` */
export interface TensorAccess {
  readonly kind: 'access';
  readonly tensor: Identifier;
  readonly subscripts: readonly Expr[];
  readonly span: Span;
}

/** `tanh(x)`, `max(a, b)`, `select(c, a, b)` */
export interface Call {
  readonly kind: 'call';
  readonly callee: Identifier;
  readonly args: readonly Expr[];
  readonly span: Span;
}

export interface Unary {
  readonly kind: 'unary';
  readonly op: UnaryOperator;
  readonly operand: Expr;
  readonly span: Span;
}

export interface Binary {
  readonly kind: 'binary';
  readonly op: BinaryOperator;
  readonly left: Expr;
  readonly right: Expr;
  /** Span of the operator token, for diagnostics about the operation itself. */
  readonly opSpan: Span;
  readonly span: Span;
}

/** `sum[m] body`, `max[m, n] body`: the reducer extends to the end of the expression. */
export interface Reduction {
  readonly kind: 'reduction';
  readonly reducer: Reducer;
  readonly reducerSpan: Span;
  readonly indices: readonly Identifier[];
  readonly body: Expr;
  readonly span: Span;
}

/** `( expr )`, kept so spans and the formatter see the parentheses. */
export interface Paren {
  readonly kind: 'paren';
  readonly inner: Expr;
  readonly span: Span;
}

/**
 * `softmax[m](S[b, h, p, m])`: a library sub-cascade over the bracketed indices. Macros are
 * expanded into plain equations before checking (`compiler/expand-macros.ts`); they may only be
 * the whole right-hand side of an equation.
 */
export interface MacroCall {
  readonly kind: 'macro';
  readonly callee: Identifier;
  readonly indices: readonly Identifier[];
  readonly args: readonly Expr[];
  readonly span: Span;
}
