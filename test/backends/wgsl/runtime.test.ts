/**
 * The runtime's failure paths: binding diagnostics, device limits reported as results (not
 * crashes), and WGSL that Dawn rejects surfacing as an InternalError with Dawn's message.
 */
import { describe, expect, it } from 'vitest';
import { InternalError } from '../../../compiler/diagnostics/diagnostic.ts';
import { tensor } from '../../../compiler/tensor.ts';
import { compileWgsl } from '../../../backends/wgsl/compile.ts';
import { createKernel } from '../../../backends/wgsl/runtime.ts';
import * as B from '../../helpers/ir-build.ts';
import { getTestDevice } from '../../helpers/gpu.ts';
import { runRaw } from './harness.ts';

const T = { timeout: 60_000 };

const double = B.program({
  inputs: [B.input('X', ['i'])],
  params: [B.paramDecl('k', 'f32', B.lit(2))],
  body: [B.eq('Y', ['i'], B.mul(B.read('X', 'i'), B.param('k')))],
  outputs: ['Y'],
});

describe('runtime failures', () => {
  it('reports bind() diagnostics: missing input, unknown param, wrong dtype', T, async () => {
    const missing = await runRaw(double, {});
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.diagnostics.map((d) => d.code)).toEqual(['E601']);
    const unknown = await runRaw(double, { X: tensor('f32', [2], [1, 2]) }, { q: 1 });
    if (!unknown.ok) expect(unknown.diagnostics.map((d) => d.code)).toEqual(['E604']);
    else expect.unreachable();
    const dtype = await runRaw(double, { X: tensor('i32', [2], [1, 2]) });
    if (!dtype.ok) expect(dtype.diagnostics.map((d) => d.code)).toEqual(['E608']);
    else expect.unreachable();
  });

  it('reports an input whose data does not match its shape (E605)', T, async () => {
    const bad = { dtype: 'f32' as const, shape: [3], data: new Float32Array(2) };
    const r = await runRaw(double, { X: bad });
    if (!r.ok) expect(r.diagnostics.map((d) => d.code)).toEqual(['E605']);
    else expect.unreachable();
  });

  it('reports a tensor larger than a storage binding, before allocating anything', T, async () => {
    const p = B.program({
      inputs: [B.input('X', ['i']), B.input('Y', ['j']), B.input('Z', ['k'])],
      body: [
        B.eq(
          'Big',
          ['i', 'j', 'k'],
          B.add(B.add(B.read('X', 'i'), B.read('Y', 'j')), B.read('Z', 'k')),
        ),
      ],
      outputs: ['Big'],
    });
    const n = 400; // 400³ f32 = 256 MB
    const v = tensor('f32', [n], new Float32Array(n));
    const r = await runRaw(p, { X: v, Y: v, Z: v });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.message).toMatch(
        /tensor `Big` of shape \[400, 400, 400\] needs 256000000 bytes but the device allows \d+/,
      );
  });

  it('reports a kernel needing more storage buffers than the device allows (E501)', T, async () => {
    const device = await getTestDevice();
    const count = device.limits.maxStorageBuffersPerShaderStage; // + 1 for the target
    const names = Array.from({ length: count }, (_, k) => `X${k}`);
    const body = names.map((n) => B.read(n, 'i')).reduce((a, b) => B.add(a, b));
    const p = B.program({
      inputs: names.map((n) => B.input(n, ['i'])),
      body: [B.eq('Y', ['i'], body)],
      outputs: ['Y'],
    });
    const inputs = Object.fromEntries(names.map((n) => [n, tensor('f32', [2], [1, 2])]));
    const kernel = createKernel(device, compileWgsl(p));
    const r = await kernel.run(inputs);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.diagnostics.map((d) => d.code)).toEqual(['E501']);
      expect(r.diagnostics[0].message).toContain(
        `needs ${count + 1} storage buffers but the device allows ${count}`,
      );
    }
  });

  it(
    'WGSL rejected by Dawn is an InternalError carrying the message, never silent',
    T,
    async () => {
      const device = await getTestDevice();
      const compiled = compileWgsl(double);
      const broken = {
        ...compiled,
        kernels: compiled.kernels.map((k) => ({
          ...k,
          wgsl: k.wgsl.replace('let lin =', 'let lin: f32 ='),
        })),
      };
      const kernel = createKernel(device, broken);
      const error = await kernel.run({ X: tensor('f32', [2], [1, 2]) }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InternalError);
      expect(String((error as Error).message)).toMatch(/k0_Y\.wgsl:\d+:\d+: .*/);
    },
  );

  it('runs again after a failure, and reuses its pipelines across runs', T, async () => {
    const device = await getTestDevice();
    const kernel = createKernel(device, compileWgsl(double));
    expect((await kernel.run({})).ok).toBe(false);
    for (const k of [2, 3]) {
      const r = await kernel.run({ X: tensor('f32', [3], [1, 2, 3]) }, { params: { k } });
      if (!r.ok) expect.unreachable(r.message);
      else expect([...r.outputs.Y.data]).toEqual([k, 2 * k, 3 * k]);
    }
    kernel.destroy();
    await expect(kernel.run({ X: tensor('f32', [3], [1, 2, 3]) })).rejects.toThrow(/destroyed/);
  });
});
