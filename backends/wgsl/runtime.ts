/**
 * Runs a compiled spec on a GPUDevice (a browser's, or Dawn's in Node via `node.ts`).
 *
 * `run` binds the inputs and params (`compiler/bind.ts`: the same meaning as the interpreter),
 * checks the device limits, allocates one buffer per tensor at its bound size, writes the
 * uniform buffer, records every kernel's dispatch in one compute pass, and reads the outputs
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
import type { CompiledWgsl } from './compile.ts';
import type { ManifestKernel } from './manifest.ts';
import {
  bufferBytes,
  decodeOutput,
  dispatchSize,
  encodeInput,
  encodeUniforms,
  evaluateFormula,
} from './runtime-data.ts';

export type RunResult =
  | { readonly ok: true; readonly outputs: Record<string, HostTensor> }
  /** `message` summarises the failure; `diagnostics` holds the catalogued ones (may be empty). */
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[]; readonly message: string };

export interface RunOptions {
  readonly params?: Readonly<Record<string, ParamValue>>;
}

export interface Kernel {
  run(inputs: Readonly<Record<string, HostTensor>>, options?: RunOptions): Promise<RunResult>;
  /** Releases what this kernel holds; the cached pipelines go with the device. */
  destroy(): void;
}

interface Pipelines {
  readonly layouts: readonly GPUBindGroupLayout[];
  readonly pipelines: readonly GPUComputePipeline[];
}

const pipelineCache = new WeakMap<GPUDevice, WeakMap<CompiledWgsl, Promise<Pipelines>>>();

function failure(diagnostics: readonly Diagnostic[], message?: string): RunResult {
  return {
    ok: false,
    diagnostics,
    message: message ?? diagnostics.map((d) => `error[${d.code}]: ${d.message}`).join('\n'),
  };
}

function bindGroupLayout(device: GPUDevice, kernel: ManifestKernel): GPUBindGroupLayout {
  return device.createBindGroupLayout({
    label: kernel.name,
    entries: kernel.bindings.map((b) => ({
      binding: b.binding,
      visibility: GPUShaderStage.COMPUTE,
      buffer: {
        type:
          b.kind === 'uniform' ? 'uniform' : b.access === 'read' ? 'read-only-storage' : 'storage',
      },
    })),
  });
}

async function buildPipelines(device: GPUDevice, compiled: CompiledWgsl): Promise<Pipelines> {
  const layouts: GPUBindGroupLayout[] = [];
  const pipelines: GPUComputePipeline[] = [];
  const problems: string[] = [];
  device.pushErrorScope('validation');
  for (const [k, kernel] of compiled.manifest.kernels.entries()) {
    const module = device.createShaderModule({
      label: kernel.name,
      code: compiled.kernels[k].wgsl,
    });
    const info = await module.getCompilationInfo();
    for (const m of info.messages) {
      if (m.type === 'error')
        problems.push(`${kernel.file}:${m.lineNum}:${m.linePos}: ${m.message}`);
    }
    const layout = bindGroupLayout(device, kernel);
    layouts.push(layout);
    try {
      pipelines.push(
        await device.createComputePipelineAsync({
          label: kernel.name,
          layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
          compute: { module, entryPoint: kernel.entryPoint },
        }),
      );
    } catch (e) {
      problems.push(
        `${kernel.file}: pipeline creation failed: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }
  const error = await device.popErrorScope();
  if (error) problems.push(error.message);
  if (problems.length > 0)
    throw new InternalError(
      `generated WGSL for \`${compiled.program.name}\` was rejected:\n${problems.join('\n')}`,
      'wgsl',
    );
  return { layouts, pipelines };
}

function getPipelines(device: GPUDevice, compiled: CompiledWgsl): Promise<Pipelines> {
  let perDevice = pipelineCache.get(device);
  if (!perDevice) pipelineCache.set(device, (perDevice = new WeakMap()));
  let pending = perDevice.get(compiled);
  if (!pending) {
    pending = buildPipelines(device, compiled);
    // A failed build is not cached, so the error is reported again on the next run.
    pending.catch(() => perDevice.delete(compiled));
    perDevice.set(compiled, pending);
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
    for (const k of manifest.kernels) {
      const storage = k.bindings.filter((b) => b.kind === 'storage').length;
      if (storage > limits.maxStorageBuffersPerShaderStage) {
        const origin = program.body[k.statement].origin;
        return failure([
          diagnostic('E501', { ...origin, file: program.file }, [
            k.target,
            storage,
            limits.maxStorageBuffersPerShaderStage,
          ]),
        ]);
      }
    }
    const at = (span: { start: number; end: number }) => ({ ...span, file: program.file });
    if (manifest.kernels.some((k) => k.f16) && !device.features.has('shader-f16')) {
      return failure([diagnostic('E504', at(program.origin), [program.name])]);
    }
    const sizes = new Map<string, { elements: number; bytes: number }>();
    const maxBinding = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
    for (const b of manifest.buffers) {
      const elements = evaluateFormula(b.elements, binding);
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
    for (const k of manifest.kernels) {
      const workgroups = evaluateFormula(k.dispatch.workgroups, binding);
      const size = dispatchSize(workgroups, limits.maxComputeWorkgroupsPerDimension);
      if (!size) {
        return failure([
          diagnostic('E503', at(program.body[k.statement].origin), [k.target, workgroups]),
        ]);
      }
      dispatches.push(size);
    }

    const { layouts, pipelines } = await getPipelines(device, compiled);
    const owned: GPUBuffer[] = [];
    const make = (label: string, size: number, usage: number) => {
      const buffer = device.createBuffer({ label, size, usage });
      owned.push(buffer);
      return buffer;
    };
    // Host-side work first, so nothing throws while the error scopes are pushed.
    const uploads = new Map(
      manifest.buffers
        .filter((b) => b.role === 'input')
        .map((b) => [b.tensor, encodeInput(inputs[b.tensor], b.storage)]),
    );
    const uniformData = encodeUniforms(manifest.uniforms, binding);
    try {
      device.pushErrorScope('validation');
      device.pushErrorScope('out-of-memory');
      const buffers = new Map<string, GPUBuffer>();
      for (const b of manifest.buffers) {
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
      const pass = encoder.beginComputePass();
      manifest.kernels.forEach((k, i) => {
        const group = device.createBindGroup({
          label: k.name,
          layout: layouts[i],
          entries: k.bindings.map((b) => ({
            binding: b.binding,
            resource: { buffer: b.kind === 'uniform' ? uniforms : buffers.get(b.tensor!)! },
          })),
        });
        pass.setPipeline(pipelines[i]);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(...dispatches[i]);
      });
      pass.end();
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
      return { ok: true, outputs };
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
