/**
 * Generated WGSL and its manifest: golden files for review (always together with Dawn's
 * validation), and the manifest agreeing with the text it was derived with.
 */
import { describe, expect, it } from 'vitest';
import { evaluateAffine } from '../../../compiler/affine.ts';
import { compileWgsl } from '../../../backends/wgsl/compile.ts';
import type { Manifest } from '../../../backends/wgsl/manifest.ts';
import * as B from '../../helpers/ir-build.ts';
import { getTestDevice, wgslErrors } from '../../helpers/gpu.ts';

const { A } = B;
const T = { timeout: 60_000 };

/** The score equation of grouped-query attention with a causal filter (DESIGN.md §1). */
const gqaScores = B.program(
  {
    inputs: [B.input('Q', ['b', 'hq', 'p', 'e']), B.input('K', ['b', 'hk', 'm', 'e'])],
    consts: [B.intConst('G', A.floorDiv(A.symbol('HQ'), A.symbol('HK')))],
    body: [
      B.eq(
        'S',
        ['b', 'hq', 'p', 'm'],
        B.mul(
          B.mul(
            B.read('Q', 'b', 'hq', 'p', 'e'),
            B.read('K', 'b', A.floorDiv(A.index('hq'), A.symbol('G')), 'm', 'e'),
          ),
          B.call('rsqrt', B.int('E')),
        ),
        { over: ['e'], filter: B.icmp('<=', 'm', 'p') },
      ),
      B.eq('GM', ['b', 'hq', 'p'], B.read('S', 'b', 'hq', 'p', 'm'), {
        reduce: 'max',
        over: ['m'],
      }),
    ],
    outputs: ['GM'],
  },
  'gqa_scores',
);

const prefixSum = B.program(
  {
    inputs: [B.input('X', ['i', 's'])],
    body: [
      B.rec('C', ['i', 's'], 1, B.lit(0), B.add(B.read('C', 'i', 's'), B.read('X', 'i', 's'))),
    ],
    outputs: ['C'],
  },
  'prefix_sum',
);

describe('golden WGSL', () => {
  it.each([
    ['gqa_scores', gqaScores],
    ['prefix_sum', prefixSum],
  ] as const)('%s', T, async (name, program) => {
    const compiled = compileWgsl(program);
    const device = await getTestDevice();
    const text = compiled.kernels.map((k) => k.wgsl).join('\n// ────────\n\n');
    for (const k of compiled.kernels) expect(await wgslErrors(device, k.wgsl), k.wgsl).toEqual([]);
    await expect(text).toMatchFileSnapshot(`golden/${name}.unfused.wgsl`);
  });
});

describe('manifest', () => {
  it('is plain JSON and agrees with the WGSL declarations', () => {
    const compiled = compileWgsl(gqaScores);
    const manifest: Manifest = JSON.parse(JSON.stringify(compiled.manifest));
    expect(manifest).toEqual(compiled.manifest);
    compiled.kernels.forEach((k, i) => {
      const declared = [
        ...k.wgsl.matchAll(
          /@binding\((\d+)\) var<(\w+)(?:, (\w+))?> (\w+): (?:array<(\w+|vec4<f32>)>|(\w+))/g,
        ),
      ].map((m) => ({
        binding: Number(m[1]),
        kind: m[2],
        access: m[3] ?? 'read',
        elementType: m[5] ?? m[6],
      }));
      const listed = manifest.kernels[i].bindings.map((b) => ({
        binding: b.binding,
        kind: b.kind,
        access: b.access,
        elementType: b.elementType,
      }));
      expect(declared).toEqual(listed);
      expect(manifest.kernels[i].file).toBe(k.file);
      expect(k.wgsl).toContain(`@workgroup_size(${manifest.kernels[i].workgroupSize[0]})`);
    });
    expect(manifest.inputs.map((x) => [x.name, x.dtype, x.indices])).toEqual([
      ['Q', 'f32', ['b', 'hq', 'p', 'e']],
      ['K', 'f32', ['b', 'hk', 'm', 'e']],
    ]);
    expect(manifest.outputs).toEqual([{ name: 'GM', storage: 'f32' }]);
    expect(manifest.buffers.find((b) => b.tensor === 'S')).toMatchObject({
      role: 'intermediate',
      storage: 'f32-absent',
      bytesPerElement: 4,
    });
    expect(manifest.uniforms.fields.map((f) => [f.field, f.type, f.offset])).toContainEqual([
      's_G',
      'i32',
      24,
    ]);
  });

  it('dispatch and size formulas evaluate with the bound symbols', () => {
    const manifest = compileWgsl(gqaScores).manifest;
    const symbols = new Map(Object.entries({ B: 2, HQ: 8, HK: 2, P: 100, M: 100, E: 64, G: 4 }));
    const env = { index: () => 0, read: () => 0, symbol: (n: string) => symbols.get(n)! };
    const [scores, max] = manifest.kernels;
    expect(evaluateAffine(scores.dispatch.invocations, env)).toBe(2 * 8 * 100 * 100);
    expect(evaluateAffine(scores.dispatch.workgroups, env)).toBe(
      Math.ceil((2 * 8 * 100 * 100) / 64),
    );
    expect(evaluateAffine(max.dispatch.workgroups, env)).toBe(Math.ceil((2 * 8 * 100) / 64));
    expect(evaluateAffine(manifest.buffers.find((b) => b.tensor === 'K')!.elements, env)).toBe(
      2 * 2 * 100 * 64,
    );
  });
});
