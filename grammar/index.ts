/**
 * The front end's entry point: source text → AST + diagnostics. Never throws on any input.
 *
 * Syntax errors cascade (one missing `]` can misalign everything after it), so they are
 * filtered: after an error, further syntax errors are dropped until parsing restarts cleanly,
 * at an item that begins a line (or follows `;`), at an `attention` block, or after a block's
 * closing `}`. An item that begins mid-line inside such a window is an artefact of recovery and
 * becomes an `ErrorNode`. Lexical errors (E001, E002) are always reported and also open a
 * window, since the parser never sees the characters they dropped. The first end-of-file error
 * (E011) is always reported: an unclosed block is worth knowing about whatever came before.
 * An equation that begins mid-line and breaks down before its `=` is reported as a missing
 * operator at its first token (`S[b] = Q[b] K[b]`), not where the parser noticed.
 */
import {
  EOF,
  tokenMatcher,
  type IRecognitionException,
  type IToken,
  type TokenType,
} from 'chevrotain';
import { DiagnosticBag, type Diagnostic } from '../compiler/diagnostics/diagnostic.ts';
import type { Span } from '../compiler/diagnostics/source.ts';
import type * as ast from './ast.ts';
import { AstBuilder, type SyntaxProblem } from './cst-to-ast.ts';
import { lex } from './lexer.ts';
import { parser } from './parser.ts';
import {
  Attention,
  Colon,
  Comma,
  Const,
  Equals,
  False,
  Identifier,
  Init,
  Input,
  LBrace,
  LBracket,
  LParen,
  NumberLiteral,
  Output,
  Param,
  RBrace,
  RBracket,
  Reducer,
  RParen,
  Semicolon,
  True,
  UnaryOperator,
  Where,
} from './tokens.ts';

export type * as ast from './ast.ts';
export { lex, type LexResult } from './lexer.ts';

export interface ParseResult {
  /**
   * Present unless the spec nests deeper than `MAX_NESTING`; it may hold `ErrorNode` items
   * where the parser recovered.
   */
  readonly module?: ast.Module;
  /** Lexical and syntax diagnostics, sorted by position. */
  readonly diagnostics: Diagnostic[];
}

/**
 * How deeply a spec may nest: brackets, plus prefix operators and reducers (each of which
 * opens a sub-expression that lasts until its enclosing one ends). Far beyond any real spec; it
 * keeps the recursive-descent parser (about 190 parentheses deep at most on Node's default
 * stack) and every recursive pass after it well inside the JavaScript stack.
 */
export const MAX_NESTING = 64;

interface Problem extends SyntaxProblem {
  /** True when the parser ran into the end of the file (reported as E011). */
  readonly eof: boolean;
  readonly hint?: string;
}

function isEof(token: IToken): boolean {
  return token.tokenType === EOF || !Number.isFinite(token.startOffset) || token.startOffset < 0;
}

/**
 * `lastEnd` is where the last token ends: a missing `}` is shown right after the spec's last
 * token, not on an empty line (or a trailing comment) at the very end of the file.
 */
function toProblem(error: IRecognitionException, lastEnd: number): Problem {
  const token = error.token;
  if (isEof(token)) {
    const span = { start: lastEnd, end: lastEnd };
    return { span, expected: error.message, found: 'end of file', eof: true };
  }
  const span = { start: token.startOffset, end: token.startOffset + token.image.length };
  return { span, expected: error.message, found: `\`${token.image}\``, eof: false };
}

const OPENERS: readonly TokenType[] = [LParen, LBracket, LBrace];
const CLOSERS: readonly TokenType[] = [RParen, RBracket, RBrace];
/** Tokens after which a new sub-expression starts at the same bracket level. */
const RESETS: readonly TokenType[] = [
  Comma,
  Equals,
  Where,
  Semicolon,
  Colon,
  Input,
  Param,
  Const,
  Output,
  Init,
];
const OPERAND_ENDS: readonly TokenType[] = [
  Identifier,
  NumberLiteral,
  True,
  False,
  RParen,
  RBracket,
];

/**
 * The first token that nests deeper than `MAX_NESTING`, if any. An upper bound on the parser's
 * recursion: each open bracket counts one, plus the prefix operators and reducers seen at its
 * level since the last `,`, `=`, `where` or item keyword.
 */
function tooDeep(tokens: readonly IToken[]): IToken | undefined {
  const levels: number[] = [0];
  let depth = 0;
  let previous: TokenType | undefined;
  for (const token of tokens) {
    const type = token.tokenType;
    const top = levels.length - 1;
    if (OPENERS.includes(type)) {
      levels.push(0);
      depth++;
    } else if (CLOSERS.includes(type)) {
      if (top > 0) depth -= 1 + levels.pop()!;
    } else if (RESETS.includes(type)) {
      depth -= levels[top];
      levels[top] = 0;
    } else if (
      tokenMatcher(token, Reducer) ||
      (tokenMatcher(token, UnaryOperator) && !(previous && OPERAND_ENDS.includes(previous)))
    ) {
      levels[top]++;
      depth++;
    }
    if (depth > MAX_NESTING) return token;
    previous = type;
  }
  return undefined;
}

/**
 * Where parsing restarts cleanly: the offsets of tokens that begin a line, follow `;`, or follow
 * the `{` of `attention NAME {`. (Not any `{`: a stray one is a common error.)
 */
function cleanStarts(tokens: readonly IToken[], source: string): Set<number> {
  const starts = new Set<number>();
  tokens.forEach((token, i) => {
    const previous = tokens[i - 1];
    if (
      !previous ||
      previous.tokenType === Semicolon ||
      (previous.tokenType === LBrace && tokens[i - 3]?.tokenType === Attention) ||
      source.slice(previous.startOffset + previous.image.length, token.startOffset).includes('\n')
    ) {
      starts.add(token.startOffset);
    }
  });
  return starts;
}

type Event =
  | { readonly kind: 'problem'; readonly at: number; readonly problem: Problem }
  | { readonly kind: 'lexical'; readonly at: number }
  | { readonly kind: 'restart'; readonly at: number }
  | { readonly kind: 'item'; readonly at: number; readonly item: ast.Item; readonly image: string };

type ItemEvent = Extract<Event, { kind: 'item' }>;

/** Words from other languages for the logical operators. */
const OPERATOR_WORDS: ReadonlyMap<string, string> = new Map([
  ['and', 'write `&&` for "and"'],
  ['or', 'write `||` for "or"'],
  ['not', 'write `!` for "not"'],
]);
const ITEM_KEYWORDS = new Set(['input', 'param', 'const', 'output', 'init', 'attention']);

/**
 * In `S[b] = Q[b] K[b]` the parser ends the equation after `Q[b]`, takes `K[b]` for the start of
 * the next one and only complains, "expected `=`", at whatever follows (often on the next line).
 * An equation that begins mid-line and breaks down before its `=` is almost always a missing
 * operator (or `and` for `&&`), so that is reported instead, at the name where it was due.
 */
function missingOperator(problem: Problem, item: ItemEvent | null): Problem {
  if (
    !item ||
    problem.eof ||
    !['`=`', '`[`'].includes(problem.expected) ||
    !/^[A-Za-z_]/.test(item.image) ||
    ITEM_KEYWORDS.has(item.image)
  )
    return problem;
  const span = { start: item.at, end: item.at + item.image.length };
  const hint = OPERATOR_WORDS.get(item.image);
  return { span, expected: 'an operator', found: `\`${item.image}\``, eof: false, hint };
}

/** Applies the window rule of the header: which problems to report, which items are artefacts. */
function filterCascades(events: Event[]): { kept: Problem[]; artefacts: Set<ast.Item> } {
  // At one offset, errors come first: an error found at the first token of an item was raised
  // by the item before it (a missing `]` is noticed at the next line's first token).
  const rank = { problem: 0, lexical: 0, restart: 1, item: 1 };
  events.sort((a, b) => a.at - b.at || rank[a.kind] - rank[b.kind]);
  const kept: Problem[] = [];
  const artefacts = new Set<ast.Item>();
  let open = false;
  let eofReported = false;
  /** The item since the last restart that began mid-line outside a window, if any. */
  let midLine: ItemEvent | null = null;
  for (const event of events) {
    if (event.kind === 'lexical') open = true;
    else if (event.kind === 'restart') {
      open = false;
      midLine = null;
    } else if (event.kind === 'item') {
      if (open) artefacts.add(event.item);
      else midLine = event;
    } else if (event.problem.eof ? !eofReported : !open) {
      kept.push(missingOperator(event.problem, midLine));
      eofReported ||= event.problem.eof;
      open = true;
    }
  }
  return { kept, artefacts };
}

export function parseSource(source: string, fileName: string): ParseResult {
  const bag = new DiagnosticBag(fileName);
  const lexed = lex(source, fileName);
  bag.addAll(lexed.diagnostics);

  const deep = tooDeep(lexed.tokens);
  if (deep) {
    const span: Span = { start: deep.startOffset, end: deep.startOffset + deep.image.length };
    bag.report('E010', span, [`at most ${MAX_NESTING} levels of nesting`, `\`${deep.image}\``]);
    return { diagnostics: bag.sorted() };
  }

  // Stray tokens between blocks need no special care: Chevrotain's recovery in the top-level
  // repetition skips them up to the next `attention`.
  parser.input = lexed.tokens;
  const cst = parser.module();
  const builder = new AstBuilder(source);
  const attentions = cst ? (builder.visit(cst) as ast.Module).attentions : [];
  const last = lexed.tokens[lexed.tokens.length - 1];
  const lastEnd = last ? last.startOffset + last.image.length : source.length;
  const problems: Problem[] = [
    ...parser.errors.map((e) => toProblem(e, lastEnd)),
    ...builder.problems.map((p) => ({ ...p, eof: false })),
  ];

  const starts = cleanStarts(lexed.tokens, source);
  const images = new Map(lexed.tokens.map((t) => [t.startOffset, t.image]));
  const imageAt = (offset: number): string =>
    images.get(offset) ?? source.slice(offset, offset + 1);
  const events: Event[] = [
    ...problems.map((problem): Event => ({ kind: 'problem', at: problem.span.start, problem })),
    ...lexed.diagnostics.map((d): Event => ({ kind: 'lexical', at: d.span.start })),
    ...attentions.flatMap((a): Event[] => [
      { kind: 'restart', at: a.span.start },
      { kind: 'restart', at: a.span.end },
    ]),
    ...attentions.flatMap((a) =>
      a.items.map((item): Event =>
        starts.has(item.span.start)
          ? { kind: 'restart', at: item.span.start }
          : { kind: 'item', at: item.span.start, item, image: imageAt(item.span.start) },
      ),
    ),
  ];
  const { kept, artefacts } = filterCascades(events);
  for (const p of kept) {
    if (p.eof) bag.report('E011', p.span, [p.expected]);
    else bag.report('E010', p.span, [p.expected, p.found], p.hint ? { hint: p.hint } : {});
  }

  const cleaned = attentions.map((a) =>
    a.items.some((item) => artefacts.has(item))
      ? {
          ...a,
          items: a.items.map((item): ast.Item =>
            artefacts.has(item) ? { kind: 'error', span: item.span } : item,
          ),
        }
      : a,
  );
  return {
    module: { kind: 'module', attentions: cleaned, span: { start: 0, end: source.length } },
    diagnostics: bag.sorted(),
  };
}
