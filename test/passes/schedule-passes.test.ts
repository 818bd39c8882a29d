/**
 * head-grouping and split-kv change only the schedule: the statements stay as they are.
 */
import { describe, expect, test } from 'vitest';
import { printProgram } from '../../compiler/ir-print.ts';
import { headGrouping } from '../../compiler/passes/head-grouping.ts';
import { runPipeline } from '../../compiler/passes/pipeline.ts';
import { splitKv } from '../../compiler/passes/split-kv.ts';
import { context, expectDecline, program } from './harness.ts';

const GQA = `attention g {
  input Q[b, hq, p, e]
  input K[b, hk, m, e]
  input V[b, hk, m, f]
  const G = HQ / HK
  S[b, hq, p, m] = Q[b, hq, p, e] * K[b, hq / G, m, e]
  A[b, hq, p, m] = softmax[m](S[b, hq, p, m])
  O[b, hq, p, f] = A[b, hq, p, m] * V[b, hq / G, m, f]
  output O
}`;

const fusedOnly = (text: string) =>
  runPipeline(program(text), context(), { only: ['tile', 'fuse'] }).program;

describe('head-grouping', () => {
  test('records `group hq / G` when keys and values are read at `hq / G`', () => {
    const before = fusedOnly(GQA);
    const after = headGrouping.run(before, context());
    expect(after.schedule.groups).toEqual([{ index: 'hq', by: 'G' }]);
    expect(after.body).toBe(before.body);
    expect(printProgram(after)).toContain('group hq / G');
    expect(headGrouping.run(after, context())).toBe(after);
  });

  test('declines for plain multi-head attention', () => {
    const mha = GQA.replace(/hq \/ G/g, 'hq')
      .replace('input K[b, hk, m, e]', 'input K[b, hq, m, e]')
      .replace('input V[b, hk, m, f]', 'input V[b, hq, m, f]')
      .replace('  const G = HQ / HK\n', '');
    const p = fusedOnly(mha);
    const check = headGrouping.applies(p, context());
    expect(check.applies).toBe(false);
  });

  test('declines when nothing is fused', () => {
    expectDecline(headGrouping, GQA, 'nothing is fused');
  });
});

describe('split-kv', () => {
  test('records `split m1` for a fused attention; the number of splits is chosen at run time', () => {
    const before = fusedOnly(GQA);
    const after = splitKv.run(before, context());
    expect(after.schedule.splits).toEqual(['m1']);
    expect(after.body).toBe(before.body);
    expect(splitKv.applies(after, context()).applies).toBe(false);
  });
});
