/**
 * stdlib/neighborhood2d.attn (NATTEN neighbourhood attention, 1-D and 2-D, with dilation and
 * GNA stride) against its float64 reference (test/reference/neighborhood2d.ts, from NATTEN's
 * own mask), on the CPU interpreter before and after the optimizer and on WebGPU. Every query
 * sees at least itself, so no row is empty.
 */
import { afterAll, expect, test } from 'vitest';
import { tensor, type CompiledSpec } from '../../index.ts';
import { createRng } from '../helpers/rng.ts';
import type { Dims2d } from '../reference/grid_dilated2d.ts';
import {
  isNeighbour,
  neighborhood1dReference,
  neighborhood2dReference,
  type NaOptions,
} from '../reference/neighborhood2d.ts';
import {
  blockVisits,
  describeEquivalence,
  expectPasses,
  loadSpec,
  noteOf,
  type Case,
} from './mask-harness.ts';

const FILE = 'stdlib/neighborhood2d.attn';
const KW = 7; // the spec's const
const one = {
  default: loadSpec(FILE, 'neighborhood1d'),
  'tiles m=8 p=8': loadSpec(FILE, 'neighborhood1d', { tiles: { m: 8, p: 8 } }),
};
const two = {
  default: loadSpec(FILE, 'neighborhood2d'),
  'tiles m=8 x=4': loadSpec(FILE, 'neighborhood2d', { tiles: { m: 8, x: 4 } }),
};

/** Seeded Q, K, V of the given leading shape (batch, heads, positions...). */
function qkv(shape: number[], E: number, F: number, seed: number) {
  const rng = createRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const q = Float32Array.from(rng.randnArray(n * E));
  const k = Float32Array.from(rng.randnArray(n * E));
  const v = Float32Array.from(rng.randnArray(n * F));
  return {
    q,
    k,
    v,
    inputs: {
      Q: tensor('f32', [...shape, E], q),
      K: tensor('f32', [...shape, E], k),
      V: tensor('f32', [...shape, F], v),
    },
  };
}

type Shape1d = { B: number; H: number; N: number; E: number; F: number };
const opts = (dilation: number, stride: number): NaOptions => ({ kernel: KW, dilation, stride });
const params = (o: NaOptions) => ({ dilation: o.dilation, stride: o.stride });
const optsLabel = (o: NaOptions) => `D=${o.dilation} s=${o.stride}`;

const SHAPES_1D: readonly { d: Shape1d; o: NaOptions }[] = [
  { d: { B: 1, H: 2, N: 13, E: 8, F: 4 }, o: opts(1, 1) }, // windows clamped at both ends
  { d: { B: 2, H: 2, N: 17, E: 8, F: 8 }, o: opts(2, 1) }, // dilation groups of 9 and 8
  { d: { B: 1, H: 1, N: 40, E: 8, F: 4 }, o: opts(3, 2) }, // stride 2 in groups of 14, 13, 13
  { d: { B: 1, H: 2, N: 23, E: 4, F: 4 }, o: opts(1, 7) }, // stride = KW: blocked windows
  { d: { B: 1, H: 2, N: 11, E: 4, F: 4 }, o: opts(2, 1) }, // groups of 6, 5 < KW: whole group
  { d: { B: 1, H: 2, N: 5, E: 4, F: 4 }, o: opts(1, 1) }, // N < KW: every key
  { d: { B: 1, H: 3, N: 1, E: 4, F: 4 }, o: opts(1, 1) }, // P = M = 1
];
const SHAPES_2D: readonly { d: Dims2d; o: NaOptions }[] = [
  { d: { B: 1, H: 2, Y: 9, X: 9, E: 8, F: 4 }, o: opts(1, 1) },
  { d: { B: 1, H: 1, Y: 8, X: 11, E: 4, F: 4 }, o: opts(1, 2) },
  { d: { B: 1, H: 1, Y: 15, X: 14, E: 4, F: 4 }, o: opts(2, 1) }, // groups of 8/7 rows, 7 columns
  { d: { B: 2, H: 2, Y: 9, X: 7, E: 4, F: 8 }, o: opts(1, 3) },
  { d: { B: 1, H: 2, Y: 6, X: 6, E: 4, F: 4 }, o: opts(1, 1) }, // smaller than the kernel
  { d: { B: 1, H: 2, Y: 1, X: 1, E: 4, F: 4 }, o: opts(1, 1) }, // P = M = 1
];

const cases1d = (): Case[] =>
  SHAPES_1D.map(({ d, o }, i) => {
    const { q, k, v, inputs } = qkv([d.B, d.H, d.N], d.E, d.F, 300 + i);
    return {
      label: `B${d.B} H${d.H} N${d.N} E${d.E} F${d.F} ${optsLabel(o)}`,
      inputs,
      params: params(o),
      expected: neighborhood1dReference(q, k, v, d, o),
    };
  });
const cases2d = (): Case[] =>
  SHAPES_2D.map(({ d, o }, i) => {
    const { q, k, v, inputs } = qkv([d.B, d.H, d.Y, d.X], d.E, d.F, 350 + i);
    return {
      label: `B${d.B} H${d.H} ${d.Y}×${d.X} E${d.E} F${d.F} ${optsLabel(o)}`,
      inputs,
      params: params(o),
      expected: neighborhood2dReference(q, k, v, d, o),
    };
  });

const summary: string[] = [];
afterAll(() => console.log(`neighborhood2d vs float64 reference:\n  ${summary.join('\n  ')}`));

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

test('the optimizer fuses both blocks and skips key tiles', () => {
  for (const spec of [...Object.values(one), ...Object.values(two)]) {
    expectPasses(spec, ['tile', 'fuse', 'block-sparsity', 'split-kv'], ['head-grouping']);
    expect(noteOf(spec, 'block-sparsity')).toContain('block summary');
    expect(spec.scheduled.schedule.fused).toEqual(['O']);
  }
  // In 1-D the clamped window bounds are affine in the key, so they become tile bounds too
  // (the summary only settles the dilation residue).
  const racc = one.default.scheduled.body.find((s) => s.target === 'O_racc');
  expect(JSON.stringify(racc?.filter)).toContain('"kind":"min"');
});

test('every query keeps KW (KW × KW) neighbours when the dilation groups are long enough', () => {
  for (const { d, o } of SHAPES_1D.filter(({ d, o }) => d.N >= KW * o.dilation))
    for (let p = 0; p < d.N; p++) {
      let count = 0;
      for (let m = 0; m < d.N; m++) if (isNeighbour(p, m, d.N, o)) count++;
      expect(count, `N=${d.N} ${optsLabel(o)} p=${p}`).toBe(KW);
    }
});

/** (query tile, key tile) pairs with a neighbour: what an exact tile filter visits. */
function exactVisits(N: number, rows: number, keep: (p: number, m: number) => boolean, tile = 8) {
  let n = 0;
  for (let q0 = 0; q0 < N; q0 += rows)
    for (let k0 = 0; k0 < N; k0 += tile) {
      let any = false;
      for (let p = q0; p < Math.min(N, q0 + rows) && !any; p++)
        for (let m = k0; m < Math.min(N, k0 + tile) && !any; m++) any = keep(p, m);
      if (any) n++;
    }
  return n;
}

test('block-sparsity visits exactly the key tiles with a neighbour', () => {
  const d = { B: 1, H: 1, N: 40, E: 4, F: 4 };
  const o = opts(1, 1);
  const v1 = blockVisits(one['tiles m=8 p=8'], qkv([1, 1, 40], 4, 4, 398).inputs, params(o));
  const exact1 = exactVisits(d.N, 8, (p, m) => isNeighbour(p, m, d.N, o));
  // 16 × 8 image, key tiles of 8 = one image row, query tiles of 8 along x = one image row:
  // 16 query tiles × 16 key tiles, of which 7 key rows per query row are in the window.
  const spec2 = loadSpec(FILE, 'neighborhood2d', { tiles: { m: 8, x: 8 } });
  const v2 = blockVisits(spec2, qkv([1, 1, 16, 8], 4, 4, 399).inputs, params(o));
  const exact2 = exactVisits(128, 8, (p, m) => isNeighbour(p >> 3, m >> 3, 16, o));
  console.log(
    `neighborhood1d N=40 KW=7, tiles 8×8: visits ${v1.visited}/${v1.total} (exact ${exact1}); ` +
      `neighborhood2d 16×8, tiles m=8 x=8: visits ${v2.visited}/${v2.total} (exact ${exact2})`,
  );
  expect(v1.visited).toBe(exact1);
  expect(v2.visited).toBe(exact2);
  expect(v2).toMatchObject({ visited: 16 * 7, total: 16 * 16 });
});

describeTiles('neighborhood1d', one, cases1d);
describeTiles('neighborhood2d', two, cases2d);
