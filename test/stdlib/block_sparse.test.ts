/**
 * stdlib/block_sparse.attn (run-time block table; vertical-slash) against float64 references
 * written from the header, on the CPU interpreter (before and after the optimizer) and on
 * WebGPU, plus what the optimizer did.
 */
import { afterAll, expect, test } from 'vitest';
import { interpret, tensor } from '../../index.ts';
import { createRng } from '../helpers/rng.ts';
import type { Dims } from '../reference/variants.ts';
import { blockSparseKeep, maskedReference, verticalSlashKeep } from '../reference/block_sparse.ts';
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

const FILE = 'stdlib/block_sparse.attn';
const specsOf = (block: string) => ({
  default: loadSpec(FILE, block),
  'tiles m=8 p=8': loadSpec(FILE, block, { tiles: { m: 8, p: 8 } }),
});

/** Seeded booleans, true with probability `density`. */
const bools = (n: number, density: number, seed: number) => {
  const rng = createRng(seed);
  return Uint8Array.from({ length: n }, () => (rng.next() < density ? 1 : 0));
};

const summary: string[] = [];
afterAll(() => console.log(`block_sparse vs float64 reference:\n  ${summary.join('\n  ')}`));

test('both blocks are fused and skip key tiles through a block summary', () => {
  for (const block of ['block_sparse', 'vertical_slash'])
    for (const spec of Object.values(specsOf(block))) {
      expectPasses(spec, ['tile', 'fuse', 'block-sparsity', 'head-grouping', 'split-kv']);
      expect(noteOf(spec, 'block-sparsity')).toContain('block summary');
    }
});

interface BlockShape {
  readonly d: Dims;
  readonly R: number;
  readonly C: number;
  readonly bq: number;
  readonly bk: number;
  readonly causal: boolean;
  readonly density: number;
}

const BLOCK_SHAPES: readonly BlockShape[] = [
  {
    d: { B: 1, HQ: 2, HK: 1, P: 13, M: 13, E: 8, F: 4 },
    R: 4,
    C: 4,
    bq: 4,
    bk: 4,
    causal: true,
    density: 0.5,
  },
  {
    d: { B: 1, HQ: 2, HK: 1, P: 13, M: 13, E: 8, F: 4 },
    R: 3,
    C: 3,
    bq: 5,
    bk: 5,
    causal: false,
    density: 0.5,
  },
  // Chunked prefill: 17 queries after 20 cached keys; 8-wide blocks line up with 8-key tiles.
  {
    d: { B: 2, HQ: 4, HK: 2, P: 17, M: 37, E: 16, F: 8 },
    R: 3,
    C: 5,
    bq: 8,
    bk: 8,
    causal: true,
    density: 0.6,
  },
  // The table covers only 2 × 3 blocks of 8: later queries and keys are not visible.
  {
    d: { B: 1, HQ: 2, HK: 2, P: 29, M: 29, E: 8, F: 8 },
    R: 2,
    C: 3,
    bq: 8,
    bk: 8,
    causal: true,
    density: 0.7,
  },
  {
    d: { B: 1, HQ: 3, HK: 1, P: 1, M: 40, E: 8, F: 8 },
    R: 1,
    C: 3,
    bq: 64,
    bk: 16,
    causal: true,
    density: 0.5,
  },
  {
    d: { B: 1, HQ: 1, HK: 1, P: 1, M: 1, E: 4, F: 4 },
    R: 1,
    C: 1,
    bq: 4,
    bk: 4,
    causal: false,
    density: 1,
  },
];

describeEquivalence(
  'block_sparse',
  specsOf('block_sparse'),
  () =>
    BLOCK_SHAPES.map(({ d, R, C, bq, bk, causal, density }, i) => {
      const { q, k, v, inputs } = qkv(d, 500 + i);
      const bm = bools(d.B * d.HQ * R * C, density, 510 + i);
      const keep = blockSparseKeep(d, bm, R, C, bq, bk, causal);
      return {
        label: `${dimsLabel(d)} table ${R}×${C} blocks ${bq}×${bk} causal=${causal}`,
        inputs: { ...inputs, BM: tensor('bool', [d.B, d.HQ, R, C], bm) },
        params: { block_q: bq, block_k: bk, causal },
        expected: maskedReference(q, k, v, d, keep),
        emptyRows: emptyRowsOf(d, keep),
      } satisfies Case;
    }),
  summary,
);

const SLASH_SHAPES: readonly { d: Dims; vert: number; slash: number }[] = [
  { d: { B: 1, HQ: 2, HK: 1, P: 13, M: 13, E: 8, F: 4 }, vert: 0.2, slash: 0.3 },
  { d: { B: 2, HQ: 4, HK: 2, P: 17, M: 37, E: 16, F: 8 }, vert: 0.1, slash: 0.2 },
  { d: { B: 1, HQ: 2, HK: 2, P: 1, M: 40, E: 8, F: 8 }, vert: 0.15, slash: 0.1 },
  { d: { B: 1, HQ: 1, HK: 1, P: 1, M: 1, E: 4, F: 4 }, vert: 1, slash: 0 },
  { d: { B: 1, HQ: 2, HK: 1, P: 7, M: 7, E: 4, F: 4 }, vert: 0, slash: 0 }, // nothing visible
];

const slashInputs = (d: Dims, vert: Uint8Array, slash: Uint8Array) => ({
  Vert: tensor('bool', [d.B, d.HQ, d.M], vert),
  Slash: tensor('bool', [d.B, d.HQ, d.M], slash),
});

describeEquivalence(
  'vertical_slash',
  specsOf('vertical_slash'),
  () =>
    SLASH_SHAPES.map(({ d, vert, slash }, i) => {
      const { q, k, v, inputs } = qkv(d, 520 + i);
      const vt = bools(d.B * d.HQ * d.M, vert, 530 + i);
      const st = bools(d.B * d.HQ * d.M, slash, 540 + i);
      const keep = verticalSlashKeep(d, vt, st);
      return {
        label: `${dimsLabel(d)} vert=${vert} slash=${slash}`,
        inputs: { ...inputs, ...slashInputs(d, vt, st) },
        expected: maskedReference(q, k, v, d, keep),
        emptyRows: emptyRowsOf(d, keep),
      } satisfies Case;
    }),
  summary,
);

test('a slash table that is not one entry per key offset is rejected, not truncated', () => {
  const d: Dims = { B: 1, HQ: 1, HK: 1, P: 5, M: 5, E: 4, F: 4 };
  const { inputs } = qkv(d, 590);
  const result = interpret(specsOf('vertical_slash').default.program, {
    ...inputs,
    Vert: tensor('bool', [1, 1, 5]),
    Slash: tensor('bool', [1, 1, 4]),
  });
  expect(result.ok ? [] : result.diagnostics.map((x) => x.code)).toEqual(['E603']);
});

/** Exact count of (8-query tile, 8-key tile) pairs with a visible key, P = M = 40. */
function exactVisits(keep: (b: number, h: number, p: number, m: number) => boolean): number {
  let exact = 0;
  for (let qt = 0; qt < 5; qt++)
    for (let kt = 0; kt < 5; kt++) {
      let any = false;
      for (let p = qt * 8; p < qt * 8 + 8; p++)
        for (let m = kt * 8; m < kt * 8 + 8; m++) any ||= keep(0, 0, p, m);
      if (any) exact++;
    }
  return exact;
}

test('block visits (P = M = 40, tiles 8×8) equal the mask’s own tile count', () => {
  const d: Dims = { B: 1, HQ: 1, HK: 1, P: 40, M: 40, E: 4, F: 4 };
  const { inputs } = qkv(d, 599);
  const bm = bools(25, 0.5, 598);
  const blocks = blockVisits(
    specsOf('block_sparse')['tiles m=8 p=8'],
    { ...inputs, BM: tensor('bool', [1, 1, 5, 5], bm) },
    { block_q: 8, block_k: 8, causal: true },
  );
  const blockExact = exactVisits(blockSparseKeep(d, bm, 5, 5, 8, 8, true));
  const vt = bools(40, 0.1, 597);
  const st = bools(40, 0.1, 596);
  st[0] = 1; // the main diagonal, as MInference always keeps local keys
  const slash = blockVisits(specsOf('vertical_slash')['tiles m=8 p=8'], {
    ...inputs,
    ...slashInputs(d, vt, st),
  });
  const slashExact = exactVisits(verticalSlashKeep(d, vt, st));
  console.log(
    `block_sparse 5×5 table of 8×8 blocks (density 0.5), causal: visits ${blocks.visited}/${blocks.total} (exact ${blockExact})\n` +
      `vertical_slash (10% columns, 10% diagonals + main diagonal): visits ${slash.visited}/${slash.total} (exact ${slashExact})`,
  );
  expect(blocks.visited).toBe(blockExact);
  expect(slash.visited).toBe(slashExact);
  expect(blocks.visited).toBeLessThan(blocks.total);
});
