/**
 * Runs a compiled spec on a GPUDevice (a browser's, or Dawn's in Node via `node.ts`).
 *
 * `run` binds the inputs and params (`compiler/bind.ts`: the same meaning as the interpreter),
 * checks the device limits, allocates one buffer per tensor at its bound size, writes the
 * uniform buffer, records every kernel's dispatch in one compute pass (a pass per dispatch when
 * profiling with timestamp queries), and reads the outputs
 * back. Pipelines are created once per (device, compiled spec). WGSL or pipeline validation
 * errors are our bugs: they throw `InternalError` with Dawn's messages, never pass silently.
 */
import { bind, type ParamValue } from '../../compiler/bind.ts';
import {
  diagnostic,
  InternalError,
  type Diagnostic,
} from '../../compiler/diagnostics/diagnostic.ts';
import type { Program, TensorName } from '../../compiler/ir.ts';
import { elementCount, type HostTensor } from '../../compiler/tensor.ts';
import type { CompiledKernel, CompiledWgsl } from './compile.ts';
import { planRun, type FusedRunInfo } from './runtime-fused.ts';
import type { Limits, SpecTuning } from './fused-spec.ts';
import {
  bufferBytes,
  decodeOutput,
  dispatchSize,
  encodeInput,
  encodeUniforms,
  evaluateFormula,
} from './runtime-data.ts';

export type RunResult =
  | {
      readonly ok: true;
      readonly outputs: Record<string, HostTensor>;
      /** How each fused group ran (its specialisation, split count, or why it ran unfused). */
      readonly fused: readonly FusedRunInfo[];
      /** GPU time of each dispatch, in order, when asked for (`profile`) and the device can. */
      readonly timings?: readonly DispatchTiming[];
    }
  /** `message` summarises the failure; `diagnostics` holds the catalogued ones (may be empty). */
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[]; readonly message: string };

export interface RunOptions {
  readonly params?: Readonly<Record<string, ParamValue>>;
  /**
   * Split the key range of every fused group that allows it (`split m1`) into this many parts,
   * instead of the runtime's choice (Flash-Decoding; for tests and benchmarks).
   */
  readonly splits?: number;
  /**
   * Measure each dispatch's GPU time with timestamp queries (feature `timestamp-query`; ignored
   * without it). Each dispatch then gets a compute pass of its own.
   */
  readonly profile?: boolean;
  /** Overrides of each fused kernel's specialisation, for tuning experiments. */
  readonly tune?: SpecTuning;
}

export interface DispatchTiming {
  readonly kernel: string;
  readonly ms: number;
}

export interface Kernel {
  run(inputs: Readonly<Record<string, HostTensor>>, options?: RunOptions): Promise<RunResult>;
  /** Releases what this kernel holds; the cached pipelines go with the device. */
  destroy(): void;
}

interface Pipeline {
  readonly layout: GPUBindGroupLayout;
  readonly pipeline: GPUComputePipeline;
}

/** Pipelines per device and compiled kernel, built on first use (a fused kernel per specialisation). */
const pipelineCache = new WeakMap<GPUDevice, WeakMap<CompiledKernel, Promise<Pipeline>>>();

function failure(diagnostics: readonly Diagnostic[], message?: string): RunResult {
  return {
    ok: false,
    diagnostics,
    message: message ?? diagnostics.map((d) => `error[${d.code}]: ${d.message}`).join('\n'),
  };
}

function bindGroupLayout(device: GPUDevice, kernel: CompiledKernel): GPUBindGroupLayout {
  return device.createBindGroupLayout({
    label: kernel.name,
    entries: [
      { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } },
      ...kernel.plan.bindings.map((b): GPUBindGroupLayoutEntry => ({
        binding: b.binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: b.access === 'read' ? 'read-only-storage' : 'storage' },
      })),
    ],
  });
}

async function buildPipeline(
  device: GPUDevice,
  compiled: CompiledWgsl,
  kernel: CompiledKernel,
): Promise<Pipeline> {
  const problems: string[] = [];
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ label: kernel.name, code: kernel.wgsl });
  const info = await module.getCompilationInfo();
  for (const m of info.messages) {
    if (m.type === 'error') problems.push(`${kernel.file}:${m.lineNum}:${m.linePos}: ${m.message}`);
  }
  const layout = bindGroupLayout(device, kernel);
  let pipeline: GPUComputePipeline | null = null;
  try {
    pipeline = await device.createComputePipelineAsync({
      label: kernel.name,
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: kernel.plan.entryPoint },
    });
  } catch (e) {
    problems.push(
      `${kernel.file}: pipeline creation failed: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const error = await device.popErrorScope();
  if (error) problems.push(error.message);
  if (problems.length > 0 || !pipeline)
    throw new InternalError(
      `generated WGSL for \`${compiled.program.name}\` was rejected:\n${problems.join('\n')}`,
      'wgsl',
    );
  return { layout, pipeline };
}

function getPipeline(
  device: GPUDevice,
  compiled: CompiledWgsl,
  kernel: CompiledKernel,
): Promise<Pipeline> {
  let perDevice = pipelineCache.get(device);
  if (!perDevice) pipelineCache.set(device, (perDevice = new WeakMap()));
  let pending = perDevice.get(kernel);
  if (!pending) {
    pending = buildPipeline(device, compiled, kernel);
    // A failed build is not cached, so the error is reported again on the next run.
    pending.catch(() => perDevice.delete(kernel));
    perDevice.set(kernel, pending);
  }
  return pending;
}

/** Where a tensor comes from in the spec: its input declaration or its defining statement. */
function originOf(program: Program, tensor: string) {
  return (
    program.inputs.find((i) => i.name === tensor)?.origin ??
    program.body.find((st) => st.target === tensor)?.origin ??
    program.origin
  );
}

export function createKernel(device: GPUDevice, compiled: CompiledWgsl): Kernel {
  let destroyed = false;
  const { manifest, program } = compiled;

  async function run(
    inputs: Readonly<Record<string, HostTensor>>,
    options: RunOptions = {},
  ): Promise<RunResult> {
    if (destroyed) throw new Error('run() on a destroyed kernel');
    const signatures = Object.fromEntries(
      Object.entries(inputs).map(([name, t]) => [name, { dtype: t.dtype, shape: t.shape }]),
    );
    const bound = bind(program, signatures, options.params ?? {});
    if (!bound.ok) return failure(bound.diagnostics);
    const { binding } = bound;

    const sizeErrors: Diagnostic[] = [];
    for (const decl of program.inputs) {
      const t = inputs[decl.name];
      const need = elementCount(t.shape);
      if (t.data.length !== need) {
        sizeErrors.push(
          diagnostic('E605', { ...decl.origin, file: program.file }, [
            decl.name,
            t.data.length,
            t.shape.join(', '),
            need,
          ]),
        );
      }
    }
    if (sizeErrors.length > 0) return failure(sizeErrors);

    const limits = device.limits;
    const plan = planRun(compiled, binding, fusedLimits(device), {
      splits: options.splits,
      tune: options.tune,
    });
    const run = plan.binding;
    for (const d of plan.dispatches) {
      const storage = d.kernel.plan.bindings.length;
      if (storage > limits.maxStorageBuffersPerShaderStage) {
        const origin = program.body[d.manifest.statement].origin;
        return failure([
          diagnostic('E501', { ...origin, file: program.file }, [
            d.manifest.target,
            storage,
            limits.maxStorageBuffersPerShaderStage,
          ]),
        ]);
      }
    }
    const at = (span: { start: number; end: number }) => ({ ...span, file: program.file });
    if (plan.dispatches.some((d) => d.kernel.plan.f16) && !device.features.has('shader-f16')) {
      return failure([diagnostic('E504', at(program.origin), [program.name])]);
    }
    const sizes = new Map<string, { elements: number; bytes: number }>();
    const maxBinding = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
    for (const b of plan.buffers) {
      const elements = evaluateFormula(b.elements, run);
      const bytes = bufferBytes(elements, b.bytesPerElement);
      // Kernels address elements with i32 arithmetic, so 2^31 - 1 elements is a hard limit too.
      const allowed = Math.min(maxBinding, (2 ** 31 - 1) * b.bytesPerElement);
      if (bytes > allowed) {
        const shape = binding.shapes.get(b.tensor as TensorName)?.join(', ') ?? '?';
        return failure([
          diagnostic('E502', at(originOf(program, b.tensor)), [b.tensor, shape, bytes, allowed]),
        ]);
      }
      sizes.set(b.tensor, { elements, bytes });
    }
    const dispatches: [number, number, number][] = [];
    for (const d of plan.dispatches) {
      const size = dispatchSize(d.workgroups, limits.maxComputeWorkgroupsPerDimension);
      if (!size) {
        return failure([
          diagnostic('E503', at(program.body[d.manifest.statement].origin), [
            d.manifest.target,
            d.workgroups,
          ]),
        ]);
      }
      dispatches.push(size);
    }

    const pipelines = await Promise.all(
      plan.dispatches.map((d) => getPipeline(device, compiled, d.kernel)),
    );
    const owned: GPUBuffer[] = [];
    const make = (label: string, size: number, usage: number) => {
      const buffer = device.createBuffer({ label, size, usage });
      owned.push(buffer);
      return buffer;
    };
    // Host-side work first, so nothing throws while the error scopes are pushed.
    const uploads = new Map(
      plan.buffers
        .filter((b) => b.role === 'input')
        .map((b) => [b.tensor, encodeInput(inputs[b.tensor], b.storage)]),
    );
    const uniformData = encodeUniforms(manifest.uniforms, run);
    try {
      device.pushErrorScope('validation');
      device.pushErrorScope('out-of-memory');
      const buffers = new Map<string, GPUBuffer>();
      for (const b of plan.buffers) {
        const usage =
          GPUBufferUsage.STORAGE |
          (b.role === 'input' ? GPUBufferUsage.COPY_DST : 0) |
          (b.role === 'output' ? GPUBufferUsage.COPY_SRC : 0);
        const buffer = make(b.tensor, sizes.get(b.tensor)!.bytes, usage);
        const bytes = uploads.get(b.tensor);
        if (bytes)
          device.queue.writeBuffer(buffer, 0, bytes.buffer, bytes.byteOffset, bytes.byteLength);
        buffers.set(b.tensor, buffer);
      }
      const uniforms = make(
        'uniforms',
        uniformData.byteLength,
        GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      );
      device.queue.writeBuffer(uniforms, 0, uniformData);

      const encoder = device.createCommandEncoder({ label: program.name });
      const profiler =
        options.profile && device.features.has('timestamp-query')
          ? createProfiler(device, plan.dispatches.length, make)
          : null;
      let pass = encoder.beginComputePass(profiler?.passDescriptor(0));
      plan.dispatches.forEach((d, i) => {
        if (profiler && i > 0) {
          pass.end();
          pass = encoder.beginComputePass(profiler.passDescriptor(i));
        }
        const group = device.createBindGroup({
          label: d.kernel.name,
          layout: pipelines[i].layout,
          entries: [
            { binding: 0, resource: { buffer: uniforms } },
            ...d.kernel.plan.bindings.map((b) => ({
              binding: b.binding,
              resource: { buffer: buffers.get(b.tensor)! },
            })),
          ],
        });
        pass.setPipeline(pipelines[i].pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(...dispatches[i]);
      });
      pass.end();
      profiler?.resolve(encoder);
      const readbacks = manifest.outputs.map((o) => {
        const size = sizes.get(o.name)!.bytes;
        const readback = make(
          `${o.name} (readback)`,
          size,
          GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
        );
        encoder.copyBufferToBuffer(buffers.get(o.name)!, 0, readback, 0, size);
        return readback;
      });
      device.queue.submit([encoder.finish()]);
      const oom = await device.popErrorScope();
      const invalid = await device.popErrorScope();
      if (invalid)
        throw new InternalError(
          `running \`${program.name}\` failed validation: ${invalid.message}`,
          'wgsl',
        );
      if (oom)
        return failure([], `out of GPU memory while running \`${program.name}\`: ${oom.message}`);

      const outputs: Record<string, HostTensor> = {};
      await Promise.all(readbacks.map((r) => r.mapAsync(GPUMapMode.READ)));
      manifest.outputs.forEach((o, i) => {
        const shape = binding.shapes.get(o.name as TensorName)!;
        const data = decodeOutput(
          readbacks[i].getMappedRange(),
          o.storage,
          sizes.get(o.name)!.elements,
        );
        readbacks[i].unmap();
        outputs[o.name] = { dtype: 'f32', shape: [...shape], data };
      });
      const timings = profiler
        ? (await profiler.read()).map((ms, i) => ({ kernel: plan.dispatches[i].kernel.name, ms }))
        : undefined;
      return { ok: true, outputs, fused: plan.fused, ...(timings ? { timings } : {}) };
    } finally {
      for (const b of owned) b.destroy();
    }
  }

  return {
    run,
    destroy() {
      destroyed = true;
    },
  };
}

/** Timestamp queries around each dispatch's compute pass, resolved and read back after the run. */
function createProfiler(
  device: GPUDevice,
  dispatches: number,
  make: (label: string, size: number, usage: number) => GPUBuffer,
) {
  const count = 2 * dispatches;
  const querySet = device.createQuerySet({ type: 'timestamp', count });
  const resolved = make(
    'timestamps',
    8 * count,
    GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
  );
  const readback = make(
    'timestamps (readback)',
    8 * count,
    GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  );
  return {
    passDescriptor: (i: number): GPUComputePassDescriptor => ({
      timestampWrites: {
        querySet,
        beginningOfPassWriteIndex: 2 * i,
        endOfPassWriteIndex: 2 * i + 1,
      },
    }),
    resolve(encoder: GPUCommandEncoder) {
      encoder.resolveQuerySet(querySet, 0, count, resolved, 0);
      encoder.copyBufferToBuffer(resolved, 0, readback, 0, 8 * count);
    },
    async read(): Promise<number[]> {
      await readback.mapAsync(GPUMapMode.READ);
      const stamps = new BigUint64Array(readback.getMappedRange().slice(0));
      readback.unmap();
      querySet.destroy();
      return Array.from(
        { length: dispatches },
        (_, i) => Number(stamps[2 * i + 1] - stamps[2 * i]) / 1e6,
      );
    },
  };
}

/**
 * What a fused kernel's specialisation depends on: the limits, whether the device is a CPU, and
 * its subgroup size when the device was created with `subgroups` and has one fixed size.
 */
export function fusedLimits(device: GPUDevice): Limits {
  const info = device.adapterInfo;
  const fixedSubgroup =
    device.features.has('subgroups') &&
    info?.subgroupMinSize !== undefined &&
    info.subgroupMinSize === info.subgroupMaxSize;
  return {
    maxComputeWorkgroupStorageSize: device.limits.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: device.limits.maxComputeInvocationsPerWorkgroup,
    software: info?.architecture === 'software',
    ...(fixedSubgroup ? { subgroupSize: info.subgroupMinSize } : {}),
  };
}
