/**
 * The WGSL backend's entry point: a (scheduled) program → one WGSL module per kernel, the plans
 * they were printed from, and the manifest the runtime follows.
 */
import type { Program } from '../../compiler/ir.ts';
import { emitKernel } from './emit.ts';
import type { FusedStatic } from './fused-plan.ts';
import type { FusedSpec } from './fused-spec.ts';
import { lowerProgram, programFacts } from './lower.ts';
import { lowerFusedKernel } from './lower-fused.ts';
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

/** A fused group: its kernels' places, its fallback, and its WGSL per specialisation. */
export interface CompiledFused {
  readonly static: FusedStatic;
  /** Index in `kernels` (and `manifest.kernels`) of the attention kernel. */
  readonly attention: number;
  readonly merge: number | null;
  /** The group's statements as unfused kernels (`manifest.fallbacks`). */
  readonly fallback: readonly CompiledKernel[];
  /** The attention kernel for `spec`; generated once per specialisation. */
  specialize(spec: FusedSpec): CompiledKernel;
}

export interface CompiledWgsl {
  readonly program: Program;
  readonly options: CompileWgslOptions;
  readonly plan: ProgramPlan;
  readonly kernels: readonly CompiledKernel[];
  readonly fused: readonly CompiledFused[];
  readonly manifest: Manifest;
}

function compiled(k: KernelPlan, plan: ProgramPlan): CompiledKernel {
  return { name: k.name, file: kernelFileName(k), wgsl: emitKernel(k, plan.uniforms), plan: k };
}

export function compileWgsl(program: Program, options: CompileWgslOptions = {}): CompiledWgsl {
  const plan = lowerProgram(program, options);
  const kernels = plan.kernels.map((k) => compiled(k, plan));
  const env = programFacts(program, options.f16 ?? false);
  const fused = plan.fused.map((f): CompiledFused => {
    const cache = new Map<string, CompiledKernel>();
    const reference = plan.kernels[f.attention];
    return {
      static: f.static,
      attention: f.attention,
      merge: f.merge,
      fallback: f.fallback.map((k) => compiled(k, plan)),
      specialize(spec) {
        const key = JSON.stringify(spec);
        let k = cache.get(key);
        if (!k) {
          const p = lowerFusedKernel(env, f.static, spec, reference.name, reference.statement);
          k = compiled({ ...p, dispatch: reference.dispatch }, plan);
          cache.set(key, k);
        }
        return k;
      },
    };
  });
  return { program, options, plan, kernels, fused, manifest: buildManifest(program, plan) };
}
