import { describe, expect, it } from 'vitest';
import { lex } from '../../grammar/lexer.ts';

const kinds = (source: string) => lex(source).tokens.map((t) => `${t.tokenType.name}:${t.image}`);

describe('lexer', () => {
  it('tells keywords from identifiers that start with one', () => {
    expect(kinds('max maxval sum summary min min_ input inputs where where2 true trueish')).toEqual(
      [
        'Max:max',
        'Identifier:maxval',
        'Sum:sum',
        'Identifier:summary',
        'Min:min',
        'Identifier:min_',
        'Input:input',
        'Identifier:inputs',
        'Where:where',
        'Identifier:where2',
        'True:true',
        'Identifier:trueish',
      ],
    );
  });

  it('lexes `inf`, `pi` and type names as plain identifiers', () => {
    expect(kinds('inf pi f32 bool')).toEqual([
      'Identifier:inf',
      'Identifier:pi',
      'Identifier:f32',
      'Identifier:bool',
    ]);
  });

  it('lexes numbers with fractions and exponents', () => {
    expect(kinds('12 0.5 1e-3 2.5E+4 7e2')).toEqual([
      'NumberLiteral:12',
      'NumberLiteral:0.5',
      'NumberLiteral:1e-3',
      'NumberLiteral:2.5E+4',
      'NumberLiteral:7e2',
    ]);
    expect(lex('12 0.5 1e-3 2.5E+4').diagnostics).toEqual([]);
  });

  it('takes the longest operator', () => {
    expect(kinds('<= < == = != ! >= > && ||')).toEqual([
      'LessEq:<=',
      'Less:<',
      'EqEq:==',
      'Equals:=',
      'NotEq:!=',
      'Bang:!',
      'GreaterEq:>=',
      'Greater:>',
      'AndAnd:&&',
      'OrOr:||',
    ]);
  });

  it('does not split `m1+1` or `hq/G`', () => {
    expect(kinds('m1+1 hq/G')).toEqual([
      'Identifier:m1',
      'Plus:+',
      'NumberLiteral:1',
      'Identifier:hq',
      'Slash:/',
      'Identifier:G',
    ]);
  });

  it('reports malformed numbers as one token each (E002)', () => {
    const source = 'a = 1e + 1.2.3 * .5 * 5. * 2x';
    const result = lex(source);
    const malformed = result.diagnostics.map((d) => [
      d.code,
      source.slice(d.span.start, d.span.end),
    ]);
    expect(malformed).toEqual([
      ['E002', '1e'],
      ['E002', '1.2.3'],
      ['E002', '.5'],
      ['E002', '5.'],
      ['E002', '2x'],
    ]);
    expect(result.diagnostics[0].message).toBe('malformed number `1e`');
  });

  it('collects comments with their offsets instead of dropping them', () => {
    const source = '# head\nattention a { # trailing\n}';
    const { tokens, comments } = lex(source);
    expect(comments.map((c) => [c.image, c.startOffset])).toEqual([
      ['# head', 0],
      ['# trailing', 21],
    ]);
    expect(tokens.map((t) => t.image)).toEqual(['attention', 'a', '{', '}']);
  });

  it('reports a bad character at its position and keeps lexing (E001)', () => {
    const source = 'a @ b';
    const { tokens, diagnostics } = lex(source, 'f.attn');
    expect(tokens.map((t) => t.image)).toEqual(['a', 'b']);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({
      code: 'E001',
      message: 'unexpected character `@`',
      span: { file: 'f.attn', start: 2, end: 3 },
    });
  });

  it('reports a run of bad characters once', () => {
    const source = 'x = café @@ $';
    const { tokens, diagnostics } = lex(source);
    expect(tokens.map((t) => t.image)).toEqual(['x', '=', 'caf']);
    expect(diagnostics.map((d) => source.slice(d.span.start, d.span.end))).toEqual([
      'é',
      '@@',
      '$',
    ]);
  });

  it('names invisible characters by code point and suggests `&&` for `&`', () => {
    const [nbsp] = lex('a\u00a0b').diagnostics;
    expect(nbsp.message).toBe('unexpected character `U+00A0`');
    const [amp] = lex('a & b').diagnostics;
    expect(amp.hint).toBe('write `&&` for "and"');
  });

  it('never throws, even on lone surrogates and control characters', () => {
    const result = lex('\ud800 \u0000 \u{1F600}');
    expect(result.tokens).toEqual([]);
    expect(result.diagnostics.map((d) => d.code)).toEqual(['E001', 'E001', 'E001']);
  });
});
