/**
 * The `.attn` formatter behind `attnc fmt`: source text → canonical text with the same tokens,
 * the same comments and the same meaning.
 *
 * It works on the token stream (comments included, from the lexer's `comments` group) and asks
 * the AST only what tokens cannot say: where items start, and whether a `-` is unary or binary.
 * Line breaks inside an item are the author's and are kept; everything else is canonical:
 *
 * - one item per line (`;` separators become line breaks), 2 spaces of indentation inside a
 *   block, `attention NAME {` on one line, one blank line between blocks;
 * - one space around binary operators and `=`, `, ` in lists, none inside brackets, none after a
 *   unary `-` or `!`, `name: type`, `sum[m] body`, `f(x)`, `softmax[m](x)`;
 * - three spaces before a `where` on the equation's line (the house style of the docs and the
 *   stdlib: the filter stands apart from the value);
 * - a continuation line is indented 4 more than its item, plus 2 for every earlier continuation
 *   line that opened a bracket still open, plus 2 when it starts with a binary operator; in a
 *   filter whose `where` begins a line, the filter's lines align with the text after `where `
 *   (plus 2 per open bracket), and a line starting with `&&` (any binary operator) hangs the
 *   operator to the left of that column;
 * - a run of blank lines becomes one blank line, between items or comments only (none after
 *   `{`, before `}` or inside an item);
 * - comments keep their text (trailing spaces trimmed); own-line comments take the indentation of
 *   the line after them; trailing comments of consecutive lines are aligned, at least 2 spaces
 *   after the code.
 *
 * Only line breaks and spaces change, and the grammar ignores both, so the meaning cannot
 * change; `formatSource` still re-lexes its output and throws `InternalError` if any token or
 * comment differs, so a formatter bug can never silently rewrite a spec.
 */
import { tokenMatcher, type IToken, type TokenType } from 'chevrotain';
import { hasErrors, InternalError, type Diagnostic } from '../compiler/diagnostics/diagnostic.ts';
import type { Span } from '../compiler/diagnostics/source.ts';
import type * as ast from './ast.ts';
import { parseSource } from './index.ts';
import { lex } from './lexer.ts';
import {
  Attention,
  Colon,
  Comma,
  Comment,
  Identifier,
  LBrace,
  LBracket,
  LParen,
  RBrace,
  RBracket,
  Reducer,
  RParen,
  Semicolon,
  Where,
} from './tokens.ts';

export type FormatResult =
  | { readonly ok: true; readonly text: string }
  /** The source has syntax errors: it is not formatted. */
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

const INDENT = '  ';
const CONTINUATION = 4;
const WHERE_GAP = '   ';

/** What the AST knows about token offsets. */
interface Facts {
  /** First token of each item, mapped to the item's end offset. */
  readonly itemStarts: Map<number, number>;
  readonly binaryOps: Set<number>;
  readonly unaryOps: Set<number>;
  /** First token of a reduction's body (`sum[m] (x)` keeps its space before the `(`). */
  readonly reductionBodies: Set<number>;
  /** Offsets covered by `attention` blocks. */
  readonly blocks: readonly Span[];
  /** First token of each `schedule` directive: one per line, indented one level deeper. */
  readonly scheduleEntries: Set<number>;
  /** Offsets of the `}` closing a `schedule` block. */
  readonly scheduleCloses: Set<number>;
}

function collectFacts(module: ast.Module): Facts {
  const facts: Facts = {
    itemStarts: new Map(),
    binaryOps: new Set(),
    unaryOps: new Set(),
    reductionBodies: new Set(),
    blocks: module.attentions.map((a) => a.span),
    scheduleEntries: new Set(),
    scheduleCloses: new Set(),
  };
  const expr = (e: ast.Expr): void => {
    switch (e.kind) {
      case 'access':
        return e.subscripts.forEach(expr);
      case 'call':
      case 'macro':
        return e.args.forEach(expr);
      case 'unary':
        facts.unaryOps.add(e.span.start);
        return expr(e.operand);
      case 'binary':
        facts.binaryOps.add(e.opSpan.start);
        expr(e.left);
        return expr(e.right);
      case 'reduction':
        facts.reductionBodies.add(e.body.span.start);
        return expr(e.body);
      case 'paren':
        return expr(e.inner);
      default:
        return;
    }
  };
  for (const block of module.attentions) {
    for (const item of block.items) {
      facts.itemStarts.set(item.span.start, item.span.end);
      switch (item.kind) {
        case 'param':
        case 'const':
          expr(item.value);
          break;
        case 'equation':
          item.subscripts.forEach(expr);
          expr(item.value);
          if (item.filter) expr(item.filter);
          break;
        case 'init':
          item.subscripts.forEach(expr);
          expr(item.value);
          break;
        case 'schedule':
          for (const entry of item.entries) facts.scheduleEntries.add(entry.span.start);
          facts.scheduleCloses.add(item.span.end - 1);
          break;
        default:
          break;
      }
    }
  }
  return facts;
}

interface Line {
  indent: number;
  code: string;
  comment: string | null;
  /** An own-line comment inside an item: indented like the line after it. */
  inheritIndent: boolean;
}

const is = (t: IToken | null | undefined, type: TokenType): boolean =>
  t !== null && t !== undefined && tokenMatcher(t, type);
const isCloser = (t: IToken) => is(t, RParen) || is(t, RBracket);
const isOpener = (t: IToken) => is(t, LParen) || is(t, LBracket);

/** Lays out the merged token and comment stream; see the file header for the rules. */
class Layout {
  readonly lines: (Line | 'blank')[] = [];
  private line: Line | null = null;
  private prev: IToken | null = null;
  private itemEnd = -1;
  private itemFirstLine = -1;
  /** Open brackets of the current item, with the line each was opened on. */
  private brackets: number[] = [];
  /** While in a filter whose `where` began a line: that line's number and indentation. */
  private where: { line: number; indent: number } | null = null;

  constructor(
    private readonly source: string,
    private readonly facts: Facts,
  ) {}

  private inBlock(offset: number): boolean {
    return this.facts.blocks.some((b) => offset > b.start && offset < b.end - 1);
  }

  private inItem(offset: number): boolean {
    return offset < this.itemEnd;
  }

  private newLine(indent: number, blank: boolean, inheritIndent = false): void {
    if (blank && this.lines.length > 0) this.lines.push('blank');
    this.line = { indent, code: '', comment: null, inheritIndent };
    this.lines.push(this.line);
  }

  add(t: IToken): void {
    const prev = this.prev;
    const gap = prev ? this.source.slice(prev.startOffset + prev.image.length, t.startOffset) : '';
    const newlines = (gap.match(/\n/g) ?? []).length;
    const itemEnd = this.facts.itemStarts.get(t.startOffset);
    const startsItem = itemEnd !== undefined;
    const startsEntry = this.facts.scheduleEntries.has(t.startOffset);
    if (startsItem) {
      this.itemEnd = itemEnd;
      this.brackets = [];
      this.where = null;
    }
    const comment = is(t, Comment);
    const text = comment ? t.image.trimEnd() : t.image;

    if (comment && prev && newlines === 0 && this.line) {
      this.line.comment = text;
      this.prev = t;
      return;
    }
    const breakHere =
      !prev ||
      is(prev, Comment) ||
      comment ||
      startsItem ||
      startsEntry ||
      is(t, Attention) ||
      is(t, RBrace) ||
      is(prev, LBrace) ||
      is(prev, RBrace) ||
      (newlines > 0 && this.inItem(t.startOffset));

    if (breakHere) {
      const closesBlock = (x: IToken) => this.facts.blocks.some((b) => x.startOffset === b.end - 1);
      const topLevelAfterBlock =
        is(prev, RBrace) && closesBlock(prev!) && !this.inBlock(t.startOffset);
      const blankAllowed =
        !is(t, RBrace) && !is(prev, LBrace) && !(this.inItem(t.startOffset) && !startsItem);
      const blank = topLevelAfterBlock || (newlines >= 2 && blankAllowed);
      if (comment) {
        const inside = this.inItem(t.startOffset) && !startsItem;
        this.newLine(this.inBlock(t.startOffset) ? INDENT.length : 0, blank, inside);
        this.line!.comment = text;
        this.prev = t;
        return;
      }
      this.newLine(this.indentOf(t, startsItem), blank);
      if (startsItem) this.itemFirstLine = this.lines.length - 1;
    } else {
      this.line!.code += this.spaceBetween(prev!, t);
    }
    this.line!.code += text;
    this.track(t);
    this.prev = t;
  }

  private indentOf(t: IToken, startsItem: boolean): number {
    if (startsItem || this.facts.scheduleCloses.has(t.startOffset)) return INDENT.length;
    if (this.facts.scheduleEntries.has(t.startOffset)) return 2 * INDENT.length;
    if (!this.inBlock(t.startOffset) || !this.inItem(t.startOffset)) return 0;
    const itemIndent = INDENT.length;
    if (is(t, Where)) return itemIndent + CONTINUATION;
    const open = isCloser(t) ? this.brackets.slice(0, -1) : this.brackets;
    const opLed = this.facts.binaryOps.has(t.startOffset);
    const firstLine = this.where ? this.where.line : this.itemFirstLine;
    const hanging = new Set(open.filter((line) => line !== firstLine)).size;
    if (this.where) {
      const column = this.where.indent + 'where '.length + 2 * hanging;
      return opLed ? column - (t.image.length + 1) : column;
    }
    return itemIndent + CONTINUATION + 2 * hanging + (opLed ? 2 : 0);
  }

  /** Bracket and filter bookkeeping after `t` is placed. */
  private track(t: IToken): void {
    if (isOpener(t)) this.brackets.push(this.lines.length - 1);
    else if (isCloser(t)) this.brackets.pop();
    else if (is(t, Where) && this.line!.code === 'where')
      this.where = { line: this.lines.length - 1, indent: this.line!.indent };
  }

  private spaceBetween(prev: IToken, t: IToken): string {
    if (is(t, Comma) || is(t, RBracket) || is(t, RParen) || is(t, Colon)) return '';
    if (is(prev, LParen) || is(prev, LBracket)) return '';
    if (this.facts.unaryOps.has(prev.startOffset)) return '';
    if (is(t, LBracket)) return '';
    if (is(t, LParen)) {
      if (this.facts.reductionBodies.has(t.startOffset)) return ' ';
      return is(prev, Identifier) || is(prev, Reducer) || is(prev, RBracket) ? '' : ' ';
    }
    if (is(t, Where)) return WHERE_GAP;
    return ' ';
  }
}

/** Renders the lines: resolves inherited indentation and aligns runs of trailing comments. */
function render(lines: readonly (Line | 'blank')[]): string {
  const out = [...lines];
  let next = 0;
  for (let i = out.length - 1; i >= 0; i--) {
    const l = out[i];
    if (l === 'blank') continue;
    if (l.inheritIndent) l.indent = next;
    else next = l.indent;
  }
  const code = (l: Line) => (l.code ? ' '.repeat(l.indent) + l.code : '');
  const text: string[] = [];
  for (let i = 0; i < out.length;) {
    const l = out[i];
    if (l === 'blank') {
      text.push('');
      i++;
      continue;
    }
    if (!l.code || l.comment === null) {
      text.push(l.code ? code(l) : ' '.repeat(l.indent) + (l.comment ?? ''));
      i++;
      continue;
    }
    let j = i;
    const run: Line[] = [];
    for (; j < out.length; j++) {
      const r = out[j];
      if (r === 'blank' || !r.code || r.comment === null) break;
      run.push(r);
    }
    const column = Math.max(...run.map((r) => code(r).length)) + 2;
    for (const r of run) text.push(code(r).padEnd(column) + r.comment);
    i = j;
  }
  return text.length === 0 ? '' : `${text.join('\n')}\n`;
}

/** Tokens and comments in source order, without `;` (items go on their own lines instead). */
function stream(tokens: readonly IToken[], comments: readonly IToken[]): IToken[] {
  return [...tokens.filter((t) => !is(t, Semicolon)), ...comments].sort(
    (a, b) => a.startOffset - b.startOffset,
  );
}

function signature(text: string): string[] {
  const { tokens, comments } = lex(text);
  return stream(tokens, comments).map((t) => (is(t, Comment) ? t.image.trimEnd() : t.image));
}

export function formatSource(text: string, fileName = '<input>'): FormatResult {
  const parsed = parseSource(text, fileName);
  if (!parsed.module || hasErrors(parsed.diagnostics))
    return { ok: false, diagnostics: parsed.diagnostics };
  const { tokens, comments } = lex(text, fileName);
  const layout = new Layout(text, collectFacts(parsed.module));
  for (const t of stream(tokens, comments)) layout.add(t);
  const formatted = render(layout.lines);
  const before = signature(text);
  const after = signature(formatted);
  const differ = before.length !== after.length || before.some((t, i) => t !== after[i]);
  if (differ) throw new InternalError(`formatting ${fileName} changed its tokens`, 'fmt');
  return { ok: true, text: formatted };
}
