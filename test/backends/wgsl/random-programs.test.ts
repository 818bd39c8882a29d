/**
 * Differential fuzz of the WGSL backend: random well-formed programs (test/helpers/
 * random-programs.ts) compiled to WGSL must validate on Dawn and agree with the CPU
 * interpreter. Seeds are fixed, so a failure names its program: paste the seed into a
 * regression test. The interpreter computes in float64 and the GPU in f32, so values are
 * compared with a tolerance, and only where the float64 value is a moderate number (f32
 * overflows near 3.4e38, and exp() of a large intermediate is inf in f32 but not in f64).
 */
import { describe, expect, it } from 'vitest';
import { interpret } from '../../../backends/cpu/interpret.ts';
import { compileWgsl } from '../../../backends/wgsl/compile.ts';
import { createKernel } from '../../../backends/wgsl/runtime.ts';
import { getTestDevice } from '../../helpers/gpu.ts';
import { randomCase } from '../../helpers/random-programs.ts';

const SEEDS = Array.from({ length: Number(process.env.FUZZ_RUNS ?? 60) }, (_, i) => 1000 + i);

describe('WGSL vs interpreter on random programs', () => {
  it.each(SEEDS)('seed %i', async (seed) => {
    const { program, inputs } = randomCase(seed);
    const cpu = interpret(program, inputs);
    if (!cpu.ok) throw new Error(cpu.diagnostics.map((d) => d.message).join('; '));
    const kernel = createKernel(await getTestDevice(), compileWgsl(program));
    const gpu = await kernel.run(inputs);
    kernel.destroy();
    if (!gpu.ok) throw new Error(gpu.message);
    for (const name of program.outputs) {
      const want = cpu.tensors.get(name)!;
      const got = gpu.outputs[name].data as Float32Array;
      want.values.forEach((v, n) => {
        const expected = want.present[n] ? v : 0;
        if (!Number.isFinite(expected) || Math.abs(expected) > 1e6) return;
        const ok = Math.abs(got[n] - expected) <= 1e-4 + 1e-3 * Math.abs(expected);
        if (!ok)
          expect.fail(
            `seed ${seed}: ${name}[${n}] is ${got[n]} on WebGPU, ${expected} on the interpreter`,
          );
      });
    }
  });
});
