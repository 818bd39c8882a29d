/**
 * stdlib/document_mask.attn (document ids, block-diagonal chunks, frame-wise block-causal,
 * PINE) against float64 references written from the header, on the CPU interpreter (before and
 * after the optimizer) and on WebGPU, plus what the optimizer did.
 */
import { afterAll, expect, test } from 'vitest';
import { tensor } from '../../index.ts';
import type { Dims } from '../reference/variants.ts';
import {
  chunkKeep,
  documentKeep,
  frameCausalKeep,
  maskedReference,
  pineKeep,
} from '../reference/document_mask.ts';
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

const FILE = 'stdlib/document_mask.attn';
const BLOCKS = ['document_mask', 'chunk_mask', 'frame_causal', 'pine'] as const;
const specsOf = (block: string) => ({
  default: loadSpec(FILE, block),
  'tiles m=8 p=8': loadSpec(FILE, block, { tiles: { m: 8, p: 8 } }),
});

/** Labels from run lengths: `[[3, 0], [2, -1]]` is `0 0 0 -1 -1`. One row per batch. */
const labels = (rows: readonly (readonly [number, number])[][]) =>
  Int32Array.from(rows.flatMap((runs) => runs.flatMap(([n, id]) => Array<number>(n).fill(id))));

const summary: string[] = [];
afterAll(() => console.log(`document_mask vs float64 reference:\n  ${summary.join('\n  ')}`));

test('every block is fused and skips key tiles through a block summary', () => {
  for (const block of BLOCKS)
    for (const spec of Object.values(specsOf(block))) {
      expectPasses(spec, ['tile', 'fuse', 'block-sparsity', 'head-grouping', 'split-kv']);
      expect(noteOf(spec, 'block-sparsity')).toContain('block summary');
    }
});

/** A case of a block whose mask is `keep`; `label` names the extra setting. */
function maskCase(
  d: Dims,
  seed: number,
  setting: string,
  keep: (b: number, h: number, p: number, m: number) => boolean,
  extra: Record<string, ReturnType<typeof tensor>> = {},
  params?: Record<string, number | boolean>,
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

describeEquivalence(
  'document_mask',
  specsOf('document_mask'),
  () => {
    const out: Case[] = [];
    const docs: { d: Dims; runs: [number, number][][] }[] = [
      // Two packed batches; the first ends in padding (id -1), whose rows see nothing.
      {
        d: { B: 2, HQ: 2, HK: 1, P: 13, M: 13, E: 8, F: 4 },
        runs: [
          [
            [4, 0],
            [3, 1],
            [4, 2],
            [2, -1],
          ],
          [[13, 7]],
        ],
      },
      {
        d: { B: 1, HQ: 4, HK: 2, P: 37, M: 37, E: 16, F: 8 },
        runs: [
          [
            [1, 0],
            [9, 1],
            [1, 2],
            [17, 3],
            [9, 4],
          ],
        ],
      },
      { d: { B: 1, HQ: 2, HK: 2, P: 1, M: 1, E: 4, F: 4 }, runs: [[[1, 3]]] },
      { d: { B: 1, HQ: 2, HK: 2, P: 1, M: 1, E: 4, F: 4 }, runs: [[[1, -1]]] }, // nothing visible
    ];
    docs.forEach(({ d, runs }, i) => {
      const seg = labels(runs);
      for (const causal of [true, false])
        out.push(
          maskCase(
            d,
            400 + i,
            `segs=${runs.map((r) => r.map(([n, id]) => `${n}×${id}`).join(','))} causal=${causal}`,
            documentKeep(d, seg, causal),
            { Seg: tensor('i32', [d.B, d.M], seg) },
            { causal },
          ),
        );
    });
    return out;
  },
  summary,
);

describeEquivalence(
  'chunk_mask',
  specsOf('chunk_mask'),
  () =>
    [
      { d: { B: 1, HQ: 2, HK: 1, P: 13, M: 13, E: 8, F: 4 }, chunk: 4, causal: true },
      { d: { B: 1, HQ: 2, HK: 1, P: 13, M: 13, E: 8, F: 4 }, chunk: 5, causal: false },
      { d: { B: 2, HQ: 4, HK: 2, P: 17, M: 37, E: 16, F: 8 }, chunk: 8, causal: true }, // chunked prefill
      { d: { B: 1, HQ: 2, HK: 2, P: 1, M: 40, E: 8, F: 8 }, chunk: 16, causal: true }, // decode step
      { d: { B: 1, HQ: 2, HK: 2, P: 9, M: 4, E: 4, F: 6 }, chunk: 3, causal: true }, // p' < 0: empty
      { d: { B: 1, HQ: 1, HK: 1, P: 1, M: 1, E: 4, F: 4 }, chunk: 2, causal: false },
    ].map(({ d, chunk, causal }, i) =>
      maskCase(
        d,
        420 + i,
        `chunk=${chunk} causal=${causal}`,
        chunkKeep(d, chunk, causal),
        {},
        { chunk, causal },
      ),
    ),
  summary,
);

describeEquivalence(
  'frame_causal',
  specsOf('frame_causal'),
  () =>
    [
      // Text, three frames of visual tokens, text; and frames straddling the 8-key tiles.
      {
        d: { B: 1, HQ: 2, HK: 1, P: 19, M: 19, E: 8, F: 4 },
        runs: [
          [
            [3, -1],
            [4, 0],
            [4, 1],
            [4, 2],
            [4, -1],
          ],
        ],
      },
      {
        d: { B: 2, HQ: 2, HK: 2, P: 29, M: 29, E: 8, F: 8 },
        runs: [
          [
            [2, -1],
            [9, 0],
            [9, 1],
            [9, -1],
          ],
          [
            [13, 0],
            [13, 1],
            [3, -1],
          ],
        ],
      },
      { d: { B: 1, HQ: 1, HK: 1, P: 1, M: 1, E: 4, F: 4 }, runs: [[[1, 0]]] },
    ].map(({ d, runs }, i) => {
      const frame = labels(runs as [number, number][][]);
      return maskCase(d, 440 + i, `frames=${frame.join(' ')}`, frameCausalKeep(d, frame), {
        Frame: tensor('i32', [d.B, d.M], frame),
      });
    }),
  summary,
);

describeEquivalence(
  'pine',
  specsOf('pine'),
  () =>
    [
      // System prompt (0), three documents, question and answer (0).
      {
        d: { B: 1, HQ: 2, HK: 1, P: 23, M: 23, E: 8, F: 4 },
        runs: [
          [
            [2, 0],
            [5, 1],
            [3, 2],
            [6, 3],
            [7, 0],
          ],
        ],
      },
      {
        d: { B: 2, HQ: 4, HK: 2, P: 17, M: 17, E: 8, F: 8 },
        runs: [
          [
            [1, 0],
            [8, 1],
            [8, 2],
          ],
          [[17, 0]],
        ],
      },
      { d: { B: 1, HQ: 1, HK: 1, P: 1, M: 1, E: 4, F: 4 }, runs: [[[1, 1]]] },
    ].map(({ d, runs }, i) => {
      const doc = labels(runs as [number, number][][]);
      return maskCase(d, 460 + i, `docs=${doc.join(' ')}`, pineKeep(d, doc), {
        Doc: tensor('i32', [d.B, d.M], doc),
      });
    }),
  summary,
);

test('block visits for packed documents (P = M = 40, tiles 8×8)', () => {
  const d: Dims = { B: 1, HQ: 1, HK: 1, P: 40, M: 40, E: 4, F: 4 };
  const seg = labels([
    [
      [5, 0],
      [12, 1],
      [3, 2],
      [9, 3],
      [11, 4],
    ],
  ]);
  const { inputs } = qkv(d, 499);
  const keep = documentKeep(d, seg, true);
  let exact = 0;
  for (let qt = 0; qt < 5; qt++)
    for (let kt = 0; kt < 5; kt++) {
      let any = false;
      for (let p = qt * 8; p < qt * 8 + 8; p++)
        for (let m = kt * 8; m < kt * 8 + 8; m++) any ||= keep(0, 0, p, m);
      if (any) exact++;
    }
  const spec = specsOf('document_mask')['tiles m=8 p=8'];
  const visits = blockVisits(
    spec,
    { ...inputs, Seg: tensor('i32', [1, 40], seg) },
    { causal: true },
  );
  console.log(
    `document_mask docs 5,12,3,9,11 causal, tiles 8×8: visits ${visits.visited}/${visits.total} (exact ${exact})`,
  );
  // The block summary is per row and key tile, so the count is exact.
  expect(visits.visited).toBe(exact);
  expect(visits.visited).toBeLessThan(visits.total);
});
