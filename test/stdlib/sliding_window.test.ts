/**
 * stdlib/sliding_window.attn against its float64 reference (`slidingWindowReference`, written
 * from the header's formula), on the CPU interpreter (before and after the optimizer) and on
 * WebGPU, including fully masked rows and extents that are not multiples of the tile sizes.
 */
import { afterAll, expect, test } from 'vitest';
import { slidingWindowReference, type Dims } from '../reference/variants.ts';
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

const FILE = 'stdlib/sliding_window.attn';
const specs = {
  default: loadSpec(FILE, 'sliding_window'),
  'tiles m=8 p=8': loadSpec(FILE, 'sliding_window', { tiles: { m: 8, p: 8 } }),
};

/** The header's visibility: 0 <= (p + M - P) - m < window. */
const keepOf = (d: Dims, window: number) => (_b: number, _h: number, p: number, m: number) => {
  const distance = p + d.M - d.P - m;
  return distance >= 0 && distance < window;
};

const SHAPES: readonly { d: Dims; window: number }[] = [
  { d: { B: 1, HQ: 2, HK: 1, P: 13, M: 13, E: 8, F: 4 }, window: 4 },
  { d: { B: 2, HQ: 4, HK: 2, P: 17, M: 37, E: 16, F: 8 }, window: 11 }, // chunked prefill
  { d: { B: 1, HQ: 3, HK: 1, P: 1, M: 40, E: 8, F: 8 }, window: 9 }, // decode step
  { d: { B: 1, HQ: 2, HK: 2, P: 1, M: 1, E: 4, F: 4 }, window: 3 }, // M = 1
  { d: { B: 1, HQ: 2, HK: 2, P: 9, M: 4, E: 4, F: 6 }, window: 2 }, // p < 5 sees nothing
  { d: { B: 1, HQ: 2, HK: 1, P: 7, M: 7, E: 4, F: 4 }, window: 0 }, // nothing visible
  { d: { B: 1, HQ: 1, HK: 1, P: 31, M: 31, E: 8, F: 8 }, window: 100 }, // wider than M: causal
];

const cases = (): Case[] =>
  SHAPES.map(({ d, window }, i) => {
    const { q, k, v, inputs } = qkv(d, 200 + i);
    return {
      label: `${dimsLabel(d)} window=${window}`,
      inputs,
      params: { window },
      expected: slidingWindowReference(q, k, v, d, window),
      emptyRows: emptyRowsOf(d, keepOf(d, window)),
    };
  });

const summary: string[] = [];
afterAll(() => console.log(`sliding_window vs float64 reference:\n  ${summary.join('\n  ')}`));

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

test('block-sparsity visits the band of tiles only, and never skips a visible one', () => {
  const d: Dims = { B: 1, HQ: 1, HK: 1, P: 40, M: 40, E: 4, F: 4 };
  const window = 8;
  const { inputs } = qkv(d, 299);
  const visits = blockVisits(specs['tiles m=8 p=8'], inputs, { window });
  const keep = keepOf(d, window);
  let exact = 0;
  for (let qt = 0; qt < 5; qt++)
    for (let kt = 0; kt < 5; kt++) {
      let any = false;
      for (let p = qt * 8; p < qt * 8 + 8; p++)
        for (let m = kt * 8; m < kt * 8 + 8; m++) any ||= keep(0, 0, p, m);
      if (any) exact++;
    }
  console.log(
    `sliding_window P=M=40 window=8, tiles 8×8: visits ${visits.visited}/${visits.total} (exact ${exact})`,
  );
  expect(visits.visited).toBeGreaterThanOrEqual(exact);
  expect(visits.visited).toBeLessThan(visits.total);
});

describeEquivalence('sliding_window', specs, cases, summary);
