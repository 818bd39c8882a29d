/**
 * One bad call per run-time code (E5xx device limits, E6xx binding), shared by `runtime.test.ts`
 * (which runs them) and `diagnostics.test.ts` (which checks that every code of the catalogue is
 * covered by a case file or by one of these). Each case compiles a small spec and makes exactly
 * one mistake when calling it.
 */
import { bind, type InputSignature, type ParamValue } from '../../compiler/bind.ts';
import type { Diagnostic } from '../../compiler/diagnostics/diagnostic.ts';
import { checkSource } from '../../compiler/front-end.ts';
import type { Program } from '../../compiler/ir.ts';
import { tensor, type HostTensor } from '../../compiler/tensor.ts';
import { interpret } from '../../backends/cpu/interpret.ts';
import { compileWgsl } from '../../backends/wgsl/compile.ts';
import { createKernel } from '../../backends/wgsl/runtime.ts';

export interface RuntimeCase {
  readonly code: string;
  readonly title: string;
  /** The one diagnostic the call must produce, as `message`. */
  readonly message: string;
  readonly run: () => Promise<readonly Diagnostic[]>;
}

/** Scores of grouped-query attention: `Q` and `K` share `b` and `e`; `G` query heads per `K` head. */
export const RUNTIME_SPEC = `attention scores {
  input Q[b, hq, p, e]
  input K[b, hk, m, e]
  input Len[b]: i32
  param scale: f32 = rsqrt(E)
  param causal: bool = true
  param window: i32 = 4
  const G = HQ / HK
  S[b, hq, p, m] = scale * Q[b, hq, p, e] * K[b, hq / G, m, e]
      where m < Len[b] && (!causal || (m <= p && p - m < window))
  output S
}`;

function program(source: string): Program {
  const result = checkSource(source, 'runtime.attn');
  if (result.programs.length !== 1)
    throw new Error(`the spec does not check: ${result.diagnostics.map((d) => d.message)}`);
  return result.programs[0];
}

const f32 = (...shape: number[]): InputSignature => ({ dtype: 'f32', shape });
const i32 = (...shape: number[]): InputSignature => ({ dtype: 'i32', shape });
/** B = 2, HQ = 4, HK = 2, P = 3, M = 5, E = 8. */
const GOOD: Record<string, InputSignature> = {
  Q: f32(2, 4, 3, 8),
  K: f32(2, 2, 5, 8),
  Len: i32(2),
};

/** `bind` with the GQA spec; `inputs` are merged over the good ones (`undefined` removes one). */
function bindGqa(
  inputs: Record<string, InputSignature | undefined>,
  params: Record<string, ParamValue> = {},
): Promise<readonly Diagnostic[]> {
  const merged = Object.fromEntries(
    Object.entries({ ...GOOD, ...inputs }).filter(([, v]) => v !== undefined),
  ) as Record<string, InputSignature>;
  const result = bind(program(RUNTIME_SPEC), merged, params);
  return Promise.resolve(result.ok ? [] : result.diagnostics);
}

/** Zero-filled host tensors of the good shapes. */
function goodHostTensors(): Record<string, HostTensor> {
  return Object.fromEntries(
    Object.entries(GOOD).map(([name, s]) => [name, tensor(s.dtype, s.shape)]),
  );
}

/** A device stub with only the limits and features `run` consults before touching the GPU. */
function stubDevice(
  limits: Partial<Record<keyof GPUSupportedLimits, number>> = {},
  features: string[] = [],
): GPUDevice {
  const defaults = {
    maxStorageBuffersPerShaderStage: 16,
    maxStorageBufferBindingSize: 2 ** 27,
    maxBufferSize: 2 ** 30,
    maxComputeWorkgroupsPerDimension: 65535,
  };
  return { limits: { ...defaults, ...limits }, features: new Set(features) } as never;
}

/** Runs the GQA spec on a stub device and returns the diagnostics of the refusal. */
async function runOnStub(device: GPUDevice): Promise<readonly Diagnostic[]> {
  const kernel = createKernel(device, compileWgsl(program(RUNTIME_SPEC)));
  const result = await kernel.run(goodHostTensors());
  return result.ok ? [] : result.diagnostics;
}

export const RUNTIME_CASES: readonly RuntimeCase[] = [
  {
    code: 'E501',
    title: 'a kernel needs more storage buffers than the device allows',
    message: 'the kernel for `S` needs 4 storage buffers but the device allows 2',
    run: () => runOnStub(stubDevice({ maxStorageBuffersPerShaderStage: 2 })),
  },
  {
    code: 'E502',
    title: 'a tensor is larger than a storage buffer binding may be',
    // Q, the first buffer, is [B, HQ, P, E] = [2, 4, 3, 8] f32: 96 elements, 768 bytes.
    message:
      'tensor `Q` of shape [2, 4, 3, 8] needs 768 bytes but the device allows 256 per storage buffer',
    run: () => runOnStub(stubDevice({ maxStorageBufferBindingSize: 256 })),
  },
  {
    code: 'E503',
    title: 'a kernel needs more workgroups than the device can dispatch',
    // 120 points of S in workgroups of 64: 2 workgroups, but a 1 × 1 grid holds one.
    message: 'the kernel for `S` needs 2 workgroups, more than the device can dispatch',
    run: () => runOnStub(stubDevice({ maxComputeWorkgroupsPerDimension: 1 })),
  },
  {
    code: 'E504',
    title: 'f16 storage on a device without shader-f16',
    message: '`half` was compiled with f16 storage but the device has no `shader-f16` feature',
    run: async () => {
      const half = program('attention half {\n  input X[i]: f16\n  Y[i] = 2 * X[i]\n  output Y\n}');
      const kernel = createKernel(stubDevice(), compileWgsl(half, { f16: true }));
      const result = await kernel.run({ X: tensor('f16', [3], [1, 2, 3]) });
      return result.ok ? [] : result.diagnostics;
    },
  },
  {
    code: 'E601',
    title: 'an input is missing',
    message: 'missing input `K`',
    run: () => bindGqa({ K: undefined }),
  },
  {
    code: 'E602',
    title: 'an input has the wrong rank',
    message: 'input `K` has rank 3 but is declared with rank 4',
    run: () => bindGqa({ K: f32(2, 5, 8) }),
  },
  {
    code: 'E603',
    title: 'two inputs disagree on an extent',
    message:
      'conflicting extents at run time: `E` is 8 from dimension 4 of `Q` but 16 from dimension 4 of `K`',
    run: () => bindGqa({ K: f32(2, 2, 5, 16) }),
  },
  {
    code: 'E604',
    title: 'an unknown param is given',
    message: 'unknown param `scal`',
    run: () => bindGqa({}, { scal: 0.5 }),
  },
  {
    code: 'E605',
    title: 'an input holds the wrong number of elements',
    message: 'input `Len` has 3 elements but its shape [2] needs 2',
    run: async () => {
      const inputs = goodHostTensors();
      const result = interpret(program(RUNTIME_SPEC), {
        ...inputs,
        Len: { ...inputs.Len, data: new Int32Array(3) },
      });
      return result.ok ? [] : result.diagnostics;
    },
  },
  {
    code: 'E606',
    title: 'an extent is not a positive integer',
    message: 'extent `M` evaluates to 0, which is not a valid extent',
    run: () => bindGqa({ K: f32(2, 2, 0, 8) }),
  },
  {
    code: 'E607',
    title: 'an unknown input is given',
    message: 'unknown input `V`',
    run: () => bindGqa({ V: f32(2, 2, 5, 8) }),
  },
  {
    code: 'E608',
    title: 'an input has the wrong element type',
    message: 'input `Len` is declared `i32` but was given a tensor of type `f32`',
    run: () => bindGqa({ Len: f32(2) }),
  },
  {
    code: 'E609',
    title: 'a param is given a value of the wrong type',
    message: 'param `window` expects an integer',
    run: () => bindGqa({}, { window: 2.5 }),
  },
];
