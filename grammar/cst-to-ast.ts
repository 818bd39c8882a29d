/**
 * CST → AST. This is the only file that knows the CST's shape (`cst.generated.d.ts`).
 *
 * Chevrotain's error recovery can hand us partial nodes: a recovered node (`recoveredNode`)
 * may lack children the grammar calls mandatory, and a token inserted by recovery has no
 * offsets. So every child access here is guarded, a recovered item or expression becomes an
 * `ErrorNode` (its error is already reported), and nothing in here throws on any CST.
 *
 * Each visit method receives the span of its own node as the visitor parameter, because a
 * visit method sees only its node's children, not the node's location.
 */
import type { CstNode, IToken } from 'chevrotain';
import type { Span } from '../compiler/diagnostics/source.ts';
import type * as ast from './ast.ts';
import type * as cst from './cst.generated.d.ts';
import { parser } from './parser.ts';
import { NUMBER_SYNTAX } from './tokens.ts';

/** A syntax error found while building (the parser's own errors are converted in `index.ts`). */
export interface SyntaxProblem {
  readonly span: Span;
  /** What would have been valid, in words: "an index name". */
  readonly expected: string;
  /** What was there, already quoted: "`m + 1`". */
  readonly found: string;
}

const BaseVisitor = parser.getBaseCstVisitorConstructor<Span, unknown>();

const empty = (offset: number): Span => ({ start: offset, end: offset });
const cover = (a: Span, b: Span): Span => ({
  start: Math.min(a.start, b.start),
  end: Math.max(a.end, b.end),
});

/** Source text for a message: one line, at most 30 characters. */
function excerpt(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 30 ? `${line.slice(0, 29)}…` : line;
}

export class AstBuilder extends BaseVisitor implements cst.ICstNodeVisitor<Span, unknown> {
  readonly problems: SyntaxProblem[] = [];
  /**
   * Set while building an item when the parser skipped input inside it (a recovered node) or
   * invented a name: such an item becomes an `ErrorNode` as a whole. An item repaired only by
   * inserting a closing bracket keeps its structure.
   */
  private damaged = false;

  constructor(private readonly source: string) {
    super();
    this.validateVisitor();
  }

  /**
   * The one place Chevrotain's inclusive `endOffset` becomes a half-open end. Offsets that are
   * missing (NaN or -1: tokens inserted by recovery, nodes that consumed nothing) map to
   * `fallback`, which for tokens is the end of the file.
   */
  private halfOpen(
    start: number | undefined,
    endInclusive: number | undefined,
    fallback: Span,
  ): Span {
    const valid = (x: number | undefined): x is number =>
      x !== undefined && Number.isFinite(x) && x >= 0;
    if (!valid(start) || !valid(endInclusive) || endInclusive < start) return fallback;
    return {
      start: Math.min(start, this.source.length),
      end: Math.min(endInclusive + 1, this.source.length),
    };
  }

  private get eof(): Span {
    return empty(this.source.length);
  }

  private tokenSpan(token: IToken): Span {
    return this.halfOpen(token.startOffset, token.endOffset, this.eof);
  }

  private nodeSpan(node: CstNode | undefined, fallback: Span): Span {
    return this.halfOpen(node?.location?.startOffset, node?.location?.endOffset, fallback);
  }

  private error(span: Span): ast.ErrorNode {
    return { kind: 'error', span };
  }

  private identifier(token: IToken | undefined): ast.Identifier {
    if (!token || token.isInsertedInRecovery || !token.image) {
      this.damaged = true;
      return {
        kind: 'identifier',
        text: '',
        span: token ? this.tokenSpan(token) : this.eof,
      };
    }
    return { kind: 'identifier', text: token.image, span: this.tokenSpan(token) };
  }

  /** Visits an expression-level node; a missing or recovered one becomes an `ErrorNode`. */
  private expr(node: CstNode | undefined, fallback: Span): ast.Expr {
    const span = this.nodeSpan(node, fallback);
    if (!node || node.recoveredNode) {
      this.damaged = true;
      return this.error(span);
    }
    return this.visit(node, span) as ast.Expr;
  }

  /** Whether a list-level node is there; a recovered one is still built but damages the item. */
  private present<T extends CstNode>(node: T | undefined): node is T {
    if (node?.recoveredNode) this.damaged = true;
    return node !== undefined;
  }

  private indices(node: cst.IndexListCstNode | undefined): ast.Identifier[] {
    return this.present(node) ? this.indexList(node.children) : [];
  }

  private subscriptList(node: cst.SubscriptsCstNode | undefined, fallback: Span): ast.Expr[] {
    return this.present(node) ? this.subscripts(node.children, this.nodeSpan(node, fallback)) : [];
  }

  private argumentList(node: cst.CallArgumentsCstNode | undefined, fallback: Span): ast.Expr[] {
    return this.present(node)
      ? this.callArguments(node.children, this.nodeSpan(node, fallback))
      : [];
  }

  private typeOf(node: cst.TypeAnnotationCstNode | undefined): ast.Identifier | null {
    return this.present(node) ? this.typeAnnotation(node.children) : null;
  }

  /** `module` is the root; its span is the whole file so comments before the first block count. */
  module(children: cst.ModuleCstChildren): ast.Module {
    const attentions = (children.attention ?? []).map((node: cst.AttentionCstNode) =>
      this.attention(node.children, this.nodeSpan(node, this.eof)),
    );
    return { kind: 'module', attentions, span: { start: 0, end: this.source.length } };
  }

  /** A recovered block keeps the items parsed before the error: they are still worth checking. */
  attention(children: cst.AttentionCstChildren, span = this.eof): ast.Attention {
    const name = this.identifier(children.Identifier?.[0]);
    const items = (children.item ?? []).map((node: cst.ItemCstNode) => {
      const itemSpan = this.nodeSpan(node, empty(span.end));
      return node.recoveredNode ? this.error(itemSpan) : this.item(node.children, itemSpan);
    });
    return { kind: 'attention', name, items, span };
  }

  item(children: cst.ItemCstChildren, span = this.eof): ast.Item {
    const node =
      children.inputDecl?.[0] ??
      children.paramDecl?.[0] ??
      children.constDecl?.[0] ??
      children.outputDecl?.[0] ??
      children.initStmt?.[0] ??
      children.scheduleBlock?.[0] ??
      children.equation?.[0];
    if (!node || node.recoveredNode) return this.error(span);
    this.damaged = false;
    const item = this.visit(node, this.nodeSpan(node, span)) as ast.Item;
    return this.damaged ? this.error(span) : item;
  }

  inputDecl(children: cst.InputDeclCstChildren, span = this.eof): ast.InputDecl {
    return {
      kind: 'input',
      name: this.identifier(children.Identifier?.[0]),
      indices: this.indices(children.indexList?.[0]),
      dtype: this.typeOf(children.typeAnnotation?.[0]),
      span,
    };
  }

  paramDecl(children: cst.ParamDeclCstChildren, span = this.eof): ast.ParamDecl {
    return {
      kind: 'param',
      name: this.identifier(children.Identifier?.[0]),
      type: this.typeOf(children.typeAnnotation?.[0]),
      value: this.expr(children.expression?.[0], empty(span.end)),
      span,
    };
  }

  constDecl(children: cst.ConstDeclCstChildren, span = this.eof): ast.ConstDecl {
    return {
      kind: 'const',
      name: this.identifier(children.Identifier?.[0]),
      value: this.expr(children.expression?.[0], empty(span.end)),
      span,
    };
  }

  outputDecl(children: cst.OutputDeclCstChildren, span = this.eof): ast.OutputDecl {
    return {
      kind: 'output',
      names: (children.Identifier ?? []).map((t) => this.identifier(t)),
      span,
    };
  }

  initStmt(children: cst.InitStmtCstChildren, span = this.eof): ast.InitStmt {
    return {
      kind: 'init',
      target: this.identifier(children.Identifier?.[0]),
      subscripts: this.subscriptList(children.subscripts?.[0], empty(span.end)),
      value: this.expr(children.expression?.[0], empty(span.end)),
      span,
    };
  }

  equation(children: cst.EquationCstChildren, span = this.eof): ast.EquationStmt {
    const filterNode = children.filter?.[0];
    return {
      kind: 'equation',
      target: this.identifier(children.Identifier?.[0]),
      subscripts: this.subscriptList(children.subscripts?.[0], empty(span.end)),
      value: this.expr(children.expression?.[0], empty(span.end)),
      filter: filterNode
        ? this.filter(filterNode.children, this.nodeSpan(filterNode, empty(span.end)))
        : null,
      span,
    };
  }

  scheduleBlock(children: cst.ScheduleBlockCstChildren, span = this.eof): ast.ScheduleBlock {
    const entries = (children.scheduleEntry ?? []).map((node: cst.ScheduleEntryCstNode) =>
      this.scheduleEntry(node.children, this.nodeSpan(node, empty(span.end))),
    );
    return { kind: 'schedule', entries, span };
  }

  scheduleEntry(children: cst.ScheduleEntryCstChildren, span = this.eof): ast.ScheduleEntry {
    const [verb, target, divisor] = (children.Identifier ?? []).map((t) => this.identifier(t));
    const number = children.NumberLiteral?.[0];
    let value: ast.NumberLiteral | ast.Identifier | null = divisor ?? null;
    const op = children.MultiplicativeOperator?.[0];
    if (number) {
      const parsed = this.number(number, this.tokenSpan(number));
      if (parsed.kind === 'number') value = parsed;
      else this.damaged = true;
    }
    const operator = number ? '=' : op ? (op.image as '/' | '*' | '%') : null;
    return { kind: 'schedule-entry', verb, target, operator, value, span };
  }

  /** The filter's expression, without the `where` keyword. */
  filter(children: cst.FilterCstChildren, span = this.eof): ast.Expr {
    return this.expr(children.expression?.[0], empty(span.end));
  }

  typeAnnotation(children: cst.TypeAnnotationCstChildren): ast.Identifier {
    return this.identifier(children.Identifier?.[0]);
  }

  indexList(children: cst.IndexListCstChildren): ast.Identifier[] {
    return (children.Identifier ?? []).map((t) => this.identifier(t));
  }

  subscripts(children: cst.SubscriptsCstChildren, span = this.eof): ast.Expr[] {
    return (children.expression ?? []).map((node) => this.expr(node, empty(span.end)));
  }

  callArguments(children: cst.CallArgumentsCstChildren, span = this.eof): ast.Expr[] {
    return (children.expression ?? []).map((node) => this.expr(node, empty(span.end)));
  }

  /** `left op right op ...`, folded to the left. */
  private leftAssociative(
    operands: CstNode[] | undefined,
    operators: IToken[] | undefined,
    span: Span,
  ): ast.Expr {
    let left = this.expr(operands?.[0], empty(span.start));
    for (const [i, token] of (operators ?? []).entries()) {
      const opSpan = this.tokenSpan(token);
      const right = this.expr(operands?.[i + 1], empty(opSpan.end));
      const op = token.image as ast.BinaryOperator;
      left = { kind: 'binary', op, left, right, opSpan, span: cover(left.span, right.span) };
    }
    return left;
  }

  expression(children: cst.ExpressionCstChildren, span = this.eof): ast.Expr {
    return this.leftAssociative(children.conjunction, children.OrOr, span);
  }

  conjunction(children: cst.ConjunctionCstChildren, span = this.eof): ast.Expr {
    return this.leftAssociative(children.comparison, children.AndAnd, span);
  }

  /** Comparisons do not chain: `a < b < c` is an error, not `(a < b) < c`. */
  comparison(children: cst.ComparisonCstChildren, span = this.eof): ast.Expr {
    const second = children.ComparisonOperator?.[1];
    if (second) {
      this.problems.push({
        span: this.tokenSpan(second),
        expected: '`&&` or `||` between two comparisons',
        found: `\`${second.image}\``,
      });
      return this.error(span);
    }
    return this.leftAssociative(children.additive, children.ComparisonOperator, span);
  }

  additive(children: cst.AdditiveCstChildren, span = this.eof): ast.Expr {
    return this.leftAssociative(children.multiplicative, children.AdditiveOperator, span);
  }

  multiplicative(children: cst.MultiplicativeCstChildren, span = this.eof): ast.Expr {
    return this.leftAssociative(children.unary, children.MultiplicativeOperator, span);
  }

  unary(children: cst.UnaryCstChildren, span = this.eof): ast.Expr {
    return this.expr(
      children.prefixed?.[0] ?? children.reduction?.[0] ?? children.primary?.[0],
      span,
    );
  }

  prefixed(children: cst.PrefixedCstChildren, span = this.eof): ast.Expr {
    const token = children.UnaryOperator?.[0];
    const operand = this.expr(children.unary?.[0], empty(span.end));
    if (!token) return this.error(span);
    return { kind: 'unary', op: token.image as ast.UnaryOperator, operand, span };
  }

  reduction(children: cst.ReductionCstChildren, span = this.eof): ast.Expr {
    const token = children.Reducer?.[0];
    if (!token) return this.error(span);
    return {
      kind: 'reduction',
      reducer: token.image as ast.Reducer,
      reducerSpan: this.tokenSpan(token),
      indices: this.indices(children.indexList?.[0]),
      body: this.expr(children.expression?.[0], empty(span.end)),
      span,
    };
  }

  primary(children: cst.PrimaryCstChildren, span = this.eof): ast.Expr {
    const number = children.NumberLiteral?.[0];
    if (number) return this.number(number, span);
    if (children.True) return { kind: 'bool', value: true, span };
    if (children.False) return { kind: 'bool', value: false, span };
    const name = children.Identifier?.[0];
    if (name) return { kind: 'name', name: this.identifier(name), span };
    return this.expr(
      children.parenthesized?.[0] ?? children.call?.[0] ?? children.access?.[0],
      span,
    );
  }

  /** A malformed number was reported by the lexer (E002); it becomes an `ErrorNode`. */
  private number(token: IToken, span: Span): ast.Expr {
    const text = token.image;
    if (!NUMBER_SYNTAX.test(text)) return this.error(span);
    return { kind: 'number', value: Number(text), text, isInteger: /^\d+$/.test(text), span };
  }

  parenthesized(children: cst.ParenthesizedCstChildren, span = this.eof): ast.Expr {
    return { kind: 'paren', inner: this.expr(children.expression?.[0], empty(span.end)), span };
  }

  call(children: cst.CallCstChildren, span = this.eof): ast.Expr {
    const callee =
      children.Identifier?.[0] ?? children.Max?.[0] ?? children.Min?.[0] ?? children.Sum?.[0];
    if (!callee) return this.error(span);
    return {
      kind: 'call',
      callee: this.identifier(callee),
      args: this.argumentList(children.callArguments?.[0], empty(span.end)),
      span,
    };
  }

  /** A tensor access, or a macro call when arguments follow the brackets. */
  access(children: cst.AccessCstChildren, span = this.eof): ast.Expr {
    const name = this.identifier(children.Identifier?.[0]);
    const subscripts = this.subscriptList(children.subscripts?.[0], empty(span.end));
    const args = children.callArguments?.[0];
    if (!args) return { kind: 'access', tensor: name, subscripts, span };
    const indices = this.macroIndices(subscripts, children.RBracket?.[0]);
    if (!indices) return this.error(span);
    return {
      kind: 'macro',
      callee: name,
      indices,
      args: this.argumentList(args, empty(span.end)),
      span,
    };
  }

  /** A macro's brackets hold index names only; anything else is reported and gives `null`. */
  private macroIndices(
    subscripts: readonly ast.Expr[],
    closing: IToken | undefined,
  ): ast.Identifier[] | null {
    if (subscripts.length === 0) {
      const span = closing ? this.tokenSpan(closing) : this.eof;
      this.problems.push({ span, expected: 'an index name', found: '`]`' });
      return null;
    }
    const indices: ast.Identifier[] = [];
    for (const s of subscripts) {
      if (s.kind === 'error') return null;
      if (s.kind !== 'name') {
        const found = `\`${excerpt(this.source.slice(s.span.start, s.span.end))}\``;
        this.problems.push({ span: s.span, expected: 'an index name', found });
        return null;
      }
      indices.push(s.name);
    }
    return indices;
  }
}
