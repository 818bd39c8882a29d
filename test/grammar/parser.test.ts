import { describe, expect, it } from 'vitest';
import type * as ast from '../../grammar/ast.ts';
import { parseSource } from '../../grammar/index.ts';
import { createSourceFile, positionOf, type Span } from '../../compiler/diagnostics/source.ts';
import { sexpr } from './sexpr.ts';

/** Parses a spec that must be valid. */
function parseOk(source: string): ast.Module {
  const { module, diagnostics } = parseSource(source, 'test.attn');
  expect(diagnostics).toEqual([]);
  expect(module).toBeDefined();
  return module!;
}

/** The right-hand side of `T[i] = <text>`, as an S-expression. */
function rhs(text: string): string {
  const item = parseOk(`attention t { T[i] = ${text} }`).attentions[0].items[0];
  if (item.kind !== 'equation') throw new Error(`not an equation: ${item.kind}`);
  return sexpr(item.value);
}

const GQA = `# comment to end of line
attention gqa_softcap {
  input Q[b, hq, p, e]              # dtype optional
  input K[b, hk, m, e]
  input V[b, hk, m, f]
  input Mask[b, p, m]: bool
  param cap: f32 = 50.0
  param scale = 1
  const G = HQ / HK
  S[b, hq, p, m]  = Q[b, hq, p, e] * K[b, hq / G, m, e] * rsqrt(E)   where m <= p
  GM[b, hq, p]    = max[m] S[b, hq, p, m]
  SD[b, hq, p]    = sum[m] exp(S[b, hq, p, m] - GM[b, hq, p])
  A[b, hq, p, m]  = softmax[m](S[b, hq, p, m]) where m <= p
  init RM[0, p] = -inf
  RM[m1 + 1, p] = max(RM[m1, p], LM[m1, p])
  O[b, hq, p, f]  = A[b, hq, p, m] * V[b, hq / G, m, f]
  output O, LSE
}
attention second { param x = 1e-3; output x }
`;

describe('parser: the example spec', () => {
  const module = parseOk(GQA);
  const [gqa, second] = module.attentions;

  it('has both blocks, with their names', () => {
    expect(module.attentions.map((a) => a.name.text)).toEqual(['gqa_softcap', 'second']);
    expect(module.span).toEqual({ start: 0, end: GQA.length });
  });

  it('builds every item', () => {
    expect(gqa.items.map(sexpr)).toEqual([
      'input Q[b hq p e]',
      'input K[b hk m e]',
      'input V[b hk m f]',
      'input Mask[b p m]: bool',
      'param cap: f32 = 50.0',
      'param scale = 1',
      'const G = (/ HQ HK)',
      'S[b hq p m] = (* (* Q[b hq p e] K[b (/ hq G) m e]) (rsqrt E)) where (<= m p)',
      'GM[b hq p] = (max[m] S[b hq p m])',
      'SD[b hq p] = (sum[m] (exp (- S[b hq p m] GM[b hq p])))',
      'A[b hq p m] = (softmax[m] S[b hq p m]) where (<= m p)',
      'init RM[0 p] = (- inf)',
      'RM[(+ m1 1) p] = (max RM[m1 p] LM[m1 p])',
      'O[b hq p f] = (* A[b hq p m] V[b (/ hq G) m f])',
      'output O LSE',
    ]);
    expect(second.items.map(sexpr)).toEqual(['param x = 1e-3', 'output x']);
  });

  it('keeps optional dtype and param type as null when absent', () => {
    const [q, , , mask, cap, scale] = gqa.items;
    expect(q).toMatchObject({ kind: 'input', dtype: null });
    expect(mask).toMatchObject({ kind: 'input', dtype: { text: 'bool' } });
    expect(cap).toMatchObject({ kind: 'param', type: { text: 'f32' } });
    expect(scale).toMatchObject({ kind: 'param', type: null });
  });

  it('marks the reducer and the macro call', () => {
    const gm = gqa.items[8] as ast.EquationStmt;
    expect(gm.value).toMatchObject({ kind: 'reduction', reducer: 'max', indices: [{ text: 'm' }] });
    const a = gqa.items[10] as ast.EquationStmt;
    expect(a.value).toMatchObject({
      kind: 'macro',
      callee: { text: 'softmax' },
      indices: [{ text: 'm' }],
    });
    expect(a.filter).toMatchObject({ kind: 'binary', op: '<=' });
    const rm = gqa.items[12] as ast.EquationStmt;
    expect(rm.value).toMatchObject({ kind: 'call', callee: { text: 'max' } });
  });

  it('gives every node the span of its text', () => {
    const file = createSourceFile('test.attn', GQA);
    const at = (span: Span) => positionOf(file, span.start);
    const text = (span: Span) => GQA.slice(span.start, span.end);
    const s = gqa.items[7] as ast.EquationStmt;
    expect(at(s.span)).toEqual({ line: 10, column: 3 });
    expect(text(s.span)).toBe(
      'S[b, hq, p, m]  = Q[b, hq, p, e] * K[b, hq / G, m, e] * rsqrt(E)   where m <= p',
    );
    expect(text(s.target.span)).toBe('S');
    expect(text(s.filter!.span)).toBe('m <= p');
    const product = s.value as ast.Binary;
    expect(text(product.span)).toBe('Q[b, hq, p, e] * K[b, hq / G, m, e] * rsqrt(E)');
    expect(at(product.opSpan)).toEqual({ line: 10, column: 57 });
    expect(text(product.opSpan)).toBe('*');
    const k = (product.left as ast.Binary).right as ast.TensorAccess;
    expect(text(k.span)).toBe('K[b, hq / G, m, e]');
    expect(text(k.subscripts[1].span)).toBe('hq / G');
    const gm = (gqa.items[8] as ast.EquationStmt).value as ast.Reduction;
    expect(text(gm.span)).toBe('max[m] S[b, hq, p, m]');
    expect(text(gm.reducerSpan)).toBe('max');
    expect(at(gm.indices[0].span)).toEqual({ line: 11, column: 25 });
    const init = gqa.items[11] as ast.InitStmt;
    expect(text(init.span)).toBe('init RM[0, p] = -inf');
    expect(text(gqa.items[14].span)).toBe('output O, LSE');
    expect(text(gqa.span)).toBe(
      GQA.slice(GQA.indexOf('attention gqa'), GQA.indexOf('attention second') - 1),
    );
  });
});

describe('parser: expressions', () => {
  it.each([
    ['a + b * c', '(+ a (* b c))'],
    ['a * b + c', '(+ (* a b) c)'],
    ['a - b - c', '(- (- a b) c)'],
    ['a / b / c % d', '(% (/ (/ a b) c) d)'],
    ['-x * y', '(* (- x) y)'],
    ['--x', '(- (- x))'],
    ['!a && b', '(&& (! a) b)'],
    ['a < b && c || d', '(|| (&& (< a b) c) d)'],
    ['a || b && c', '(|| a (&& b c))'],
    ['a + 1 >= b * 2', '(>= (+ a 1) (* b 2))'],
    ['a == b != c', '<error>'],
    ['(a + b) * c', '(* {(+ a b)} c)'],
    ['sum[m] a * b + c', '(sum[m] (+ (* a b) c))'],
    ['max[m, n] x', '(max[m n] x)'],
    ['x + sum[m] y * z', '(+ x (sum[m] (* y z)))'],
    ['(sum[m] x) + 1', '(+ {(sum[m] x)} 1)'],
    ['max(a, b)', '(max a b)'],
    ['max[m](x) + 1', '(max[m] (+ {x} 1))'],
    ['min(a, b) + sum(a)', '(+ (min a b) (sum a))'],
    ['f()', '(f)'],
    ['tanh(x / cap) * cap', '(* (tanh (/ x cap)) cap)'],
    ['softmax[m, n](x, y)', '(softmax[m n] x y)'],
    ['Q[b, hq / G, m + 1]', 'Q[b (/ hq G) (+ m 1)]'],
    ['S[]', 'S[]'],
    ['true && !false', '(&& true (! false))'],
    ['-inf + pi', '(+ (- inf) pi)'],
  ])('%s', (text, expected) => {
    if (expected === '<error>') {
      const { diagnostics } = parseSource(`attention t { T[i] = ${text} }`, 't.attn');
      expect(diagnostics.map((d) => d.code)).toEqual(['E010']);
      return;
    }
    expect(rhs(text)).toBe(expected);
  });

  it('reads numbers', () => {
    const num = (text: string) => {
      const item = parseOk(`attention t { const C = ${text} }`).attentions[0]
        .items[0] as ast.ConstDecl;
      return item.value;
    };
    expect(num('12')).toMatchObject({ kind: 'number', value: 12, text: '12', isInteger: true });
    expect(num('0.5')).toMatchObject({ kind: 'number', value: 0.5, isInteger: false });
    expect(num('1e-3')).toMatchObject({ kind: 'number', value: 0.001, isInteger: false });
    expect(num('2.5E+4')).toMatchObject({ kind: 'number', value: 25000, isInteger: false });
    expect(num('true')).toMatchObject({ kind: 'bool', value: true });
  });

  it('spans a binary node over its operands and its operator alone', () => {
    const source = 'attention t { T[i] = a  +  b }';
    const value = (parseOk(source).attentions[0].items[0] as ast.EquationStmt).value as ast.Binary;
    expect(source.slice(value.span.start, value.span.end)).toBe('a  +  b');
    expect(source.slice(value.opSpan.start, value.opSpan.end)).toBe('+');
  });
});

describe('parser: items and blocks', () => {
  it('accepts an empty file and empty blocks (E012 is the checker’s)', () => {
    expect(parseOk('').attentions).toEqual([]);
    expect(parseOk('# only a comment\n').attentions).toEqual([]);
    expect(parseOk('attention a {}').attentions[0].items).toEqual([]);
  });

  it('needs no newlines between items, and accepts `;` between them', () => {
    const one = parseOk('attention a { input Q[i] T[i] = Q[i] * 2 output T }');
    const two = parseOk('attention a {\n input Q[i];\n T[i] = Q[i] * 2;;\n output T;\n}');
    expect(one.attentions[0].items.map(sexpr)).toEqual([
      'input Q[i]',
      'T[i] = (* Q[i] 2)',
      'output T',
    ]);
    expect(two.attentions[0].items.map(sexpr)).toEqual(one.attentions[0].items.map(sexpr));
  });

  it('parses several blocks', () => {
    const m = parseOk('attention a { output X } attention b { output Y }\nattention c {}');
    expect(m.attentions.map((a) => a.name.text)).toEqual(['a', 'b', 'c']);
  });

  it('ends an expression at the next item even without a separator', () => {
    const m = parseOk('attention a { A[i] = x\nB[i] = f(y)\nC[i] = sum[m] D[m]\noutput C }');
    expect(m.attentions[0].items.map(sexpr)).toEqual([
      'A[i] = x',
      'B[i] = (f y)',
      'C[i] = (sum[m] D[m])',
      'output C',
    ]);
  });

  it('reads CRLF line endings like LF', () => {
    const lf = 'attention a {\n  input Q[i]\n  T[i] = Q[i] # note\n  output T\n}\n';
    const crlf = parseOk(lf.replace(/\n/g, '\r\n')).attentions[0].items.map(sexpr);
    expect(crlf).toEqual(parseOk(lf).attentions[0].items.map(sexpr));
  });

  it('allows an empty subscript list (a rank-0 tensor)', () => {
    const m = parseOk('attention a { input s[]  T[] = s[] * 2 }');
    expect(m.attentions[0].items.map(sexpr)).toEqual(['input s[]', 'T[] = (* s[] 2)']);
  });
});
