/**
 * stdlib/topk_kv.attn (V41, query-aware top-k KV) three ways: the float64 reference of
 * test/reference/topk_kv.ts, the CPU interpreter (checked and scheduled IR) and WebGPU.
 *
 * The CPU side uses the front end and the pass pipeline directly, not `compile` (which also
 * lowers to WGSL), so that the CPU tests do not depend on the WGSL backend. The WebGPU tests
 * call `compile` themselves.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import {
  checkSource,
  compile,
  createKernel,
  DEFAULT_LIMITS,
  interpret,
  runPipeline,
  tensor,
  type HostTensor,
  type PassNote,
} from '../../index.ts';
import type { Program } from '../../compiler/ir.ts';
import { assertAllClose, type CloseReport } from '../helpers/allclose.ts';
import { getTestDevice } from '../helpers/gpu.ts';
import { createRng } from '../helpers/rng.ts';
import {
  gatherAttentionReference,
  topkKvReference,
  topkSelectReference,
} from '../reference/topk_kv.ts';
import type { Dims } from '../reference/variants.ts';

const FILE = 'stdlib/topk_kv.attn';
const SOURCE = readFileSync(new URL(`../../${FILE}`, import.meta.url), 'utf8');
const TOL = { atol: 2e-5, rtol: 2e-4 };
/** The spec's `const J`. */
const J = 8;

function checked(name: string): { program: Program; scheduled: Program; notes: PassNote[] } {
  const front = checkSource(SOURCE, FILE);
  if (front.diagnostics.length > 0) throw new Error(front.diagnostics[0].message);
  const program = front.programs.find((p) => p.name === name)!;
  const ctx = { limits: DEFAULT_LIMITS, extentHints: {}, tileOverrides: {} };
  const { program: scheduled, notes } = runPipeline(program, ctx);
  return { program, scheduled, notes: [...notes] };
}

const note = (notes: PassNote[], pass: string) => notes.find((n) => n.pass === pass)!;

interface Case {
  readonly label: string;
  readonly inputs: Record<string, HostTensor>;
  readonly params?: Record<string, number | boolean>;
  readonly expected: Float64Array;
  /** Rows that see no key, whose output must be exactly 0. */
  readonly emptyRows?: number[];
  /** The selection's margin (reference), when the case selects. */
  readonly margin?: number;
}

const SHAPES: readonly { d: Dims; causal: boolean }[] = [
  { d: { B: 1, HQ: 2, HK: 1, P: 1, M: 40, E: 8, F: 4 }, causal: true }, // MQA decode, 8 of 40
  { d: { B: 2, HQ: 4, HK: 2, P: 13, M: 17, E: 8, F: 8 }, causal: true }, // early rows see <= J keys
  { d: { B: 1, HQ: 2, HK: 2, P: 9, M: 5, E: 4, F: 6 }, causal: true }, // rows p < 4 see nothing
  { d: { B: 1, HQ: 1, HK: 1, P: 3, M: 1, E: 4, F: 3 }, causal: false }, // M = 1
  { d: { B: 1, HQ: 3, HK: 1, P: 17, M: 23, E: 16, F: 4 }, causal: false }, // bidirectional
];

function qkv(d: Dims, seed: number) {
  const rng = createRng(seed);
  const q = Float32Array.from(rng.randnArray(d.B * d.HQ * d.P * d.E));
  const k = Float32Array.from(rng.randnArray(d.B * d.HK * d.M * d.E));
  const v = Float32Array.from(rng.randnArray(d.B * d.HK * d.M * d.F));
  return { q, k, v, rng };
}

/** Channels per key/value head: all of them (exact top-J), or a random half (Double Sparsity). */
function channels(d: Dims, subset: boolean, rng: ReturnType<typeof createRng>) {
  const C = subset ? Math.max(1, d.E / 2) : d.E;
  const chan = new Int32Array(d.HK * C);
  for (let hk = 0; hk < d.HK; hk++) {
    const all = Array.from({ length: d.E }, (_, e) => e);
    // Fisher-Yates: a seeded random order of the channels.
    for (let i = d.E - 1; subset && i > 0; i--) {
      const j = rng.int(0, i);
      [all[i], all[j]] = [all[j], all[i]];
    }
    for (let c = 0; c < C; c++) chan[hk * C + c] = all[c];
  }
  return { C, chan };
}

const label = (d: Dims) => `B${d.B} HQ${d.HQ} HK${d.HK} P${d.P} M${d.M} E${d.E} F${d.F}`;

/** Rows (b, hq, p) with no visible key under bottom-right causality. */
function emptyRows(d: Dims, causal: boolean): number[] {
  const rows: number[] = [];
  for (let r = 0; r < d.B * d.HQ * d.P; r++) if (causal && r % d.P < d.P - d.M) rows.push(r);
  return rows;
}

function kvCases(): Case[] {
  return SHAPES.flatMap(({ d, causal }, i) =>
    [false, true].map((subset) => {
      const { q, k, v, rng } = qkv(d, 100 + i);
      const { C, chan } = channels(d, subset, rng);
      const { out, margin } = topkKvReference(q, k, v, chan, C, d, { J, causal });
      return {
        label: `${label(d)} causal=${causal} channels=${C}`,
        inputs: {
          Q: tensor('f32', [d.B, d.HQ, d.P, d.E], q),
          K: tensor('f32', [d.B, d.HK, d.M, d.E], k),
          V: tensor('f32', [d.B, d.HK, d.M, d.F], v),
          Chan: tensor('i32', [d.HK, C], chan),
        },
        params: { causal },
        expected: out,
        emptyRows: emptyRows(d, causal),
        margin,
      };
    }),
  );
}

const report: string[] = [];
afterAll(() =>
  console.log(`${FILE} vs float64 reference (max abs / max rel):\n  ${report.join('\n  ')}`),
);
/** The worst errors of the checks that passed ("none" when none did). */
const worst = (rs: CloseReport[]) =>
  rs.length === 0
    ? 'none'
    : `${rs.reduce((a, r) => Math.max(a, r.maxAbs), 0).toExponential(1)} / ${rs.reduce((a, r) => Math.max(a, r.maxRel), 0).toExponential(1)}`;

/** CPU (checked and scheduled IR) and WebGPU against the reference, for one block's output. */
function threeWays(block: string, output: string, cases: () => Case[], F: (c: Case) => number) {
  const errs = { cpu: [] as CloseReport[], webgpu: [] as CloseReport[] };
  afterAll(() =>
    report.push(`${block.padEnd(12)} cpu ${worst(errs.cpu)}   webgpu ${worst(errs.webgpu)}`),
  );
  const { program, scheduled } = checked(block);
  for (const c of cases()) {
    const checkZeros = (data: ArrayLike<number>) => {
      const width = F(c);
      for (const r of c.emptyRows ?? [])
        for (let f = 0; f < width; f++) expect(data[r * width + f]).toBe(0);
    };
    const onCpu = (p: Program) => {
      const result = interpret(p, c.inputs, { params: c.params });
      if (!result.ok) throw new Error(result.diagnostics.map((x) => x.message).join('; '));
      const data = result.outputs[output].data as Float32Array;
      errs.cpu.push(assertAllClose(data, c.expected, TOL, `cpu ${output}`));
      checkZeros(data);
    };
    test(`cpu ${c.label}`, () => {
      // The f32 kernels select the same keys only if the J-th and (J+1)-th are well apart.
      if (c.margin !== undefined) expect(c.margin).toBeGreaterThan(1e-3);
      onCpu(program);
    });
    test(`cpu scheduled ${c.label}`, () => onCpu(scheduled));
    test(`webgpu ${c.label}`, async () => {
      const compiled = compile(SOURCE, { fileName: FILE, attention: block });
      if (!compiled.ok) throw new Error(compiled.diagnostics.map((x) => x.message).join('; '));
      const kernel = createKernel(await getTestDevice(), compiled.specs[0].wgsl);
      const result = await kernel.run(c.inputs, { params: c.params });
      kernel.destroy();
      if (!result.ok) throw new Error(result.message);
      const data = result.outputs[output].data as Float32Array;
      errs.webgpu.push(assertAllClose(data, c.expected, TOL, `webgpu ${output}`));
      checkZeros(data);
    });
  }
}

describe('topk_kv: selector, top-J, gathered attention', () => {
  test('passes: the gathered attention is tiled over j, fused and head-grouped', () => {
    const { notes } = checked('topk_kv');
    expect(note(notes, 'tile')).toMatchObject({ applied: true, message: 'partitions `j`' });
    expect(note(notes, 'fuse')).toMatchObject({ applied: true });
    expect(note(notes, 'fuse').message).toContain('online softmax');
    // The filter on the rank (`Idx < M`: the rank is present) reads a tensor: a block summary.
    expect(note(notes, 'block-sparsity')).toMatchObject({ applied: true });
    expect(note(notes, 'block-sparsity').message).toContain('block summary');
    expect(note(notes, 'head-grouping')).toMatchObject({ applied: true });
  });
  threeWays('topk_kv', 'O', kvCases, (c) => c.inputs.V.shape[3]);
});

describe('topk_select: the selector alone', () => {
  test('passes: nothing to tile (no attention)', () => {
    expect(note(checked('topk_select').notes, 'tile').applied).toBe(false);
  });
  threeWays(
    'topk_select',
    'Idx',
    () =>
      SHAPES.slice(0, 3).map(({ d, causal }, i) => {
        const { q, k, rng } = qkv(d, 200 + i);
        const { C, chan } = channels(d, true, rng);
        const { idx, margin } = topkSelectReference(q, k, chan, C, d, { J, causal });
        return {
          label: `${label(d)} causal=${causal} channels=${C}`,
          inputs: {
            Q: tensor('f32', [d.B, d.HQ, d.P, d.E], q),
            K: tensor('f32', [d.B, d.HK, d.M, d.E], k),
            Chan: tensor('i32', [d.HK, C], chan),
          },
          params: { causal },
          // Absent ranks (past the visible keys) are returned as 0, like every absent output.
          expected: Float64Array.from(idx, (m) => Math.max(m, 0)),
          margin,
        };
      }),
    () => J,
  );
});

describe('topk_gather: attention over given indices', () => {
  test('passes: tiled over j, fused, head-grouped', () => {
    const { notes } = checked('topk_gather');
    expect(note(notes, 'fuse')).toMatchObject({ applied: true });
    expect(note(notes, 'head-grouping')).toMatchObject({ applied: true });
  });
  threeWays(
    'topk_gather',
    'O',
    () =>
      SHAPES.map(({ d }, i) => {
        const { q, k, v, rng } = qkv(d, 300 + i);
        // 37 ranks span two tiles of the rank index (32 by default).
        const JG = i === 1 ? 37 : 5;
        // Indices from -1 to M: -1 and M are out of range (select nothing); repeats count twice.
        const idx = Int32Array.from({ length: d.B * d.HQ * d.P * JG }, () => rng.int(-1, d.M));
        // One row lists nothing at all: exact zeros.
        idx.fill(-1, 0, JG);
        return {
          label: `${label(d)} J=${JG}`,
          inputs: {
            Q: tensor('f32', [d.B, d.HQ, d.P, d.E], q),
            K: tensor('f32', [d.B, d.HK, d.M, d.E], k),
            V: tensor('f32', [d.B, d.HK, d.M, d.F], v),
            Idx: tensor('i32', [d.B, d.HQ, d.P, JG], idx),
          },
          expected: gatherAttentionReference(q, k, v, idx, JG, d),
          emptyRows: [0],
        };
      }),
    (c) => c.inputs.V.shape[3],
  );
});
