/**
 * Benchmark building blocks: compile a stdlib spec with or without some passes, make seeded
 * inputs, time runs on a WebGPU device (median after warm-up), and count the work.
 */
import { readFileSync } from 'node:fs';
import { bind } from '../compiler/bind.ts';
import {
  compile,
  createKernel,
  type CompiledSpec,
  type CompileOptions,
  type HostTensor,
  tensor,
} from '../index.ts';
import { evaluateFormula, bufferBytes } from '../backends/wgsl/runtime-data.ts';
import { planRun } from '../backends/wgsl/runtime-fused.ts';
import { fusedLimits } from '../backends/wgsl/runtime.ts';

export interface Shape {
  readonly B: number;
  readonly HQ: number;
  readonly HK: number;
  readonly L: number;
  readonly S: number;
  readonly D: number;
}

export function loadSpec(file: string, attention: string, options: CompileOptions): CompiledSpec {
  const text = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
  const result = compile(text, { fileName: file, attention, ...options });
  if (!result.ok) throw new Error(`${file} does not compile`);
  return result.specs[0];
}

/** mulberry32 → values in [-1, 1): reproducible inputs. */
function values(n: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

export function qkv(s: Shape, seed = 1): Record<string, HostTensor> {
  return {
    Q: tensor('f32', [s.B, s.HQ, s.L, s.D], values(s.B * s.HQ * s.L * s.D, seed)),
    K: tensor('f32', [s.B, s.HK, s.S, s.D], values(s.B * s.HK * s.S * s.D, seed + 1)),
    V: tensor('f32', [s.B, s.HK, s.S, s.D], values(s.B * s.HK * s.S * s.D, seed + 2)),
  };
}

/** Query/key pairs a mask lets through: what the useful FLOPs count. */
export function visiblePairs(s: Shape, keep: (p: number, m: number) => boolean): number {
  let n = 0;
  for (let p = 0; p < s.L; p++) for (let m = 0; m < s.S; m++) if (keep(p, m)) n++;
  return n;
}

/** QKᵀ and PV: 2 multiply-adds per (pair, head dim) each. */
export function attentionFlops(s: Shape, pairs: number): number {
  return 4 * s.B * s.HQ * pairs * s.D;
}

/**
 * Bytes of every storage buffer the run allocates (inputs, intermediates, outputs, split-KV
 * partials), as the runtime plans it for this device (`backends/wgsl/runtime-fused.ts`).
 */
export function bufferFootprint(
  device: GPUDevice,
  spec: CompiledSpec,
  inputs: Record<string, HostTensor>,
  params: Record<string, number | boolean>,
): number {
  const signatures = Object.fromEntries(
    Object.entries(inputs).map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape }]),
  );
  const bound = bind(spec.wgsl.program, signatures, params);
  if (!bound.ok) throw new Error(bound.diagnostics.map((d) => d.message).join('; '));
  const plan = planRun(spec.wgsl, bound.binding, fusedLimits(device));
  return plan.buffers.reduce(
    (sum, b) => sum + bufferBytes(evaluateFormula(b.elements, plan.binding), b.bytesPerElement),
    0,
  );
}

export interface Timing {
  readonly medianMs: number;
  /** Median GPU time of the dispatches (timestamp queries), when the device has them. */
  readonly gpuMs: number | null;
  readonly runs: readonly number[];
  readonly output: Float32Array<ArrayBufferLike>;
}

/** Median wall time of `runs` runs after `warmup` (upload, all dispatches, read-back). */
export async function time(
  device: GPUDevice,
  spec: CompiledSpec,
  inputs: Record<string, HostTensor>,
  params: Record<string, number | boolean>,
  runs: number,
  warmup: number,
): Promise<Timing> {
  const kernel = createKernel(device, spec.wgsl);
  let output: Float32Array<ArrayBufferLike> = new Float32Array(0);
  const samples: number[] = [];
  const gpu: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const t0 = performance.now();
    const r = await kernel.run(inputs, { params, profile: true });
    const t1 = performance.now();
    if (!r.ok) throw new Error(`${spec.name}: ${r.message}`);
    if (i >= warmup) samples.push(t1 - t0);
    if (i >= warmup && r.timings) gpu.push(r.timings.reduce((sum, t) => sum + t.ms, 0));
    output = r.outputs[spec.program.outputs[0]].data as Float32Array;
  }
  kernel.destroy();
  return {
    medianMs: median(samples),
    gpuMs: gpu.length > 0 ? median(gpu) : null,
    runs: samples,
    output,
  };
}

export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
