/**
 * Fused groups the WGSL backend used to run unfused, now one attention kernel each:
 *  - two contractions in the chain: MLA's latent and RoPE scores (`S1 = sum[r] ..`,
 *    `S2 = sum[d] ..`), whose latent keys `CKV[b, m, r]` have no head index;
 *  - key-side chain tensors, computed by their own kernels before the fused one: cosine
 *    attention's key norms, two-source attention's keys concatenated piecewise, agent attention's
 *    pooled agents.
 * Correctness of every block is `fused-specs.test.ts`'s; here the coverage, the workgroup memory
 * of several contractions, and one run with contractions of different widths.
 */
import { describe, expect, test } from 'vitest';
import { chooseSpec, workgroupBytes } from '../../../backends/wgsl/fused-spec.ts';
import type { WorkgroupArray } from '../../../backends/wgsl/plan.ts';
import { compareWithInterpreter, compileBlock, extentsOf, inputsOf } from './fused-harness.ts';

const ONE_GROUP = [
  { file: 'stdlib/mla.attn', name: 'mla' },
  { file: 'stdlib/mla.attn', name: 'mla_latent' },
  { file: 'stdlib/selective_temperature.attn', name: 'cosine_attention' },
  { file: 'stdlib/two_source.attn', name: 'two_source' },
] as const;

const runsUnfused = (notes: readonly string[]) => notes.filter((n) => n.includes('runs unfused'));

describe.each(ONE_GROUP.map((b) => [b.name, b] as const))('%s', (_name, block) => {
  test('compiles to exactly one fused attention kernel', () => {
    const spec = compileBlock(block);
    expect(runsUnfused(spec.wgsl.manifest.notes)).toEqual([]);
    expect(spec.wgsl.fused).toHaveLength(1);
    const attention = spec.wgsl.manifest.kernels.filter((k) => k.fused?.role === 'attention');
    expect(attention).toHaveLength(1);
  });
});

test('agent_pooled: both attentions fused (the pooled agents are key-side)', () => {
  const spec = compileBlock({ file: 'stdlib/agent.attn', name: 'agent_pooled' });
  expect(runsUnfused(spec.wgsl.manifest.notes)).toEqual([]);
  expect(spec.wgsl.fused).toHaveLength(2);
});

describe('the plan of the new groups', () => {
  test('MLA: two contractions, over the latent and the RoPE dimension', () => {
    const fs = compileBlock({ file: 'stdlib/mla.attn', name: 'mla_latent' }).wgsl.fused[0].static;
    expect(fs.contractions.map((c) => [c.statement.target, c.reduced])).toEqual([
      ['S1', 'r'],
      ['S2', 'd'],
    ]);
    expect(fs.keySide).toEqual([]);
  });

  test.each([
    ['selective_temperature', 'cosine_attention', ['KK', 'NK']],
    ['two_source', 'two_source', ['KC']],
  ])('%s · %s: key-side tensors run first, as kernels of their own', (file, name, keySide) => {
    const spec = compileBlock({ file: `stdlib/${file}.attn`, name });
    const fs = spec.wgsl.fused[0].static;
    expect(fs.keySide).toEqual(keySide);
    expect(fs.contractions).toHaveLength(1);
    const kernels = spec.wgsl.manifest.kernels;
    const attention = kernels.findIndex((k) => k.fused?.role === 'attention');
    for (const t of keySide) {
      const own = kernels.findIndex((k) => k.target === t && !k.fused);
      expect(own, `${t} has a kernel`).toBeGreaterThanOrEqual(0);
      expect(own).toBeLessThan(attention);
      expect(spec.wgsl.manifest.buffers.some((b) => b.tensor === t)).toBe(true);
    }
  });
});

const BYTES: Readonly<Record<string, number>> = { 'vec4<f32>': 16, f32: 4, u32: 4, i32: 4 };
const declared = (arrays: readonly WorkgroupArray[] = []) =>
  arrays.reduce((a, x) => a + BYTES[x.element] * x.length, 0);

describe.each([16384, 32768])('workgroup memory of %i bytes', (limit) => {
  const limits = { maxComputeWorkgroupStorageSize: limit, maxComputeInvocationsPerWorkgroup: 256 };

  test.each([
    [512, 64],
    [128, 64],
    [20, 36],
  ])('MLA with R = %i, D = %i: every contraction counted, and it fits', (R, D) => {
    const compiled = compileBlock({ file: 'stdlib/mla.attn', name: 'mla_latent' });
    const fused = compiled.wgsl.fused[0];
    const symbols = extentsOf(compiled.scheduled, { B: 1, H: 16, P: 64, M: 1024, R, D });
    const spec = chooseSpec(fused.static, symbols, limits);
    if (typeof spec === 'string') throw new Error(spec);
    expect(spec.reduced).toEqual([R, D]);
    const bytes = declared(fused.specialize(spec).plan.workgroupArrays);
    expect(bytes).toBeLessThanOrEqual(workgroupBytes(spec, spec.chunk));
    expect(workgroupBytes(spec, spec.chunk)).toBeLessThanOrEqual(limit);
  });
});

describe('MLA on Dawn with contractions of different widths', () => {
  const block = { file: 'stdlib/mla.attn', name: 'mla_latent' } as const;
  const T = { timeout: 180_000 };

  test('R = 37, D = 6 (padded to 40 and 8)', T, async () => {
    const spec = compileBlock(block);
    const symbols = extentsOf(spec.program, { H: 3, P: 11, M: 45, R: 37, D: 6 });
    const r = await compareWithInterpreter(spec, inputsOf(spec.program, symbols, 5));
    expect(r.fused.map((f) => [f.mode, f.spec?.reduced])).toEqual([['fused', [40, 8]]]);
  });

  test('a decode step split in three, R = 9, D = 30', T, async () => {
    const spec = compileBlock(block, { tiles: { m: 8 } });
    const symbols = extentsOf(spec.program, { H: 2, P: 1, M: 40, R: 9, D: 30 });
    const r = await compareWithInterpreter(spec, inputsOf(spec.program, symbols, 6), {
      splits: 3,
    });
    expect(r.fused.map((f) => [f.mode, f.splits])).toEqual([['fused', 3]]);
  });
});
