/**
 * stdlib/grid_dilated2d.attn (MaxViT grid, CrossFormer long-distance attention) against its
 * float64 reference (test/reference/grid_dilated2d.ts), on the CPU interpreter before and
 * after the optimizer and on WebGPU. Every token sees at least itself, so no row is empty.
 */
import { afterAll, expect, test } from 'vitest';
import { tensor, type CompiledSpec } from '../../index.ts';
import { createRng } from '../helpers/rng.ts';
import {
  attention2d,
  dilatedKeep,
  gridKeep,
  type Dims2d,
  type Keep2d,
} from '../reference/grid_dilated2d.ts';
import {
  blockVisits,
  describeEquivalence,
  expectPasses,
  loadSpec,
  noteOf,
  type Case,
} from './mask-harness.ts';

const FILE = 'stdlib/grid_dilated2d.attn';
// Small tiles make block skipping matter on small images (a key tile of 8 is one row of an 8-wide image).
const variants = (block: string) => ({
  default: loadSpec(FILE, block),
  'tiles m=8 x=4': loadSpec(FILE, block, { tiles: { m: 8, x: 4 } }),
});
const grid = variants('grid2d');
const dilated = variants('dilated2d');

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

const label = (d: Dims2d) => `B${d.B} H${d.H} ${d.Y}×${d.X} E${d.E} F${d.F}`;

function cases(
  shapes: readonly { d: Dims2d; value: number }[],
  param: string,
  keepOf: (d: Dims2d, value: number) => Keep2d,
  seed: number,
): () => Case[] {
  return () =>
    shapes.map(({ d, value }, i) => {
      const { q, k, v, inputs } = qkv2d(d, seed + i);
      return {
        label: `${label(d)} ${param}=${value}`,
        inputs,
        params: { [param]: value },
        expected: attention2d(q, k, v, d, keepOf(d, value)),
      };
    });
}

const GRID_SHAPES = [
  { d: { B: 1, H: 2, Y: 6, X: 6, E: 8, F: 4 }, value: 3 }, // cells of 2 × 2: groups of 3 × 3
  { d: { B: 2, H: 2, Y: 7, X: 5, E: 8, F: 8 }, value: 2 }, // periods ceil(7/2) = 4, ceil(5/2) = 3
  { d: { B: 1, H: 1, Y: 13, X: 3, E: 4, F: 4 }, value: 7 }, // a prime height; periods 2 and 1
  { d: { B: 1, H: 2, Y: 5, X: 5, E: 4, F: 4 }, value: 7 }, // grid > image: period 1, dense
  { d: { B: 1, H: 3, Y: 1, X: 1, E: 4, F: 4 }, value: 7 }, // P = M = 1
];
const DILATED_SHAPES = [
  { d: { B: 1, H: 2, Y: 6, X: 6, E: 8, F: 4 }, value: 2 },
  { d: { B: 2, H: 2, Y: 7, X: 5, E: 8, F: 8 }, value: 3 }, // I does not divide the image
  { d: { B: 1, H: 1, Y: 17, X: 2, E: 4, F: 4 }, value: 4 },
  { d: { B: 1, H: 2, Y: 6, X: 6, E: 4, F: 4 }, value: 8 }, // I > image: each token sees itself
  { d: { B: 1, H: 2, Y: 1, X: 1, E: 4, F: 4 }, value: 1 }, // P = M = 1
];

const summary: string[] = [];
afterAll(() => console.log(`grid_dilated2d vs float64 reference:\n  ${summary.join('\n  ')}`));

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

test('the optimizer fuses both blocks and skips key tiles through a block summary', () => {
  for (const spec of [...Object.values(grid), ...Object.values(dilated)]) {
    expectPasses(spec, ['tile', 'fuse', 'block-sparsity', 'split-kv'], ['head-grouping']);
    // `%` of the flattened key is not affine in the key tile: an exact per-tile summary instead.
    expect(noteOf(spec, 'block-sparsity')).toContain('block summary');
    expect(spec.scheduled.schedule.fused).toEqual(['O']);
  }
});

test('a token that only sees itself gets its own value (interval larger than the image)', () => {
  const [c] = cases([DILATED_SHAPES[3]], 'interval', (_d, i) => dilatedKeep(i), 150)();
  const { v } = qkv2d(DILATED_SHAPES[3].d, 150);
  expect(Array.from(c.expected)).toEqual(Array.from(v, (x) => x));
});

test('dilated2d visits exactly the key tiles of rows with the query row residue', () => {
  // 8 × 8 image, key tiles of 8 = one image row, query tiles of 8 along x = one image row:
  // query row y sees key rows my ≡ y (mod 2), so half the (query tile, key tile) pairs.
  const d: Dims2d = { B: 1, H: 1, Y: 8, X: 8, E: 4, F: 4 };
  const spec = loadSpec(FILE, 'dilated2d', { tiles: { m: 8, x: 8 } });
  const visits = blockVisits(spec, qkv2d(d, 199).inputs, { interval: 2 });
  console.log(`dilated2d 8×8 interval=2, tiles m=8 x=8: visits ${visits.visited}/${visits.total}`);
  expect(visits).toMatchObject({ visited: 32, total: 64 });
});

describeTiles(
  'grid2d',
  grid,
  cases(GRID_SHAPES, 'grid', (d, g) => gridKeep(d, g), 100),
);
describeTiles(
  'dilated2d',
  dilated,
  cases(DILATED_SHAPES, 'interval', (_d, i) => dilatedKeep(i), 150),
);
