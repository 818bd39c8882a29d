import { describe, expect, it } from 'vitest';
import type * as ast from '../../grammar/ast.ts';
import { MAX_NESTING, parseSource } from '../../grammar/index.ts';
import {
  createSourceFile,
  formatDiagnostic,
  positionOf,
} from '../../compiler/diagnostics/index.ts';
import { sexpr } from './sexpr.ts';

/** Each diagnostic as `CODE line:col message`, the way a user reads it. */
function errors(source: string): string[] {
  const file = createSourceFile('e.attn', source);
  return parseSource(source, 'e.attn').diagnostics.map((d) => {
    const { line, column } = positionOf(file, d.span.start);
    return `${d.code} ${line}:${column} ${d.message}`;
  });
}

function items(source: string): string[] {
  const { module } = parseSource(source, 'e.attn');
  return module!.attentions.flatMap((a) => a.items.map((item: ast.Item) => sexpr(item)));
}

const block = (...lines: string[]) => `attention a {\n${lines.map((l) => `  ${l}\n`).join('')}}\n`;

describe('syntax errors', () => {
  it('missing `]`: reported at the token that shows it, later items intact', () => {
    const source = block('input Q[b, p', 'input K[b, m]', 'output K');
    expect(errors(source)).toEqual(['E010 3:3 expected `]` but found `input`']);
    expect(items(source)).toEqual(['input Q[b p]', 'input K[b m]', 'output K']);
  });

  it('missing `}` at the end of the file: E011 right after the last token', () => {
    const source = 'attention a {\n  output O\n# trailing comment\n';
    const diagnostics = parseSource(source, 'e.attn').diagnostics;
    expect(diagnostics).toHaveLength(1);
    const end = source.indexOf('O\n') + 1;
    expect(diagnostics[0]).toMatchObject({
      code: 'E011',
      message: 'unexpected end of file: expected `}`',
      span: { start: end, end },
    });
    expect(errors(source)).toEqual(['E011 2:11 unexpected end of file: expected `}`']);
  });

  it('a missing operator between two reads: reported where the operator was due', () => {
    const source = block('S[b] = Q[b] K[b]', 'output S');
    expect(errors(source)).toEqual(['E010 2:15 expected an operator but found `K`']);
  });

  it('missing `=`', () => {
    const source = block('input Q[b]', 'S[b] Q[b] * 2', 'output S');
    expect(errors(source)).toEqual(['E010 3:8 expected `=` but found `Q`']);
    expect(items(source)).toEqual(['input Q[b]', '<error>', '<error>', 'output S']);
  });

  it('a stray token: one error, and the lines after it still parse', () => {
    const source = block('S[b] = Q[b] ) * K[b]', 'O[b] = S[b]', 'T[b] = O[b]', 'output T');
    expect(errors(source)).toEqual([
      'E010 2:15 expected a declaration, an equation or `}` but found `)`',
    ]);
    expect(items(source)).toEqual([
      'S[b] = Q[b]',
      '<error>',
      'O[b] = S[b]',
      'T[b] = O[b]',
      'output T',
    ]);
  });

  it('a missing operand', () => {
    expect(errors(block('S[b] = Q[b] * * 2'))).toEqual([
      'E010 2:17 expected an expression but found `*`',
    ]);
  });

  it('names what a missing name is for', () => {
    expect(errors(block('input [b]'))).toEqual(['E010 2:9 expected a tensor name but found `[`']);
    expect(errors(block('T[i] = sum[] x'))).toEqual([
      'E010 2:14 expected an index name but found `]`',
    ]);
    expect(errors('attention {}')).toEqual([
      'E010 1:11 expected a name for the attention block but found `{`',
    ]);
  });

  it('reports errors in different items in one run, sorted by position', () => {
    const source = block('input Q[b', 'const G = )', 'S[b] = Q[b] * * 2', 'output S');
    expect(errors(source)).toEqual([
      'E010 3:3 expected `]` but found `const`',
      'E010 3:13 expected an expression but found `)`',
      'E010 4:17 expected an expression but found `*`',
    ]);
    expect(items(source)).toEqual(['input Q[b]', '<error>', '<error>', 'output S']);
  });

  it('newlines do not end an expression: `const G =` takes the next line as its value', () => {
    const source = block('const G =', 'S[b] = 1');
    expect(errors(source)).toEqual([
      'E010 3:8 expected a declaration, an equation or `}` but found `=`',
    ]);
  });

  it('does not chain comparisons', () => {
    expect(errors(block('T[i] = a < b < c'))).toEqual([
      'E010 2:16 expected `&&` or `||` between two comparisons but found `<`',
    ]);
  });

  it('wants plain index names in a macro’s brackets', () => {
    expect(errors(block('T[i] = softmax[m + 1](x)'))).toEqual([
      'E010 2:18 expected an index name but found `m + 1`',
    ]);
    expect(items(block('T[i] = softmax[m + 1](x)'))).toEqual(['T[i] = <error>']);
  });

  it('a bad character is reported once; the parse errors it causes are not', () => {
    const source = block('S[b] = Q[b] $ K[b]', 'O[b] = S[b]');
    expect(errors(source)).toEqual(['E001 2:15 unexpected character `$`']);
    expect(items(source)).toEqual(['S[b] = Q[b]', '<error>', 'O[b] = S[b]']);
  });

  it('a malformed number is reported and becomes an error node', () => {
    const source = block('const C = 1e + 2');
    expect(errors(source)).toEqual(['E002 2:13 malformed number `1e`']);
    expect(items(source)).toEqual(['const C = (+ <error> 2)']);
  });

  it('stray tokens between blocks: reported, and the next block still parses', () => {
    const source = 'attention a { output X }\n}\nattention b { output Y }\nfoo\n';
    expect(errors(source)).toEqual([
      'E010 2:1 expected `attention` but found `}`',
      'E010 4:1 expected `attention` but found `foo`',
    ]);
    expect(items(source)).toEqual(['output X', 'output Y']);
  });

  it('an unclosed block before another block', () => {
    const source = 'attention a {\n  output X\nattention b { output Y }';
    expect(errors(source)).toEqual([
      'E010 3:1 expected a declaration, an equation or `}` but found `attention`',
    ]);
    expect(items(source)).toEqual(['output X', 'output Y']);
  });

  it(`rejects nesting deeper than ${MAX_NESTING} without a stack overflow`, () => {
    const deep = `attention a { T[i] = ${'('.repeat(5000)}x${')'.repeat(5000)} }`;
    const result = parseSource(deep, 'e.attn');
    expect(result.module).toBeUndefined();
    expect(result.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([
      `E010 expected at most ${MAX_NESTING} levels of nesting but found \`(\``,
    ]);
    expect(errors(`attention a { T[i] = ${'-'.repeat(5000)}x }`)).toHaveLength(1);
    expect(errors(`attention a { T[i] = ${'sum[m] '.repeat(5000)}x }`)).toHaveLength(1);
    const fine = `attention a { T[i] = ${'('.repeat(MAX_NESTING - 1)}x${')'.repeat(MAX_NESTING - 1)} }`;
    expect(errors(fine)).toEqual([]);
  });

  it('renders with a caret under the offending token', () => {
    const source = block('input Q[b, p', 'input K[b, m]');
    const [d] = parseSource(source, 'e.attn').diagnostics;
    expect(formatDiagnostic(d, createSourceFile('e.attn', source))).toBe(
      [
        'e.attn:3:3: error[E010]: expected `]` but found `input`',
        '  |',
        '3 |   input K[b, m]',
        '  |   ^^^^^',
      ].join('\n'),
    );
  });
});
