/**
 * stdlib/window2d.attn (Swin windows with an optional shift; HaloNet blocks with a halo) against
 * float64 references written from the header, on the CPU interpreter (before and after the
 * optimizer) and on WebGPU, plus what the optimizer did with a 2-D key.
 */
import { afterAll, expect, test } from 'vitest';
import { tensor } from '../../index.ts';
import { createRng } from '../helpers/rng.ts';
import {
  haloKeep,
  window2dReference,
  windowKeep,
  type Dims2d,
  type Keep2d,
} from '../reference/window2d.ts';
import {
  blockVisits,
  describeEquivalence,
  expectPasses,
  loadSpec,
  noteOf,
  type Case,
} from './mask-harness.ts';

const FILE = 'stdlib/window2d.attn';
const specsOf = (block: string) => ({
  default: loadSpec(FILE, block),
  // Key tiles of 8 flattened keys: a 6 × 6 grid has 5 tiles, and whole tiles are skipped.
  'tiles m=8': loadSpec(FILE, block, { tiles: { m: 8 } }),
});

const label = (d: Dims2d) =>
  `B${d.B} H${d.H} grid ${d.PY}×${d.PX} keys ${d.MY}×${d.MX} E${d.E} F${d.F}`;

function gridCase(
  d: Dims2d,
  seed: number,
  setting: string,
  keep: Keep2d,
  params: Record<string, number>,
): Case {
  const rng = createRng(seed);
  const q = Float32Array.from(rng.randnArray(d.B * d.H * d.PY * d.PX * d.E));
  const k = Float32Array.from(rng.randnArray(d.B * d.H * d.MY * d.MX * d.E));
  const v = Float32Array.from(rng.randnArray(d.B * d.H * d.MY * d.MX * d.F));
  const emptyRows: number[] = [];
  for (let bh = 0; bh < d.B * d.H; bh++)
    for (let py = 0; py < d.PY; py++)
      for (let px = 0; px < d.PX; px++) {
        let any = false;
        for (let my = 0; my < d.MY; my++)
          for (let mx = 0; mx < d.MX; mx++) any ||= keep(py, px, my, mx);
        if (!any) emptyRows.push((bh * d.PY + py) * d.PX + px);
      }
  return {
    label: `${label(d)} ${setting}`,
    inputs: {
      Q: tensor('f32', [d.B, d.H, d.PY, d.PX, d.E], q),
      K: tensor('f32', [d.B, d.H, d.MY, d.MX, d.E], k),
      V: tensor('f32', [d.B, d.H, d.MY, d.MX, d.F], v),
    },
    params,
    expected: window2dReference(q, k, v, d, keep),
    emptyRows,
  };
}

const self = (B: number, H: number, Y: number, X: number, E: number, F: number): Dims2d => ({
  B,
  H,
  PY: Y,
  PX: X,
  MY: Y,
  MX: X,
  E,
  F,
});

const summary: string[] = [];
afterAll(() => console.log(`window2d vs float64 reference:\n  ${summary.join('\n  ')}`));

test('the flattened key is tiled, fused and skipped through a block summary', () => {
  for (const block of ['window2d', 'halo2d'])
    for (const spec of Object.values(specsOf(block))) {
      expectPasses(spec, ['tile', 'fuse', 'block-sparsity', 'split-kv'], ['head-grouping']);
      expect(noteOf(spec, 'block-sparsity')).toContain('block summary');
    }
});

test('block visits on a 6 × 6 grid with 8-key tiles (one query row of 6 per tile)', () => {
  const d = self(1, 1, 6, 6, 4, 4);
  for (const [block, keep, params] of [
    ['window2d', windowKeep(3, 1), { window: 3, shift: 1 }],
    ['halo2d', haloKeep(2, 1), { block: 2, halo: 1 }],
  ] as const) {
    const c = gridCase(d, 790, '', keep, params);
    const spec = specsOf(block)['tiles m=8'];
    const visits = blockVisits(spec, c.inputs, params);
    // Exact: a (query row py, key tile) pair is visited when some px of the row sees some key.
    let exact = 0;
    for (let py = 0; py < 6; py++)
      for (let t = 0; t < 5; t++) {
        let any = false;
        for (let px = 0; px < 6; px++)
          for (let m = 8 * t; m < Math.min(36, 8 * t + 8); m++)
            any ||= keep(py, px, Math.floor(m / 6), m % 6);
        if (any) exact++;
      }
    console.log(
      `${block} 6×6 ${JSON.stringify(params)}, key tiles of 8: visits ${visits.visited}/${visits.total} (exact ${exact})`,
    );
    expect(visits.visited).toBe(exact);
    expect(visits.visited).toBeLessThan(visits.total);
  }
});

describeEquivalence(
  'window2d',
  specsOf('window2d'),
  () =>
    [
      { d: self(1, 2, 6, 6, 8, 4), window: 3, shift: 0 },
      { d: self(1, 2, 6, 6, 8, 4), window: 3, shift: 1 }, // Swin's shifted layer
      { d: self(2, 1, 5, 7, 4, 4), window: 3, shift: 1 }, // not a multiple of the window
      { d: self(1, 2, 6, 6, 4, 6), window: 4, shift: 2 },
      { d: self(1, 1, 1, 1, 4, 4), window: 7, shift: 0 },
      // Cross-attention onto a smaller key grid: queries in windows past it see nothing.
      { d: { B: 1, H: 2, PY: 6, PX: 5, MY: 3, MX: 5, E: 4, F: 4 }, window: 3, shift: 0 },
    ].map(({ d, window, shift }, i) =>
      gridCase(d, 700 + i, `window=${window} shift=${shift}`, windowKeep(window, shift), {
        window,
        shift,
      }),
    ),
  summary,
);

describeEquivalence(
  'halo2d',
  specsOf('halo2d'),
  () =>
    [
      { d: self(1, 2, 6, 6, 8, 4), block: 2, halo: 1 },
      { d: self(2, 1, 5, 7, 4, 4), block: 3, halo: 1 },
      { d: self(1, 2, 6, 6, 4, 6), block: 3, halo: 0 }, // plain blocks
      { d: self(1, 1, 1, 1, 4, 4), block: 8, halo: 3 },
      // Cross-attention onto a smaller key grid: blocks past its halo see nothing.
      { d: { B: 1, H: 1, PY: 6, PX: 6, MY: 2, MX: 6, E: 4, F: 4 }, block: 2, halo: 0 },
    ].map(({ d, block, halo }, i) =>
      gridCase(d, 720 + i, `block=${block} halo=${halo}`, haloKeep(block, halo), { block, halo }),
    ),
  summary,
);
