/**
 * More workgroups than one dispatch dimension holds (65535 × 64 = 4,194,240 points): the
 * runtime dispatches a 2-D grid and the kernel linearises it with `num_workgroups`.
 */
import { describe, expect, it } from 'vitest';
import { tensor } from '../../../compiler/tensor.ts';
import { compileWgsl } from '../../../backends/wgsl/compile.ts';
import { dispatchSize } from '../../../backends/wgsl/runtime-data.ts';
import * as B from '../../helpers/ir-build.ts';
import { run } from './harness.ts';

describe('dispatch', () => {
  it('splits a workgroup count into a 1-D or 2-D grid', () => {
    expect(dispatchSize(10, 65535)).toEqual([10, 1, 1]);
    expect(dispatchSize(65535, 65535)).toEqual([65535, 1, 1]);
    expect(dispatchSize(65536, 65535)).toEqual([32768, 2, 1]);
    expect(dispatchSize(70313, 65535)).toEqual([35157, 2, 1]);
    expect(dispatchSize(65535 * 65535 + 1, 65535)).toBeNull();
  });

  it(
    'an element-wise kernel over 4.5M points runs on a 2-D grid',
    { timeout: 120_000 },
    async () => {
      const n = 4_500_000;
      expect(Math.ceil(n / 64)).toBeGreaterThan(65535);
      const p = B.program({
        inputs: [B.input('X', ['i'])],
        body: [B.eq('Y', ['i'], B.add(B.mul(B.read('X', 'i'), B.lit(2)), B.lit(1)))],
        outputs: ['Y'],
      });
      expect(compileWgsl(p).kernels[0].wgsl).toContain('(wid.y * nwg.x + wid.x)');
      const x = new Float32Array(n);
      for (let k = 0; k < n; k++) x[k] = k % 1000;
      const { Y } = await run(p, { X: tensor('f32', [n], x) });
      let bad = -1;
      for (let k = 0; k < n && bad < 0; k++) if (Y[k] !== 2 * (k % 1000) + 1) bad = k;
      expect(bad).toBe(-1);
    },
  );
});
