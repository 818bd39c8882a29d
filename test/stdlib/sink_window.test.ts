/**
 * stdlib/sink_window.attn (StreamingLLM / A-shape) against its float64 reference, on the CPU
 * interpreter (before and after the optimizer) and on WebGPU, plus what the optimizer did.
 */
import { afterAll, expect, test } from 'vitest';
import type { Dims } from '../reference/variants.ts';
import { sinkWindowKeep, sinkWindowReference } from '../reference/sink_window.ts';
import {
  blockVisits,
  describeEquivalence,
  dimsLabel,
  emptyRowsOf,
  expectPasses,
  loadSpec,
  noteOf,
  qkv,
  type Case,
} from './mask-harness.ts';

const FILE = 'stdlib/sink_window.attn';
const specs = {
  default: loadSpec(FILE, 'sink_window'),
  // Key tiles of 8 so that these small shapes have several tiles, some of them skipped.
  'tiles m=8 p=8': loadSpec(FILE, 'sink_window', { tiles: { m: 8, p: 8 } }),
};

const SHAPES: readonly { d: Dims; sinks: number; window: number }[] = [
  { d: { B: 1, HQ: 2, HK: 1, P: 13, M: 13, E: 8, F: 4 }, sinks: 2, window: 3 },
  { d: { B: 2, HQ: 4, HK: 2, P: 17, M: 37, E: 16, F: 8 }, sinks: 4, window: 5 }, // chunked prefill
  { d: { B: 1, HQ: 2, HK: 2, P: 1, M: 40, E: 8, F: 8 }, sinks: 4, window: 8 }, // decode step
  { d: { B: 1, HQ: 2, HK: 1, P: 1, M: 1, E: 4, F: 4 }, sinks: 4, window: 8 }, // M = 1
  { d: { B: 1, HQ: 2, HK: 2, P: 9, M: 4, E: 4, F: 6 }, sinks: 1, window: 2 }, // p < 5 sees nothing
  { d: { B: 1, HQ: 2, HK: 1, P: 11, M: 11, E: 4, F: 4 }, sinks: 0, window: 0 }, // nothing visible
  { d: { B: 1, HQ: 1, HK: 1, P: 23, M: 23, E: 8, F: 8 }, sinks: 9, window: 9 }, // regions overlap
];

const cases = (): Case[] =>
  SHAPES.map(({ d, sinks, window }, i) => {
    const { q, k, v, inputs } = qkv(d, 300 + i);
    return {
      label: `${dimsLabel(d)} sinks=${sinks} window=${window}`,
      inputs,
      params: { sinks, window },
      expected: sinkWindowReference(q, k, v, d, sinks, window),
      emptyRows: emptyRowsOf(d, sinkWindowKeep(d, sinks, window)),
    };
  });

const summary: string[] = [];
afterAll(() => console.log(`sink_window vs float64 reference:\n  ${summary.join('\n  ')}`));

test('the optimizer fuses the cascade and skips key tiles with affine bounds', () => {
  for (const spec of Object.values(specs)) {
    expectPasses(spec, ['tile', 'fuse', 'block-sparsity', 'head-grouping', 'split-kv']);
    expect(noteOf(spec, 'block-sparsity')).toContain('affine tile bounds');
    expect(spec.scheduled.schedule.fused).toEqual(['O']);
  }
});

test('fully masked rows exist in the test shapes', () => {
  expect(cases().filter((c) => (c.emptyRows ?? []).length > 0).length).toBeGreaterThanOrEqual(2);
});

test('block-sparsity visits the sink and window tiles only, and never skips a visible one', () => {
  const d: Dims = { B: 1, HQ: 1, HK: 1, P: 40, M: 40, E: 4, F: 4 };
  const sinks = 4;
  const window = 8;
  const { inputs } = qkv(d, 399);
  const visits = blockVisits(specs['tiles m=8 p=8'], inputs, { sinks, window });
  // Exact count from the mask, per (query tile of 8, key tile of 8).
  const keep = sinkWindowKeep(d, sinks, window);
  let exact = 0;
  for (let qt = 0; qt < 5; qt++)
    for (let kt = 0; kt < 5; kt++) {
      let any = false;
      for (let p = qt * 8; p < qt * 8 + 8; p++)
        for (let m = kt * 8; m < kt * 8 + 8; m++) any ||= keep(0, 0, p, m);
      if (any) exact++;
    }
  console.log(
    `sink_window P=M=40 sinks=4 window=8, tiles 8×8: visits ${visits.visited}/${visits.total} (exact ${exact})`,
  );
  expect(visits.visited).toBeGreaterThanOrEqual(exact);
  expect(visits.visited).toBeLessThan(visits.total);
});

describeEquivalence('sink_window', specs, cases, summary);
