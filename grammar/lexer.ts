/**
 * Text → tokens. Never throws: a character no token matches is reported (E001, one diagnostic
 * per run of such characters) and skipped; a malformed number is reported (E002) but kept as a
 * `NumberLiteral` token so the parser sees an operand where the user meant one.
 */
import { Lexer, type IToken } from 'chevrotain';
import { diagnostic, type Diagnostic } from '../compiler/diagnostics/diagnostic.ts';
import { ALL_TOKENS, NUMBER_SYNTAX, NumberLiteral } from './tokens.ts';

export interface LexResult {
  /** The tokens the parser reads: no whitespace, no comments. */
  readonly tokens: IToken[];
  /** `#` comments with their offsets, for tools that re-attach them (formatter, printer). */
  readonly comments: IToken[];
  readonly diagnostics: Diagnostic[];
}

const lexer = new Lexer(ALL_TOKENS, { positionTracking: 'full', ensureOptimizations: true });

/** Characters that are half of an operator; the catalogue's generic hint would mislead. */
const LIKELY_MEANT = new Map([
  ['&', 'write `&&` for "and"'],
  ['|', 'write `||` for "or"'],
]);

/** Invisible and control characters are shown by code point; `\u00a0` in a message helps nobody. */
function visible(text: string): string {
  return [...text]
    .map((ch) =>
      /[\p{C}\p{Z}]/u.test(ch)
        ? `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`
        : ch,
    )
    .join('');
}

export function lex(source: string, fileName = '<input>'): LexResult {
  const result = lexer.tokenize(source);
  const diagnostics: Diagnostic[] = [];
  for (const error of result.errors) {
    const start = error.offset;
    const end = Math.min(source.length, start + Math.max(1, error.length));
    const text = source.slice(start, end);
    const hint = LIKELY_MEANT.get(text);
    diagnostics.push(
      diagnostic('E001', { file: fileName, start, end }, [visible(text)], hint ? { hint } : {}),
    );
  }
  for (const token of result.tokens) {
    if (token.tokenType === NumberLiteral && !NUMBER_SYNTAX.test(token.image)) {
      const span = {
        file: fileName,
        start: token.startOffset,
        end: token.startOffset + token.image.length,
      };
      diagnostics.push(diagnostic('E002', span, [token.image]));
    }
  }
  return { tokens: result.tokens, comments: result.groups.comments ?? [], diagnostics };
}
