/**
 * Where a fused kernel stages a chunk's keys (fused-spec.ts `staging`): in workgroup memory
 * behind barriers, or in registers that the lanes of a one-subgroup workgroup share by
 * broadcast. The choice, the tuning override, and the kernel each one produces; the kernels'
 * results are checked on Dawn in fused-specs.test.ts and fused-blocking.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { chooseSpec, tuneSpec, type Limits } from '../../../backends/wgsl/fused-spec.ts';
import type { KStmt } from '../../../backends/wgsl/plan.ts';
import { compileBlock, extentsOf } from './fused-harness.ts';

const WORKGROUP = { maxComputeWorkgroupStorageSize: 32768, maxComputeInvocationsPerWorkgroup: 256 };
const LAVAPIPE: Limits = { ...WORKGROUP, software: true, subgroupSize: 8 };

const mha = compileBlock({ file: 'stdlib/mha.attn', name: 'mha' }, { extentHints: { D: 64 } });
const fused = mha.wgsl.fused[0];
const symbols = extentsOf(mha.scheduled, { B: 1, H: 8, P: 1024, M: 1024, E: 64, F: 64 });

function specFor(limits: Limits) {
  const spec = chooseSpec(fused.static, symbols, limits);
  if (typeof spec === 'string') throw new Error(spec);
  return spec;
}

/** The statements of the loop over a tile's chunks (`for (var ck ...)`). */
function chunkLoop(body: readonly KStmt[]): readonly KStmt[] {
  for (const s of body) {
    if (s.kind === 'for' && s.index === 'ck') return s.body;
    const inner =
      s.kind === 'for'
        ? chunkLoop(s.body)
        : s.kind === 'if'
          ? chunkLoop([...s.then, ...s.else])
          : [];
    if (inner.length > 0) return inner;
  }
  return [];
}

describe('staging of a chunk of keys', () => {
  it('a software device with one subgroup per workgroup stages in registers', () => {
    const spec = specFor(LAVAPIPE);
    expect([spec.invocations, spec.staging]).toEqual([8, 'subgroup']);
  });

  it.each([
    ['a subgroup size other than the invocations', { ...LAVAPIPE, subgroupSize: 16 }],
    ['no subgroups', { ...WORKGROUP, software: true }],
    ['a GPU (not measured here)', { ...WORKGROUP, subgroupSize: 8 }],
  ])('%s: workgroup memory', (_label, limits) => {
    expect(specFor(limits).staging).toBe('workgroup');
  });

  it('subgroup staging: no barrier per chunk, broadcasts, and no chunk in workgroup memory', () => {
    const sub = fused.specialize(specFor(LAVAPIPE));
    const shared = fused.specialize({ ...specFor(LAVAPIPE), staging: 'workgroup' });
    const barriers = (body: readonly KStmt[]) =>
      body.filter((s) => s.kind === 'workgroupBarrier').length;
    expect(barriers(chunkLoop(sub.plan.body))).toBe(0);
    expect(barriers(chunkLoop(shared.plan.body))).toBe(2);
    expect(sub.wgsl).toMatch(/^enable subgroups;$/m);
    expect(sub.wgsl).toContain('subgroupBroadcast(');
    expect(shared.wgsl).not.toContain('subgroup');
    // Workgroup memory keeps only the prologue's and epilogue's row per invocation (8 × 64 floats
    // each, and the sums): the 4-key chunk is not there.
    const floats = (p: typeof sub) =>
      (p.plan.workgroupArrays ?? []).map((a) => [a.name, a.length * (a.element === 'f32' ? 1 : 4)]);
    expect(floats(sub)).toEqual([
      ['wg_k', 512],
      ['wg_v', 512],
      ['wg_l', 8],
    ]);
  });

  it('tuning: subgroup staging sets the rows per invocation, or says why it cannot', () => {
    const gpuSpec = specFor({ ...WORKGROUP, subgroupSize: 32 });
    const tuned = tuneSpec(
      fused.static,
      gpuSpec,
      { staging: 'subgroup' },
      {
        ...WORKGROUP,
        subgroupSize: 32,
      },
    );
    if (typeof tuned === 'string') throw new Error(tuned);
    expect([tuned.invocations, tuned.perInvocation, tuned.staging]).toEqual([32, 2, 'subgroup']);
    expect(tuneSpec(fused.static, gpuSpec, { staging: 'subgroup' }, WORKGROUP)).toMatch(
      /subgroup staging needs/,
    );
    expect(
      tuneSpec(fused.static, gpuSpec, { staging: 'subgroup', perInvocation: 4 }, LAVAPIPE),
    ).toMatch(/16 invocations/);
  });
});
