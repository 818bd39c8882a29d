/**
 * The manifest: everything the runtime needs, besides the WGSL texts and the results of
 * `bind()`, to run a compiled spec. Derived from the same `ProgramPlan` the WGSL is printed
 * from, and plain JSON (formulas are `Affine` objects over symbols: extents, consts and i32
 * params, evaluated with `evaluateAffine` and the bound symbols).
 */
import * as affine from '../../compiler/affine.ts';
import {
  extentName,
  type Affine,
  type DType,
  type ParamType,
  type Program,
} from '../../compiler/ir.ts';
import { fusedNames } from './fused-scope.ts';
import {
  BYTES_PER_ELEMENT,
  type BufferPlan,
  type KernelPlan,
  type ProgramPlan,
  type Storage,
  type UniformLayout,
} from './plan.ts';

export interface ManifestBinding {
  readonly group: 0;
  readonly binding: number;
  /** `uniform` is the shared scalar struct (binding 0); `storage` a tensor's buffer. */
  readonly kind: 'uniform' | 'storage';
  readonly tensor: string | null;
  readonly access: 'read' | 'read_write';
  /** WGSL element type of the array (`f32`, `u32`, ...), or `Uniforms`. */
  readonly elementType: string;
  readonly storage: Storage | null;
}

export interface ManifestKernel {
  readonly name: string;
  /** File name of the kernel's WGSL text. */
  readonly file: string;
  readonly entryPoint: string;
  readonly statement: number;
  readonly target: string;
  readonly workgroupSize: readonly [number, number, number];
  /**
   * `workgroups` is the total workgroup count; the runtime dispatches it as `[x, 1, 1]`, or as
   * `[x, y, 1]` with `x * y >= workgroups` when it exceeds `maxComputeWorkgroupsPerDimension`
   * (the kernel linearises the grid and ignores the excess invocations).
   */
  readonly dispatch: { readonly invocations: Affine; readonly workgroups: Affine };
  readonly f16: boolean;
  readonly bindings: readonly ManifestBinding[];
  /** Present on the kernels of a fused group (`schedule { fuse O }`). */
  readonly fused?: ManifestFused;
}

/**
 * How a fused group runs. `attention`: one kernel for the whole group. Its WGSL is generated
 * when the kernel runs, once per specialisation (`specializedOn`: the extents that size its
 * registers, and the rows per workgroup and keys per chunk chosen from them and the device's
 * limits), and cached; the file here is the specialisation for extents of 64 on WebGPU's minimum
 * limits, and `dispatch` is its workgroup count. The runtime also chooses a split count `S`
 * (uniform `splitUniform`; 1 means no split): the kernel then runs `S` times the workgroups and
 * writes partials, and the `merge` kernel, dispatched only when `S > 1`, writes the output.
 */
export interface ManifestFused {
  readonly output: string;
  readonly role: 'attention' | 'merge' | 'fallback';
  readonly specialization?: {
    readonly kind: 'wgsl-text';
    readonly specializedOn: readonly string[];
    readonly splitUniform: string;
    /** The symbol partial buffers are sized with: `S` when the run splits, else 0. */
    readonly partsSymbol: string;
  };
}

export interface ManifestBuffer {
  readonly tensor: string;
  readonly role: BufferPlan['role'];
  readonly storage: Storage;
  readonly dtype: DType;
  readonly shape: readonly Affine[];
  readonly elements: Affine;
  readonly bytesPerElement: number;
}

export interface Manifest {
  readonly version: 1;
  readonly name: string;
  readonly inputs: readonly {
    readonly name: string;
    readonly dtype: DType;
    readonly storage: Storage;
    readonly indices: readonly string[];
  }[];
  readonly outputs: readonly { readonly name: string; readonly storage: Storage }[];
  readonly params: readonly { readonly name: string; readonly type: ParamType }[];
  readonly uniforms: UniformLayout;
  readonly buffers: readonly ManifestBuffer[];
  readonly kernels: readonly ManifestKernel[];
  /** Decisions a reader should know: why a fused group runs unfused. */
  readonly notes: readonly string[];
  /**
   * Per fused group: its statements as unfused kernels and the buffers they need, run in place
   * of the attention kernel when no specialisation fits the device (none of its files are
   * written by `attnc compile`).
   */
  readonly fallbacks: readonly {
    readonly output: string;
    readonly kernels: readonly ManifestKernel[];
    readonly buffers: readonly ManifestBuffer[];
  }[];
}

const ELEMENT_TYPE: Readonly<Record<Storage, string>> = {
  f32: 'f32',
  'f32-absent': 'u32',
  f16: 'f16',
  i32: 'i32',
  bool8: 'u32',
};

export function kernelFileName(kernel: KernelPlan): string {
  return `${kernel.name}.wgsl`;
}

function manifestFused(k: KernelPlan, plan: ProgramPlan): ManifestFused | undefined {
  if (!k.fused) return undefined;
  const { output, role } = k.fused;
  if (role !== 'attention') return { output, role };
  const fs = plan.fused.find((f) => f.static.output === output)!.static;
  const names = fusedNames(output);
  const specializedOn = [
    ...new Set(fs.contractions.map((c) => extentName(c.reduced))),
    ...fs.features.map(extentName),
    ...(fs.grouped ? [fs.grouped.by] : []),
  ];
  return {
    output,
    role,
    specialization: {
      kind: 'wgsl-text',
      specializedOn,
      splitUniform: names.splits,
      partsSymbol: names.partsSymbol,
    },
  };
}

function manifestKernel(k: KernelPlan, plan?: ProgramPlan): ManifestKernel {
  const invocations =
    k.dispatch.kind === 'grid' ? k.dispatch.invocations : affine.constant(k.workgroupSize);
  const workgroups =
    k.dispatch.kind === 'grid'
      ? affine.floorDiv(
          affine.add(invocations, affine.constant(k.workgroupSize - 1)),
          affine.constant(k.workgroupSize),
        )
      : affine.constant(1);
  const uniform: ManifestBinding = {
    group: 0,
    binding: 0,
    kind: 'uniform',
    tensor: null,
    access: 'read',
    elementType: 'Uniforms',
    storage: null,
  };
  return {
    name: k.name,
    file: kernelFileName(k),
    entryPoint: k.entryPoint,
    statement: k.statement,
    target: k.target,
    workgroupSize: [k.workgroupSize, 1, 1],
    dispatch: { invocations, workgroups },
    f16: k.f16,
    bindings: [
      uniform,
      ...k.bindings.map((b): ManifestBinding => ({
        group: 0,
        binding: b.binding,
        kind: 'storage',
        tensor: b.tensor,
        access: b.access,
        elementType: b.view === 'vec4' ? 'vec4<f32>' : ELEMENT_TYPE[b.storage],
        storage: b.storage,
      })),
    ],
    ...(plan && k.fused ? { fused: manifestFused(k, plan) } : {}),
  };
}

function manifestBuffer(b: BufferPlan): ManifestBuffer {
  return {
    tensor: b.tensor,
    role: b.role,
    storage: b.storage,
    dtype: b.dtype,
    shape: b.shape,
    elements: b.shape.reduce(affine.mul, affine.constant(1)),
    bytesPerElement: BYTES_PER_ELEMENT[b.storage],
  };
}

export function buildManifest(program: Program, plan: ProgramPlan): Manifest {
  const storageOf = (tensor: string) => plan.buffers.find((b) => b.tensor === tensor)!.storage;
  return {
    version: 1,
    name: program.name,
    inputs: program.inputs.map((i) => ({
      name: i.name,
      dtype: i.dtype,
      storage: storageOf(i.name),
      indices: [...i.indices],
    })),
    outputs: program.outputs.map((name) => ({ name, storage: storageOf(name) })),
    params: program.params.map((p) => ({ name: p.name, type: p.type })),
    uniforms: plan.uniforms,
    buffers: plan.buffers.map(manifestBuffer),
    kernels: plan.kernels.map((k) => manifestKernel(k, plan)),
    notes: plan.notes,
    fallbacks: plan.fused.map((f) => ({
      output: f.static.output,
      kernels: f.fallback.map((k) => manifestKernel(k, plan)),
      buffers: f.fallbackBuffers.map(manifestBuffer),
    })),
  };
}
