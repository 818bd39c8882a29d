/**
 * stdlib/hilo.attn (HiLo: window-attention heads and pooled-K/V heads in one output) against
 * its float64 reference (test/reference/hilo.ts), on the CPU interpreter before and after the
 * optimizer and on WebGPU. Every query has keys (its own window, or the pooled windows), so no
 * row is empty; a 1 × 1 image has no whole window and is outside HiLo's domain (Y, X >= S).
 */
import { afterAll, expect, test } from 'vitest';
import { tensor, type CompiledSpec } from '../../index.ts';
import { createRng } from '../helpers/rng.ts';
import type { Dims2d } from '../reference/grid_dilated2d.ts';
import { hiloReference } from '../reference/hilo.ts';
import {
  blockVisits,
  describeEquivalence,
  expectPasses,
  loadSpec,
  noteOf,
  type Case,
} from './mask-harness.ts';

const FILE = 'stdlib/hilo.attn';
const S = 2; // the spec's const
const specs = {
  default: loadSpec(FILE, 'hilo'),
  'tiles m=8 n=8 x=4': loadSpec(FILE, 'hilo', { tiles: { m: 8, n: 8, x: 4 } }),
};

function qkv2d(d: Dims2d, seed: number) {
  const rng = createRng(seed);
  const n = d.B * d.H * d.Y * d.X;
  const q = Float32Array.from(rng.randnArray(n * d.E));
  const k = Float32Array.from(rng.randnArray(n * d.E));
  const v = Float32Array.from(rng.randnArray(n * d.F));
  const shape = [d.B, d.H, d.Y, d.X];
  return {
    q,
    k,
    v,
    inputs: {
      Q: tensor('f32', [...shape, d.E], q),
      K: tensor('f32', [...shape, d.E], k),
      V: tensor('f32', [...shape, d.F], v),
    },
  };
}

const SHAPES: readonly { d: Dims2d; hifi?: number }[] = [
  { d: { B: 1, H: 4, Y: 6, X: 6, E: 8, F: 4 } }, // the default split, H / 2
  { d: { B: 2, H: 3, Y: 4, X: 8, E: 8, F: 8 }, hifi: 1 },
  { d: { B: 1, H: 2, Y: 5, X: 6, E: 4, F: 4 }, hifi: 1 }, // odd height: clipped / dropped windows
  { d: { B: 1, H: 2, Y: 4, X: 4, E: 4, F: 4 }, hifi: 0 }, // Lo-Fi only
  { d: { B: 1, H: 2, Y: 4, X: 4, E: 4, F: 4 }, hifi: 2 }, // Hi-Fi only
  { d: { B: 1, H: 2, Y: 2, X: 2, E: 4, F: 4 }, hifi: 1 }, // one window
  { d: { B: 1, H: 2, Y: 2, X: 14, E: 4, F: 4 }, hifi: 1 }, // N = 7 pooled keys, M = 28
];

const cases = (): Case[] =>
  SHAPES.map(({ d, hifi }, i) => {
    const { q, k, v, inputs } = qkv2d(d, 400 + i);
    const split = hifi ?? Math.floor(d.H / 2);
    return {
      label: `B${d.B} H${d.H} ${d.Y}×${d.X} E${d.E} F${d.F} hifi=${split}`,
      inputs,
      params: hifi === undefined ? undefined : { hifi },
      expected: hiloReference(q, k, v, d, { S, hifi: split }),
    };
  });

const summary: string[] = [];
afterAll(() => console.log(`hilo vs float64 reference:\n  ${summary.join('\n  ')}`));

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

test('the optimizer fuses both cascades and skips the Hi-Fi tiles outside the window', () => {
  for (const spec of Object.values(specs)) {
    expectPasses(spec, ['tile', 'fuse', 'block-sparsity', 'split-kv'], ['head-grouping']);
    expect(spec.scheduled.schedule.fused).toEqual(['OH', 'OL']);
    expect(noteOf(spec, 'block-sparsity')).toContain('`OH` (block summary');
  }
});

test('a Lo-Fi head over a single window returns the mean of V', () => {
  const d = SHAPES[5].d;
  const { q, k, v } = qkv2d(d, 405);
  const out = hiloReference(q, k, v, d, { S, hifi: 1 });
  for (let f = 0; f < d.F; f++) {
    const mean = (v[16 + f] + v[20 + f] + v[24 + f] + v[28 + f]) / 4; // head 1, 4 tokens
    for (let p = 0; p < 4; p++) expect(out[16 + p * d.F + f]).toBeCloseTo(mean, 12);
  }
});

test('Hi-Fi heads visit only the key tiles of their window row', () => {
  // 8 × 8 image, key tiles of 8 = one image row; a query row y sees rows 2⌊y/2⌋ and +1:
  // 2 of 8 tiles per Hi-Fi query tile, none for the Lo-Fi head (h >= hifi).
  const d: Dims2d = { B: 1, H: 2, Y: 8, X: 8, E: 4, F: 4 };
  const spec = loadSpec(FILE, 'hilo', { tiles: { m: 8, n: 8, x: 8 } });
  const visits = blockVisits(spec, qkv2d(d, 499).inputs, { hifi: 1 });
  console.log(
    `hilo 8×8 hifi=1, tiles m=8 x=8: Hi-Fi cascade visits ${visits.visited}/${visits.total}`,
  );
  expect(visits).toMatchObject({ visited: 8 * 2, total: 2 * 8 * 8 });
});

describeTiles('hilo', specs, cases);
