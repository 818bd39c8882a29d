/**
 * stdlib/landmark.attn (Landmark Attention's grouped softmax) against its float64 reference
 * (test/reference/landmark.ts, from the paper's grouping, not from the spec's rewrite), on the
 * CPU interpreter before and after the optimizer and on WebGPU, including queries before the
 * start of the sequence (P > len), which see no key and must give exact zeros.
 */
import { afterAll, expect, test } from 'vitest';
import { tensor, type CompiledSpec } from '../../index.ts';
import { createRng } from '../helpers/rng.ts';
import { landmarkReference, type LandmarkDims } from '../reference/landmark.ts';
import {
  blockVisits,
  describeEquivalence,
  expectPasses,
  loadSpec,
  noteOf,
  type Case,
} from './mask-harness.ts';

const FILE = 'stdlib/landmark.attn';
const specs = {
  default: loadSpec(FILE, 'landmark'),
  'tiles m=8 p=8': loadSpec(FILE, 'landmark', { tiles: { m: 8, p: 8 } }),
};

function inputs(d: LandmarkDims, seed: number) {
  const rng = createRng(seed);
  const M = d.J * d.L;
  const q = Float32Array.from(rng.randnArray(d.B * d.H * d.P * d.E));
  const k = Float32Array.from(rng.randnArray(d.B * d.H * M * d.E));
  const v = Float32Array.from(rng.randnArray(d.B * d.H * M * d.F));
  return {
    q,
    k,
    v,
    inputs: {
      Q: tensor('f32', [d.B, d.H, d.P, d.E], q),
      K: tensor('f32', [d.B, d.H, d.J, d.L, d.E], k),
      V: tensor('f32', [d.B, d.H, d.J, d.L, d.F], v),
    },
  };
}

const SHAPES: readonly { d: LandmarkDims; len?: number }[] = [
  { d: { B: 1, H: 2, P: 13, J: 4, L: 4, E: 8, F: 4 } }, // the last 13 of 16 tokens
  { d: { B: 2, H: 2, P: 17, J: 5, L: 5, E: 8, F: 8 }, len: 23 }, // a partial last block
  { d: { B: 1, H: 1, P: 1, J: 8, L: 5, E: 8, F: 4 }, len: 37 }, // a decode step
  { d: { B: 1, H: 1, P: 31, J: 10, L: 4, E: 4, F: 4 }, len: 40 },
  { d: { B: 1, H: 2, P: 9, J: 6, L: 2, E: 4, F: 4 } }, // one regular token per block
  { d: { B: 1, H: 2, P: 7, J: 2, L: 3, E: 4, F: 4 }, len: 5 }, // p < 2 is before the sequence
  { d: { B: 1, H: 2, P: 1, J: 1, L: 2, E: 4, F: 4 }, len: 1 }, // one token
];

const cases = (): Case[] =>
  SHAPES.map(({ d, len }, i) => {
    const { q, k, v, inputs: t } = inputs(d, 600 + i);
    const n = len ?? d.J * d.L;
    const emptyRows: number[] = [];
    for (let b = 0; b < d.B; b++)
      for (let h = 0; h < d.H; h++)
        for (let p = 0; p < d.P; p++) if (p + n - d.P < 0) emptyRows.push((b * d.H + h) * d.P + p);
    return {
      label: `B${d.B} H${d.H} P${d.P} blocks ${d.J}×${d.L} len=${n} E${d.E} F${d.F}`,
      inputs: t,
      params: len === undefined ? undefined : { len },
      expected: landmarkReference(q, k, v, d, n),
      emptyRows,
    };
  });

const summary: string[] = [];
afterAll(() => console.log(`landmark vs float64 reference:\n  ${summary.join('\n  ')}`));

/**
 * Every case on the default tiles, and a few again on small tiles, where block skipping
 * matters (each WebGPU run costs about a second on lavapipe).
 */
function describeTiles(
  title: string,
  variants: Readonly<Record<string, CompiledSpec>>,
  cases: () => Case[],
  again: (i: number) => boolean = (i) => i < 3,
): void {
  const [[, first], ...rest] = Object.entries(variants);
  describeEquivalence(title, { default: first }, cases, summary);
  for (const [name, spec] of rest)
    describeEquivalence(
      `${title} · ${name}`,
      { [name]: spec },
      () => cases().filter((_, i) => again(i)),
      summary,
    );
}

test('the optimizer fuses the grouped softmax into one cascade and skips key tiles', () => {
  for (const spec of Object.values(specs)) {
    expectPasses(spec, ['tile', 'fuse', 'block-sparsity', 'split-kv'], ['head-grouping']);
    expect(spec.scheduled.schedule.fused).toEqual(['O']);
    expect(noteOf(spec, 'block-sparsity')).toContain('block summary');
  }
});

test('fully masked rows exist in the test shapes', () => {
  expect(cases().some((c) => (c.emptyRows ?? []).length > 0)).toBe(true);
});

test('with a single block the grouped softmax is causal softmax over the regular tokens', () => {
  const d: LandmarkDims = { B: 1, H: 1, P: 6, J: 1, L: 7, E: 4, F: 3 };
  const { q, k, v } = inputs(d, 650);
  const out = landmarkReference(q, k, v, d, 7);
  for (let p = 0; p < 6; p++) {
    const t = p + 1; // len - P = 1
    const keys = Array.from({ length: Math.min(t, 5) + 1 }, (_, m) => m).filter((m) => m !== 6);
    const s = keys.map((m) => {
      let dot = 0;
      for (let e = 0; e < 4; e++) dot += q[p * 4 + e] * k[m * 4 + e];
      return dot / 2;
    });
    const z = s.reduce((a, x) => a + Math.exp(x), 0);
    for (let f = 0; f < 3; f++) {
      const o = keys.reduce((a, m, i) => a + (Math.exp(s[i]) / z) * v[m * 3 + f], 0);
      expect(out[p * 3 + f]).toBeCloseTo(o, 12);
    }
  }
});

test('block-sparsity skips the key tiles after the query', () => {
  const d: LandmarkDims = { B: 1, H: 1, P: 40, J: 10, L: 4, E: 4, F: 4 };
  const visits = blockVisits(specs['tiles m=8 p=8'], inputs(d, 699).inputs);
  console.log(`landmark P=M=40 L=4, tiles 8×8: visits ${visits.visited}/${visits.total}`);
  // Causal: query tile i sees key tiles 0..i, 15 of the 25 pairs.
  expect(visits).toMatchObject({ visited: 15, total: 25 });
});

// The shapes with a partial block, a decode step and rows before the sequence on small tiles.
describeTiles('landmark', specs, cases, (i) => [1, 2, 5].includes(i));
