/**
 * The token types of `.attn`. Every token has a `label`: the words the parser's error messages
 * use for it ("expected `]` but found ..."), so labels are written for users, in backticks.
 *
 * Order matters in `ALL_TOKENS`: Chevrotain tries patterns in that order and takes the first
 * match, so two-character operators come before their one-character prefixes, and keywords
 * (which use `longer_alt: Identifier`, making `maxval` one identifier) come before `Identifier`.
 */
import { createToken, Lexer, type TokenType } from 'chevrotain';

export const WhiteSpace = createToken({
  name: 'WhiteSpace',
  pattern: /[ \t\r\n\f\v]+/,
  group: Lexer.SKIPPED,
  line_breaks: true,
});

/** Kept in the `comments` group (not skipped) so a formatter can re-attach them by offset. */
export const Comment = createToken({
  name: 'Comment',
  pattern: /#[^\r\n]*/,
  group: 'comments',
  label: 'a comment',
});

export const Identifier = createToken({
  name: 'Identifier',
  pattern: /[A-Za-z_][A-Za-z0-9_]*/,
  label: 'a name',
});

/**
 * Deliberately greedy: a digit (or `.` and a digit) starts a number that runs over every letter,
 * digit, `_` and `.` after it, plus a sign right after `e`/`E`. So `1e`, `1.2.3`, `.5` and `2x`
 * lex as one token that the lexer reports as a malformed number (E002), instead of a number
 * followed by confusing parse errors. Well-formed numbers are those matching `NUMBER_SYNTAX`.
 */
export const NumberLiteral = createToken({
  name: 'NumberLiteral',
  pattern: /(?:\d|\.\d)(?:[eE][+-]|[A-Za-z0-9_.])*/,
  label: 'a number',
});

/** What a well-formed number is: digits, an optional fraction, an optional exponent. */
export const NUMBER_SYNTAX = /^\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** Matched by `sum`, `max` and `min`: a reduction before `[`, a call before `(`. */
export const Reducer = createToken({
  name: 'Reducer',
  pattern: Lexer.NA,
  label: '`sum`, `max`, `min` or `topk`',
});

function keyword(word: string, categories: TokenType[] = []): TokenType {
  return createToken({
    name: word[0].toUpperCase() + word.slice(1),
    pattern: word,
    longer_alt: Identifier,
    categories,
    label: `\`${word}\``,
  });
}

export const Attention = keyword('attention');
export const Input = keyword('input');
export const Param = keyword('param');
export const Const = keyword('const');
export const Output = keyword('output');
export const Init = keyword('init');
export const Schedule = keyword('schedule');
export const Where = keyword('where');
export const Sum = keyword('sum', [Reducer]);
export const Max = keyword('max', [Reducer]);
export const Min = keyword('min', [Reducer]);
export const Topk = keyword('topk', [Reducer]);
export const True = keyword('true');
export const False = keyword('false');

// Operator families are categories, so each precedence level consumes one token type.
export const ComparisonOperator = createToken({
  name: 'ComparisonOperator',
  pattern: Lexer.NA,
  label: 'a comparison',
});
export const AdditiveOperator = createToken({
  name: 'AdditiveOperator',
  pattern: Lexer.NA,
  label: '`+` or `-`',
});
export const MultiplicativeOperator = createToken({
  name: 'MultiplicativeOperator',
  pattern: Lexer.NA,
  label: '`*`, `/` or `%`',
});
export const UnaryOperator = createToken({
  name: 'UnaryOperator',
  pattern: Lexer.NA,
  label: '`-` or `!`',
});

function punctuation(name: string, image: string, categories: TokenType[] = []): TokenType {
  return createToken({ name, pattern: image, categories, label: `\`${image}\`` });
}

export const EqEq = punctuation('EqEq', '==', [ComparisonOperator]);
export const NotEq = punctuation('NotEq', '!=', [ComparisonOperator]);
export const LessEq = punctuation('LessEq', '<=', [ComparisonOperator]);
export const GreaterEq = punctuation('GreaterEq', '>=', [ComparisonOperator]);
export const Less = punctuation('Less', '<', [ComparisonOperator]);
export const Greater = punctuation('Greater', '>', [ComparisonOperator]);
export const AndAnd = punctuation('AndAnd', '&&');
export const OrOr = punctuation('OrOr', '||');
export const Equals = punctuation('Equals', '=');
export const Bang = punctuation('Bang', '!', [UnaryOperator]);
export const Plus = punctuation('Plus', '+', [AdditiveOperator]);
export const Minus = punctuation('Minus', '-', [AdditiveOperator, UnaryOperator]);
export const Star = punctuation('Star', '*', [MultiplicativeOperator]);
export const Slash = punctuation('Slash', '/', [MultiplicativeOperator]);
export const Percent = punctuation('Percent', '%', [MultiplicativeOperator]);
export const LParen = punctuation('LParen', '(');
export const RParen = punctuation('RParen', ')');
export const LBracket = punctuation('LBracket', '[');
export const RBracket = punctuation('RBracket', ']');
export const LBrace = punctuation('LBrace', '{');
export const RBrace = punctuation('RBrace', '}');
export const Comma = punctuation('Comma', ',');
export const Colon = punctuation('Colon', ':');
export const Semicolon = punctuation('Semicolon', ';');

export const KEYWORDS = [
  Attention,
  Input,
  Param,
  Const,
  Output,
  Init,
  Schedule,
  Where,
  Sum,
  Max,
  Min,
  Topk,
  True,
  False,
];

/** Every token type, in matching order (see the header). */
export const ALL_TOKENS: TokenType[] = [
  WhiteSpace,
  Comment,
  ...KEYWORDS,
  Identifier,
  NumberLiteral,
  EqEq,
  NotEq,
  LessEq,
  GreaterEq,
  Less,
  Greater,
  AndAnd,
  OrOr,
  Equals,
  Bang,
  Plus,
  Minus,
  Star,
  Slash,
  Percent,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
  Comma,
  Colon,
  Semicolon,
  Reducer,
  ComparisonOperator,
  AdditiveOperator,
  MultiplicativeOperator,
  UnaryOperator,
];
