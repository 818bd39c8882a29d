/**
 * stdlib/linear_decay_causal.attn (chunk-wise Lightning Attention / retention) three ways: the
 * float64 reference written from the quadratic form with no chunks
 * (test/reference/linear_decay_causal.ts), the CPU interpreter on the checked IR and on the IR
 * after the passes, and the WebGPU kernels.
 *
 * Sequence lengths cover one position, shorter than one chunk, exactly one chunk, and lengths
 * that are not multiples of the chunk (a ragged last chunk). The shipped chunk is C = 16; the
 * same spec text with C = 4 puts many chunks, and so many steps of the carried state, into
 * short sequences.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import { compile, createKernel, interpret, tensor, type CompiledSpec } from '../../index.ts';
import { assertAllClose, type CloseReport } from '../helpers/allclose.ts';
import { getTestDevice } from '../helpers/gpu.ts';
import { createRng } from '../helpers/rng.ts';
import { linearDecayCausalReference, type CausalDims } from '../reference/linear_decay_causal.ts';

/** f32 kernels against a float64 reference; outputs are O(1)-O(10) unnormalised sums. */
const TOLERANCE = { atol: 2e-5, rtol: 2e-4 };

const FILE = 'stdlib/linear_decay_causal.attn';
const source = readFileSync(new URL(`../../${FILE}`, import.meta.url), 'utf8');

function compileWithChunk(chunk: number): CompiledSpec {
  const text = source.replace(/const C = 16\b/, `const C = ${chunk}`);
  if (chunk !== 16 && text === source) throw new Error('the spec no longer says `const C = 16`');
  const r = compile(text, { fileName: FILE });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('; '));
  return r.specs[0];
}

const CASES: readonly { chunk: number; d: CausalDims; why: string }[] = [
  { chunk: 16, d: { B: 1, H: 2, T: 1, E: 4, F: 3 }, why: 'one position' },
  { chunk: 16, d: { B: 2, H: 2, T: 5, E: 8, F: 4 }, why: 'shorter than one chunk' },
  { chunk: 16, d: { B: 1, H: 3, T: 16, E: 8, F: 8 }, why: 'exactly one chunk' },
  { chunk: 16, d: { B: 1, H: 2, T: 37, E: 8, F: 5 }, why: 'three chunks, the last ragged' },
  { chunk: 4, d: { B: 1, H: 2, T: 13, E: 6, F: 4 }, why: 'four chunks, the last one position' },
  { chunk: 4, d: { B: 2, H: 1, T: 3, E: 4, F: 4 }, why: 'shorter than one chunk' },
  { chunk: 4, d: { B: 1, H: 2, T: 32, E: 16, F: 16 }, why: 'eight full chunks' },
];

const specs = new Map<number, CompiledSpec>();
const specFor = (chunk: number): CompiledSpec => {
  if (!specs.has(chunk)) specs.set(chunk, compileWithChunk(chunk));
  return specs.get(chunk)!;
};

const label = (d: CausalDims) => `B${d.B} H${d.H} T${d.T} E${d.E} F${d.F}`;
const errors: Record<string, CloseReport[]> = { cpu: [], scheduled: [], webgpu: [] };
afterAll(() => {
  const line = Object.entries(errors)
    .map(([k, rs]) => {
      const abs = Math.max(0, ...rs.map((r) => r.maxAbs));
      const rel = Math.max(0, ...rs.map((r) => r.maxRel));
      return `${k} ${abs.toExponential(1)} / ${rel.toExponential(1)}`;
    })
    .join('   ');
  console.log(`linear_decay_causal vs float64 reference (max abs / max rel): ${line}`);
});

test('intra-chunk: a tiled, fused weighted sum; inter-chunk: a recurrence over the chunk index', () => {
  const spec = specFor(16);
  const note = (pass: string) => spec.notes.find((n) => n.pass === pass);
  expect(note('tile')?.applied).toBe(true);
  expect(note('tile')?.message).toContain('`j`');
  expect(note('fuse')?.applied).toBe(true);
  expect(note('fuse')?.message).toContain('`OI` (weighted sum, no softmax)');
  // The causal filter j <= i inside a chunk projects onto the key tiles.
  expect(note('block-sparsity')?.applied).toBe(true);
  expect(spec.scheduled.schedule.fused).toEqual(['OI']);
  const state = spec.scheduled.body.find((s) => s.target === 'H');
  expect(state?.kind).toBe('recurrence');
  expect(state && state.indices[state.kind === 'recurrence' ? state.axis : 0]).toBe('n');
});

describe.each(CASES.map((c, i) => ({ ...c, seed: i, name: `C=${c.chunk} ${label(c.d)}` })))(
  '$name ($why)',
  ({ chunk, d, seed }) => {
    const rng = createRng(500 + seed);
    const q = Float32Array.from(rng.randnArray(d.B * d.H * d.T * d.E, 0.5));
    const k = Float32Array.from(rng.randnArray(d.B * d.H * d.T * d.E, 0.5));
    const v = Float32Array.from(rng.randnArray(d.B * d.H * d.T * d.F));
    // Decays in [0.6, 1); head 0 gets exactly 1 (plain causal linear attention, BASED's kernel).
    const lam = Float32Array.from({ length: d.H }, (_, h) => (h === 0 ? 1 : rng.uniform(0.6, 1)));
    const inputs = {
      Q: tensor('f32', [d.B, d.H, d.T, d.E], q),
      K: tensor('f32', [d.B, d.H, d.T, d.E], k),
      V: tensor('f32', [d.B, d.H, d.T, d.F], v),
      Lam: tensor('f32', [d.H], lam),
    };
    const expected = linearDecayCausalReference(q, k, v, lam, d);
    const check = (out: Float32Array, which: string) =>
      errors[which].push(
        assertAllClose(out, expected, TOLERANCE, `${which} C=${chunk} ${label(d)}`),
      );

    test('cpu interpreter, checked and scheduled IR', () => {
      const spec = specFor(chunk);
      for (const [which, program] of [
        ['cpu', spec.program],
        ['scheduled', spec.scheduled],
      ] as const) {
        const r = interpret(program, inputs);
        if (!r.ok) throw new Error(r.diagnostics.map((x) => x.message).join('; '));
        check(r.outputs.O.data as Float32Array, which);
      }
    });
    test('webgpu', async () => {
      const kernel = createKernel(await getTestDevice(), specFor(chunk).wgsl);
      const r = await kernel.run(inputs);
      kernel.destroy();
      if (!r.ok) throw new Error(r.message);
      check(r.outputs.O.data as Float32Array, 'webgpu');
    });
  },
);
