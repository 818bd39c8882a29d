/**
 * `run(..., { profile: true })`: one GPU timing per dispatch, named after the kernel that ran,
 * and the same outputs as an unprofiled run (a pass per dispatch must not change the results).
 */
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { compile, createKernel, type CompileOptions } from '../../../index.ts';
import { getTestDevice } from '../../helpers/gpu.ts';
import { extentsOf, inputsOf } from './fused-harness.ts';

const text = readFileSync(new URL('../../../stdlib/mha.attn', import.meta.url), 'utf8');

test.each([
  ['fused', {}],
  ['unfused', { passes: 'none' }],
] as const)('%s: a timing per dispatch', { timeout: 60_000 }, async (_label, options) => {
  const device = await getTestDevice();
  const r = compile(text, { fileName: 'stdlib/mha.attn', ...(options as CompileOptions) });
  if (!r.ok) throw new Error('mha does not compile');
  const spec = r.specs[0];
  const inputs = inputsOf(spec.program, extentsOf(spec.program, { B: 1, H: 2, P: 33, M: 40 }), 7);
  const kernel = createKernel(device, spec.wgsl);
  const plain = await kernel.run(inputs);
  const profiled = await kernel.run(inputs, { profile: true });
  kernel.destroy();
  if (!plain.ok || !profiled.ok) throw new Error('run failed');
  expect(profiled.outputs.O.data).toEqual(plain.outputs.O.data);
  if (!device.features.has('timestamp-query')) {
    expect(profiled.timings).toBeUndefined();
    return;
  }
  const expected = spec.wgsl.manifest.kernels.filter((k) => k.fused?.role !== 'merge');
  expect(profiled.timings!.map((t) => t.kernel)).toEqual(expected.map((k) => k.name));
  for (const t of profiled.timings!) expect(t.ms).toBeGreaterThanOrEqual(0);
  expect(profiled.timings!.reduce((a, t) => a + t.ms, 0)).toBeGreaterThan(0);
});
