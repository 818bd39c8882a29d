/**
 * Shared steps of the WGSL backend tests: compile a program, insist that Dawn accepts every
 * kernel, run it, and build inputs whose values are exactly representable in f32 (so the float64
 * references see the same numbers the GPU does).
 */
import { expect } from 'vitest';
import type { ParamValue } from '../../../compiler/bind.ts';
import type { Program } from '../../../compiler/ir.ts';
import { tensor, type HostTensor } from '../../../compiler/tensor.ts';
import {
  compileWgsl,
  type CompileWgslOptions,
  type CompiledWgsl,
} from '../../../backends/wgsl/compile.ts';
import { createKernel, type RunResult } from '../../../backends/wgsl/runtime.ts';
import { getTestDevice, wgslErrors } from '../../helpers/gpu.ts';
import type { Rng } from '../../helpers/rng.ts';

/** Compiles `program` and expects Dawn to validate every kernel with zero errors. */
export async function compileChecked(
  program: Program,
  options: CompileWgslOptions = {},
  device?: GPUDevice,
): Promise<CompiledWgsl> {
  const compiled = compileWgsl(program, options);
  const dev = device ?? (await getTestDevice());
  for (const k of compiled.kernels) {
    expect(await wgslErrors(dev, k.wgsl), `${k.name}:\n${k.wgsl}`).toEqual([]);
  }
  return compiled;
}

export async function runRaw(
  program: Program,
  inputs: Record<string, HostTensor>,
  params: Record<string, ParamValue> = {},
  options: CompileWgslOptions = {},
  device?: GPUDevice,
): Promise<RunResult> {
  const dev = device ?? (await getTestDevice());
  const compiled = await compileChecked(program, options, dev);
  const kernel = createKernel(dev, compiled);
  try {
    return await kernel.run(inputs, { params });
  } finally {
    kernel.destroy();
  }
}

/** Runs `program` and returns its outputs; fails the test on diagnostics. */
export async function run(
  program: Program,
  inputs: Record<string, HostTensor>,
  params: Record<string, ParamValue> = {},
  options: CompileWgslOptions = {},
  device?: GPUDevice,
): Promise<Record<string, Float32Array>> {
  const result = await runRaw(program, inputs, params, options, device);
  if (!result.ok) throw new Error(`run failed: ${result.message}`);
  return Object.fromEntries(
    Object.entries(result.outputs).map(([k, t]) => [k, t.data as Float32Array]),
  );
}

/** Normal samples rounded to f32, as a tensor and as the float64 values the reference uses. */
export function randomTensor(
  rng: Rng,
  shape: number[],
  scale = 1,
): { t: HostTensor; v: Float64Array } {
  const v = Float64Array.from(
    rng.randnArray(
      shape.reduce((a, b) => a * b, 1),
      scale,
    ),
    Math.fround,
  );
  return { t: tensor('f32', shape, v), v };
}

/** Row-major offset of `at` in `shape`. */
export function offset(shape: readonly number[], ...at: number[]): number {
  return at.reduce((acc, x, k) => acc * shape[k] + x, 0);
}
