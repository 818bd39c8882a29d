/**
 * The formatter (`grammar/format.ts`, behind `attnc fmt`): same meaning, same comments,
 * idempotent, independent of horizontal whitespace, and the canonical layout its header
 * describes (the expected texts below are written from those rules, not captured output).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkSource } from '../../index.ts';
import { programsEqual } from '../../compiler/ir-equal.ts';
import { formatSource } from '../../grammar/format.ts';
import { lex } from '../../grammar/lexer.ts';
import { ROOT } from './harness.ts';

const FILES = [
  'stdlib/gqa.attn',
  'stdlib/mha.attn',
  'stdlib/onnx_attention.attn',
  'stdlib/relpos_bias.attn',
  'stdlib/sliding_window.attn',
  'stdlib/softcap.attn',
  'examples/causal_linear.attn',
  'examples/gqa_softcap.attn',
];

function fmt(text: string): string {
  const r = formatSource(text, 'test.attn');
  if (!r.ok) throw new Error(`unexpected syntax errors: ${r.diagnostics.map((d) => d.message)}`);
  return r.text;
}

const comments = (text: string) => lex(text).comments.map((c) => c.image.trimEnd());

/** Extra spaces between tokens and random indentation: nothing a formatter should keep. */
function jiggle(text: string, seed: number): string {
  let state = seed;
  const next = (n: number) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 16) % n;
  };
  const { tokens, comments: cs } = lex(text);
  const all = [...tokens, ...cs].sort((a, b) => a.startOffset - b.startOffset);
  let out = text.slice(0, all[0]?.startOffset ?? 0);
  all.forEach((t, i) => {
    out += t.image;
    const end = t.startOffset + t.image.length;
    const gap = text.slice(end, all[i + 1]?.startOffset ?? text.length);
    out += gap.includes('\n')
      ? gap.replace(/[ \t]*$/, ' '.repeat(next(7)))
      : gap + ' '.repeat(next(3));
  });
  return out;
}

describe.each(FILES)('%s', (file) => {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const formatted = fmt(text);

  it('formats to the same IR', () => {
    const before = checkSource(text, file);
    const after = checkSource(formatted, file);
    expect(before.programs.length).toBeGreaterThan(0);
    expect(after.diagnostics.map((d) => d.code)).toEqual(before.diagnostics.map((d) => d.code));
    expect(after.programs).toHaveLength(before.programs.length);
    after.programs.forEach((p, i) => expect(programsEqual(p, before.programs[i])).toBe(true));
  });

  it('is idempotent and keeps every comment', () => {
    expect(fmt(formatted)).toBe(formatted);
    expect(comments(formatted)).toEqual(comments(text));
  });

  it('ignores extra spaces and indentation', () => {
    for (const seed of [1, 2, 3]) {
      const jiggled = jiggle(text, seed);
      expect(jiggled).not.toBe(text);
      expect(fmt(jiggled)).toBe(formatted);
    }
  });
});

describe('canonical layout', () => {
  it('spaces, indentation, items, blank lines and comments', () => {
    const messy = [
      '',
      '',
      '# header   ',
      'attention   messy{   # on the header',
      'input X[ i,j ,k ]:f32',
      '  input   Len[i] : i32 ; param cap:f32=50.0',
      '      param neg = -  1.5e-3     # neg',
      '',
      '',
      '  # own line',
      '  A[i,j]=sum[k](X[i,j,k]*2)where k<Len[i]&&!(j>3)',
      '  B[i] = -A[i,j]*cap',
      '      # inside an item',
      '      + max(A[i, j], -inf)',
      '  D[i,j] = softmax[j](A[i,j])',
      '  init R[0] = 0; R[i+1] = R[i] + B[i]',
      '  output A,B ,D ,R   # out',
      '',
      '}',
      'attention second { input Y[n]',
      'O[n] = Y[n] - - Y[n]',
      'output O }',
      '# end',
    ].join('\n');
    expect(fmt(messy)).toBe(
      [
        '# header',
        'attention messy {  # on the header',
        '  input X[i, j, k]: f32',
        '  input Len[i]: i32',
        '  param cap: f32 = 50.0',
        '  param neg = -1.5e-3  # neg',
        '',
        '  # own line',
        '  A[i, j] = sum[k] (X[i, j, k] * 2)   where k < Len[i] && !(j > 3)',
        '  B[i] = -A[i, j] * cap',
        '        # inside an item',
        '        + max(A[i, j], -inf)',
        '  D[i, j] = softmax[j](A[i, j])',
        '  init R[0] = 0',
        '  R[i + 1] = R[i] + B[i]',
        '  output A, B, D, R  # out',
        '}',
        '',
        'attention second {',
        '  input Y[n]',
        '  O[n] = Y[n] - -Y[n]',
        '  output O',
        '}',
        '',
        '# end',
        '',
      ].join('\n'),
    );
  });

  it('continuation lines: brackets, leading operators and a filter on its own line', () => {
    const text = [
      'attention c {',
      'input X[i, j]',
      'C[i, j] = select(X[i, j] > 0,',
      'X[i, j],',
      '- X[i, j])',
      'where i <= j',
      '&& (j == 0',
      '|| i == 1)',
      'D[i, j] = f(',
      'g(X[i, j],',
      'X[i, j]))   where i <= j',
      '|| j == 0',
      'output C, D',
      '}',
    ].join('\n');
    expect(fmt(text)).toBe(
      [
        'attention c {',
        '  input X[i, j]',
        '  C[i, j] = select(X[i, j] > 0,',
        '      X[i, j],',
        '      -X[i, j])',
        '      where i <= j',
        '         && (j == 0',
        '           || i == 1)',
        '  D[i, j] = f(',
        '      g(X[i, j],',
        '        X[i, j]))   where i <= j',
        '        || j == 0',
        '  output C, D',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('puts each schedule directive on its own line, one level deeper', () => {
    const text = [
      'attention s {',
      'input X[i, m]',
      'Y[i] = X[i, m]',
      'output Y',
      'schedule { tile m = 64; tile i=16',
      '  split m }',
      '}',
    ].join('\n');
    expect(fmt(text)).toBe(
      [
        'attention s {',
        '  input X[i, m]',
        '  Y[i] = X[i, m]',
        '  output Y',
        '  schedule {',
        '    tile m = 64',
        '    tile i = 16',
        '    split m',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('aligns the trailing comments of consecutive lines', () => {
    const text =
      'attention a {\n  input X[i]  # x\n  param long_name: f32 = 1 # p\n\n  O[i] = X[i] # o\n  output O\n}\n';
    expect(fmt(text)).toBe(
      'attention a {\n  input X[i]                # x\n  param long_name: f32 = 1  # p\n\n  O[i] = X[i]  # o\n  output O\n}\n',
    );
  });

  it('writes \\n line ends and single spaces for CRLF files and tabs', () => {
    const text = 'attention a {\r\n\tinput X[i]\t# x\r\n\tO[i] =\tX[i]\r\n\toutput O\r\n}\r\n';
    expect(fmt(text)).toBe('attention a {\n  input X[i]  # x\n  O[i] = X[i]\n  output O\n}\n');
  });

  it('refuses a file with syntax errors', () => {
    const r = formatSource('attention a {\n  input X[i\n}\n', 'bad.attn');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.diagnostics[0].code).toBe('E010');
  });
});
