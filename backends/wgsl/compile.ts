/**
 * The WGSL backend's entry point: a (scheduled) program → one WGSL module per kernel, the plans
 * they were printed from, and the manifest the runtime follows.
 */
import type { Program } from '../../compiler/ir.ts';
import { emitKernel } from './emit.ts';
import { lowerProgram } from './lower.ts';
import { buildManifest, kernelFileName, type Manifest } from './manifest.ts';
import type { KernelPlan, ProgramPlan } from './plan.ts';

export interface CompileWgslOptions {
  /** Keep f16 inputs as f16 on the GPU (the device must have `shader-f16`). Default false. */
  readonly f16?: boolean;
}

export interface CompiledKernel {
  readonly name: string;
  /** Suggested file name (`k0_S.wgsl`), as referenced by the manifest. */
  readonly file: string;
  readonly wgsl: string;
  readonly plan: KernelPlan;
}

export interface CompiledWgsl {
  readonly program: Program;
  readonly options: CompileWgslOptions;
  readonly plan: ProgramPlan;
  readonly kernels: readonly CompiledKernel[];
  readonly manifest: Manifest;
}

export function compileWgsl(program: Program, options: CompileWgslOptions = {}): CompiledWgsl {
  const plan = lowerProgram(program, options);
  const kernels = plan.kernels.map((k) => ({
    name: k.name,
    file: kernelFileName(k),
    wgsl: emitKernel(k, plan.uniforms),
    plan: k,
  }));
  return { program, options, plan, kernels, manifest: buildManifest(program, plan) };
}
