/**
 * stdlib/per_head_pattern.attn (DuoAttention, MoA, S2-Attention, LongLoRA) against float64
 * references written from the header, on the CPU interpreter (before and after the optimizer)
 * and on WebGPU, plus what the optimizer did.
 */
import { afterAll, expect, test } from 'vitest';
import { tensor } from '../../index.ts';
import type { Dims } from '../reference/variants.ts';
import {
  duoKeep,
  longloraKeep,
  maskedReference,
  moaKeep,
  s2Keep,
} from '../reference/per_head_pattern.ts';
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

const FILE = 'stdlib/per_head_pattern.attn';
const specsOf = (block: string) => ({
  default: loadSpec(FILE, block),
  'tiles m=8 p=8': loadSpec(FILE, block, { tiles: { m: 8, p: 8 } }),
});

type Keep = (b: number, h: number, p: number, m: number) => boolean;

function maskCase(
  d: Dims,
  seed: number,
  setting: string,
  keep: Keep,
  extra: Record<string, ReturnType<typeof tensor>>,
  params: Record<string, number | boolean>,
): Case {
  const { q, k, v, inputs } = qkv(d, seed);
  return {
    label: `${dimsLabel(d)} ${setting}`,
    inputs: { ...inputs, ...extra },
    params,
    expected: maskedReference(q, k, v, d, keep),
    emptyRows: emptyRowsOf(d, keep),
  };
}

const summary: string[] = [];
afterAll(() => console.log(`per_head_pattern vs float64 reference:\n  ${summary.join('\n  ')}`));

test('every block is fused, skips key tiles and groups heads', () => {
  for (const [block, how] of [
    ['duo_attention', 'affine tile bounds'],
    ['moa', 'block summary'],
    ['s2_attention', 'block summary'],
    ['longlora', 'block summary'],
  ])
    for (const spec of Object.values(specsOf(block))) {
      expectPasses(spec, ['tile', 'fuse', 'block-sparsity', 'head-grouping', 'split-kv']);
      expect(noteOf(spec, 'block-sparsity')).toContain(how);
    }
});

const SHAPES: readonly Dims[] = [
  { B: 1, HQ: 4, HK: 2, P: 13, M: 13, E: 8, F: 4 },
  { B: 2, HQ: 4, HK: 2, P: 17, M: 37, E: 16, F: 8 }, // chunked prefill
  { B: 1, HQ: 4, HK: 2, P: 1, M: 40, E: 8, F: 8 }, // decode step
  { B: 1, HQ: 4, HK: 2, P: 9, M: 4, E: 4, F: 6 }, // p' < 0 for p < 5: empty rows
  { B: 1, HQ: 4, HK: 2, P: 1, M: 1, E: 4, F: 4 },
];

describeEquivalence(
  'duo_attention',
  specsOf('duo_attention'),
  () =>
    SHAPES.flatMap((d, i) =>
      [
        [1, 0],
        [0, 1],
      ].map((f, j) => {
        const full = Uint8Array.from(f);
        const sinks = 2;
        const window = 3;
        return maskCase(
          d,
          600 + 2 * i + j,
          `Full=${f} sinks=${sinks} window=${window}`,
          duoKeep(d, full, sinks, window),
          { Full: tensor('bool', [d.HK], full) },
          { sinks, window },
        );
      }),
    ),
  summary,
);

describeEquivalence(
  'moa',
  specsOf('moa'),
  () =>
    SHAPES.map((d, i) => {
      // Widths keep a fractional part far from 0, so f32 and f64 agree on every comparison;
      // the last head has a negative width (sinks only), and sinks = 0 empties its rows.
      const alpha = Float32Array.from([2.3, 5.7, 0.3, -1.3]);
      const beta = Float32Array.from([0, 0.25, 0.5, 0]);
      const sinks = i % 2 === 0 ? 2 : 0;
      return maskCase(
        d,
        620 + i,
        `sinks=${sinks}`,
        moaKeep(d, alpha, beta, sinks),
        { Alpha: tensor('f32', [4], alpha), Beta: tensor('f32', [4], beta) },
        { sinks },
      );
    }),
  summary,
);

describeEquivalence(
  's2_attention',
  specsOf('s2_attention'),
  () =>
    [
      { d: { B: 1, HQ: 4, HK: 2, P: 29, M: 29, E: 8, F: 4 }, block: 2, local: 1, stride: 4 },
      { d: { B: 1, HQ: 2, HK: 1, P: 17, M: 37, E: 16, F: 8 }, block: 3, local: 2, stride: 8 },
      { d: { B: 2, HQ: 4, HK: 4, P: 13, M: 13, E: 8, F: 8 }, block: 4, local: 1, stride: 2 },
      { d: { B: 1, HQ: 4, HK: 2, P: 1, M: 40, E: 8, F: 8 }, block: 4, local: 2, stride: 3 },
      { d: { B: 1, HQ: 4, HK: 2, P: 9, M: 4, E: 4, F: 4 }, block: 2, local: 1, stride: 2 },
      { d: { B: 1, HQ: 2, HK: 2, P: 1, M: 1, E: 4, F: 4 }, block: 4, local: 1, stride: 4 },
    ].map(({ d, block, local, stride }, i) =>
      maskCase(
        d,
        640 + i,
        `block=${block} local=${local} stride=${stride}`,
        s2Keep(d, block, local, stride),
        {},
        { block, local, stride },
      ),
    ),
  summary,
);

describeEquivalence(
  'longlora',
  specsOf('longlora'),
  () =>
    [
      { d: { B: 1, HQ: 4, HK: 2, P: 16, M: 16, E: 8, F: 4 }, group: 4, causal: true },
      { d: { B: 1, HQ: 4, HK: 2, P: 13, M: 13, E: 8, F: 4 }, group: 4, causal: true }, // ragged
      { d: { B: 2, HQ: 2, HK: 1, P: 24, M: 24, E: 16, F: 8 }, group: 8, causal: false },
      { d: { B: 1, HQ: 4, HK: 4, P: 40, M: 40, E: 8, F: 8 }, group: 10, causal: true },
      { d: { B: 1, HQ: 2, HK: 1, P: 1, M: 1, E: 4, F: 4 }, group: 2, causal: true },
    ].map(({ d, group, causal }, i) =>
      maskCase(
        d,
        660 + i,
        `group=${group} causal=${causal}`,
        longloraKeep(d, group, causal),
        {},
        { group, causal },
      ),
    ),
  summary,
);

/** Visited and exact (query tile, key tile, head) counts for P = M = 40 and 8×8 tiles. */
function visits(
  block: string,
  keep: Keep,
  extra: Record<string, ReturnType<typeof tensor>>,
  params: Record<string, number | boolean>,
  HQ: number,
) {
  const d: Dims = { B: 1, HQ, HK: HQ, P: 40, M: 40, E: 4, F: 4 };
  const { inputs } = qkv(d, 699);
  const got = blockVisits(specsOf(block)['tiles m=8 p=8'], { ...inputs, ...extra }, params);
  let exact = 0;
  for (let h = 0; h < HQ; h++)
    for (let qt = 0; qt < 5; qt++)
      for (let kt = 0; kt < 5; kt++) {
        let any = false;
        for (let p = qt * 8; p < qt * 8 + 8; p++)
          for (let m = kt * 8; m < kt * 8 + 8; m++) any ||= keep(0, h, p, m);
        if (any) exact++;
      }
  console.log(
    `${block} P=M=40 tiles 8×8, ${JSON.stringify(params)}: visits ${got.visited}/${got.total} (exact ${exact})`,
  );
  expect(got.visited).toBeGreaterThanOrEqual(exact);
  expect(got.visited).toBeLessThan(got.total);
}

test('block visits per head (P = M = 40, tiles 8×8)', () => {
  const d40 = (HQ: number): Dims => ({ B: 1, HQ, HK: HQ, P: 40, M: 40, E: 4, F: 4 });
  const full = Uint8Array.from([1, 0]);
  visits(
    'duo_attention',
    duoKeep(d40(2), full, 4, 8),
    { Full: tensor('bool', [2], full) },
    { sinks: 4, window: 8 },
    2,
  );
  const alpha = Float32Array.from([4.5, 2.5]);
  const beta = Float32Array.from([0.25, 0]);
  visits(
    'moa',
    moaKeep(d40(2), alpha, beta, 4),
    { Alpha: tensor('f32', [2], alpha), Beta: tensor('f32', [2], beta) },
    { sinks: 4 },
    2,
  );
  visits('s2_attention', s2Keep(d40(4), 4, 2, 4), {}, { block: 4, local: 2, stride: 4 }, 4);
  visits('longlora', longloraKeep(d40(2), 10, true), {}, { group: 10, causal: true }, 2);
});
