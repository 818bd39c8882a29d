/**
 * docs/language.md is tested: every `attn` code block compiles without diagnostics, its printed
 * IR round-trips, and the blocks that state a result (`# expect:`) are run and checked against
 * that statement, computed here by hand.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { compile, interpret, tensor } from '../../index.ts';
import { checkSource } from '../../compiler/front-end.ts';
import { irKey } from '../../compiler/ir-equal.ts';
import { printProgram } from '../../compiler/ir-print.ts';

const doc = readFileSync(new URL('../../docs/language.md', import.meta.url), 'utf8');
const blocks = [...doc.matchAll(/```attn\n([\s\S]*?)```/g)].map((m) => m[1]);
const nameOf = (block: string) => /attention\s+(\w+)/.exec(block)![1];

test('the reference has an example for every construct', () => {
  const text = blocks.join('\n');
  for (const construct of [
    'input',
    'param',
    'const',
    'where',
    'sum[',
    'max[',
    'min[',
    'init',
    'output',
    'softmax[',
    '%',
    'select(',
  ]) {
    expect(text, construct).toContain(construct);
  }
});

describe.each(blocks.map((b) => ({ name: nameOf(b), block: b })))('$name', ({ block }) => {
  test('compiles without diagnostics and round-trips through the printer', () => {
    const r = checkSource(block, 'language.md');
    expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
    for (const p of r.programs)
      expect(irKey(checkSource(printProgram(p)).programs[0])).toBe(irKey(p));
  });
});

function run(block: string, inputs: Parameters<typeof interpret>[1]) {
  const r = compile(block);
  if (!r.ok) throw new Error('does not compile');
  const out = interpret(r.specs[0].program, inputs);
  if (!out.ok) throw new Error(out.diagnostics.map((d) => d.message).join('; '));
  return out.outputs;
}

test('nothing_visible: a fully masked softmax gives zeros, not NaN', () => {
  const block = blocks.find((b) => nameOf(b) === 'nothing_visible')!;
  const o = run(block, {
    Q: tensor('f32', [2, 3], [1, 2, 3, 4, 5, 6]),
    K: tensor('f32', [4, 3], Array(12).fill(1)),
    V: tensor('f32', [4, 2], Array(8).fill(7)),
  }).O;
  expect([...o.data]).toEqual([0, 0, 0, 0]);
});

test('scans: running maximum and a filtered running sum', () => {
  const block = blocks.find((b) => nameOf(b) === 'scans')!;
  const x = [3, -1, 500, 2];
  const out = run(block, { X: tensor('f32', [4], x) });
  // RUN[n] = max(X[0..n-1]) with RUN[0] = -inf; TOTAL skips 500 (>= cutoff 100).
  expect([...out.RUN.data]).toEqual([-Infinity, 3, 3, 500, 500]);
  expect([...out.TOTAL.data]).toEqual([0, 3, 2, 2, 4]);
});

test('top2: the two largest keys per row, and the gathered values', () => {
  const block = blocks.find((b) => nameOf(b) === 'top2')!;
  // Row 0: S = [0.5, 3, 2] → keys 1, 2; row 1: S = [7, 7, 1] → a tie: key 0 before key 1.
  const out = run(block, {
    S: tensor('f32', [2, 3], [0.5, 3, 2, 7, 7, 1]),
    V: tensor('f32', [3, 1], [10, 20, 30]),
  });
  expect([...out.Idx.data]).toEqual([1, 2, 0, 1]);
  expect([...out.KV.data]).toEqual([20, 30, 10, 20]);
});

test('concat: two pieces write the two halves of the key axis', () => {
  const block = blocks.find((b) => nameOf(b) === 'concat')!;
  const out = run(block, {
    Past: tensor('f32', [2, 1], [1, 2]),
    New: tensor('f32', [3, 1], [3, 4, 5]),
  });
  expect(out.KC.shape).toEqual([5, 1]);
  expect([...out.KC.data]).toEqual([1, 2, 3, 4, 5]);
});
