/**
 * Compatibility-mode smoke test: the same generated kernels on Dawn's OpenGL ES backend
 * (llvmpipe), which some users' browsers are limited to. No f16 there, so an f16-storage
 * compile must be refused with a clear message. (Both Dawn backends coexist in one process.)
 */
import { describe, expect, it } from 'vitest';
import { tensor } from '../../../compiler/tensor.ts';
import * as B from '../../helpers/ir-build.ts';
import { getTestDevice } from '../../helpers/gpu.ts';
import { assertAllClose } from '../../helpers/allclose.ts';
import { compileWgsl } from '../../../backends/wgsl/compile.ts';
import { createKernel } from '../../../backends/wgsl/runtime.ts';
import { run } from './harness.ts';

const { A } = B;
const T = { timeout: 60_000 };

describe('compatibility mode (OpenGL ES)', () => {
  it('runs masked softmax, a bool mask, an i32 read and a recurrence', T, async () => {
    const device = await getTestDevice('opengles');
    const p = B.program({
      inputs: [
        B.input('X', ['p', 'm']),
        B.input('Mask', ['p', 'm'], 'bool'),
        B.input('Len', ['p'], 'i32'),
      ],
      body: [
        B.eq('S', ['p', 'm'], B.read('X', 'p', 'm'), {
          filter: B.and(B.read('Mask', 'p', 'm'), B.icmp('<', 'm', A.read('Len', [A.index('p')]))),
        }),
        B.eq('GM', ['p'], B.read('S', 'p', 'm'), { reduce: 'max', over: ['m'] }),
        B.eq('SN', ['p', 'm'], B.call('exp', B.subtract(B.read('S', 'p', 'm'), B.read('GM', 'p')))),
        B.eq('SD', ['p'], B.read('SN', 'p', 'm'), { over: ['m'] }),
        B.eq('AW', ['p', 'm'], B.div(B.read('SN', 'p', 'm'), B.read('SD', 'p'))),
        B.rec('C', ['p', 'm'], 1, B.lit(0), B.add(B.read('C', 'p', 'm'), B.read('X', 'p', 'm'))),
      ],
      outputs: ['AW', 'C'],
    });
    const X = [1, 2, 3, 0.5, -1, 4];
    const mask = [1, 1, 0, 1, 1, 1];
    const len = [3, 0];
    const inputs = {
      X: tensor('f32', [2, 3], X),
      Mask: tensor('bool', [2, 3], mask),
      Len: tensor('i32', [2], len),
    };
    const out = await run(p, inputs, {}, {}, device);
    const e = [Math.exp(1 - 2), Math.exp(0)];
    assertAllClose(out.AW, [e[0] / (e[0] + e[1]), e[1] / (e[0] + e[1]), 0, 0, 0, 0], {
      atol: 1e-6,
      rtol: 1e-6,
    });
    expect([...out.C]).toEqual([0, 1, 3, 6, 0, 0.5, -0.5, 3.5]);
    // Both Dawn backends live in one process: the Vulkan device gives the same answers.
    const vulkan = await run(p, inputs, {}, {}, await getTestDevice('vulkan'));
    expect([...vulkan.AW]).toEqual([...out.AW]);
    expect([...vulkan.C]).toEqual([...out.C]);
  });

  it('refuses f16 storage on a device without shader-f16', T, async () => {
    const device = await getTestDevice('opengles');
    expect(device.features.has('shader-f16')).toBe(false);
    const p = B.program({
      inputs: [B.input('H', ['i'], 'f16')],
      body: [B.eq('Y', ['i'], B.read('H', 'i'))],
      outputs: ['Y'],
    });
    const compat = await createKernel(device, compileWgsl(p, { f16: true })).run({
      H: tensor('f16', [2], [1, 2]),
    });
    expect(compat.ok).toBe(false);
    if (!compat.ok) expect(compat.message).toMatch(/shader-f16/);
    // Without f16 storage the runtime widens f16 inputs to f32 on upload.
    expect([...(await run(p, { H: tensor('f16', [2], [1, 2]) }, {}, {}, device)).Y]).toEqual([
      1, 2,
    ]);
  });
});
