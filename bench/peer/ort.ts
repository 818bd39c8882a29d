/**
 * ONNX Runtime Web's WebGPU execution provider on attn's own Dawn device, in Node.
 *
 * ORT 1.30's `onnxruntime-web/webgpu` is the native (C++) WebGPU EP compiled to WebAssembly; it
 * talks to WebGPU through the JS objects it is handed, so attn's `GPUDevice` can be given to it
 * (`executionProviders: [{ name: 'webgpu', device }]`) and both libraries then run on one device.
 * Three things stand in the way in Node on lavapipe, and `attachOrt` deals with each:
 *
 * - ORT refuses to start without `navigator.gpu`, and would request an adapter of its own
 *   without a feature level. It gets attn's adapter instead (`env.webgpu.adapter`), so the
 *   navigator shim only has to exist.
 * - ORT's wasm heap is a `SharedArrayBuffer` (the build is threaded even with one thread), and
 *   Dawn-node's `queue.writeBuffer` rejects views over one ("Invalid argument"). The device's
 *   queue copies such views into a fresh `ArrayBuffer` first. attn never passes shared memory,
 *   so its uploads are untouched.
 * - Dawn on lavapipe zero-initialises a function-scope `var x: T;` once per invocation, not
 *   each time a loop body declares it, as WGSL requires. ORT's FlashAttention declares its
 *   score accumulators that way, so from the second key tile on its scores carry the previous
 *   tile's probabilities and its output is off by up to ~5e-2. ORT's shaders (only ORT's) get
 *   the zero value spelled out (`var x: T = T();`), which is what WGSL already means; the
 *   algorithm and its cost are unchanged. `unzeroedLocals` counts the declarations rewritten.
 */
import * as ort from 'onnxruntime-web/webgpu';
import type { NodeDevice } from '../../node.ts';
import { encodeModel, type Graph } from './onnx.ts';

export type { ort };

type Upload = Parameters<GPUQueue['writeBuffer']>[2];

/** `data` itself, or a copy outside shared memory with the same element type. */
function unshared(data: Upload): Upload {
  if (data instanceof SharedArrayBuffer) return new Uint8Array(data).slice();
  if (!ArrayBuffer.isView(data) || !(data.buffer instanceof SharedArrayBuffer)) return data;
  // DataView offsets count bytes, as a Uint8Array's do.
  if (data instanceof DataView)
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  // slice() copies into a fresh ArrayBuffer; writeBuffer's offset and size count elements of
  // the view's type, which is unchanged.
  return (data as Uint8Array).slice();
}

function acceptSharedUploads(queue: GPUQueue): void {
  const writeBuffer = queue.writeBuffer.bind(queue);
  queue.writeBuffer = (buffer, offset, data, dataOffset, size) =>
    writeBuffer(buffer, offset, unshared(data), dataOffset, size);
}

/** Gives every function-scope `var name: T;` an explicit zero value. */
export function zeroInitLocals(code: string): { code: string; rewritten: number } {
  let rewritten = 0;
  // Indented, and `var` then a name: module-scope declarations read `var<...>` at column 0.
  const out = code.replace(
    /^(\s+var\s+\w+\s*:\s*)([^;=]+?)\s*;/gm,
    (_, head: string, type: string) => {
      rewritten++;
      return `${head}${type} = ${type}();`;
    },
  );
  return { code: out, rewritten };
}

let attached: NodeDevice | null = null;
/** True while ORT has the device: attn never runs concurrently, so its shaders stay as they are. */
let ortActive = false;
export let unzeroedLocals = 0;

async function asOrt<T>(work: () => Promise<T>): Promise<T> {
  ortActive = true;
  try {
    return await work();
  } finally {
    ortActive = false;
  }
}

function zeroInitOrtShaders(device: GPUDevice): void {
  const createShaderModule = device.createShaderModule.bind(device);
  device.createShaderModule = (descriptor) => {
    if (!ortActive) return createShaderModule(descriptor);
    const { code, rewritten } = zeroInitLocals(descriptor.code);
    unzeroedLocals += rewritten;
    return createShaderModule({ ...descriptor, code });
  };
}

/** Points ORT's WebGPU EP at attn's adapter and device. Call once, before any session. */
export function attachOrt(found: NodeDevice): void {
  if (attached) {
    if (attached.device !== found.device) throw new Error('ORT is already attached to a device');
    return;
  }
  const gpu = (found.device as unknown as { __attnGpu?: GPU }).__attnGpu;
  Object.defineProperty(globalThis, 'navigator', {
    value: { ...globalThis.navigator, gpu },
    configurable: true,
  });
  acceptSharedUploads(found.device.queue);
  zeroInitOrtShaders(found.device);
  // One wasm thread: worker threads would only parallelise ORT's CPU-side kernels, and they
  // would each need the shim above.
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'warning';
  ort.env.webgpu.adapter = found.adapter;
  attached = found;
}

export interface OrtRun {
  readonly ms: number;
  readonly output: Float32Array;
}

/** One ORT session over an in-code ONNX graph; only `output` comes back to the host. */
export class OrtModel {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly feeds: Record<string, ort.Tensor>,
    private readonly output: string,
  ) {}

  static async create(
    graph: Graph,
    feeds: Record<string, ort.Tensor>,
    output: string,
  ): Promise<OrtModel> {
    if (!attached) throw new Error('call attachOrt first');
    // Present key/value outputs stay on the GPU: attn returns only O, and reading the KV cache
    // back would charge ORT for a copy it does not need.
    const onGpu = Object.fromEntries(
      graph.outputs.filter((o) => o.name !== output).map((o) => [o.name, 'gpu-buffer' as const]),
    );
    const device = attached.device;
    const session = await asOrt(() =>
      ort.InferenceSession.create(encodeModel(graph), {
        executionProviders: [{ name: 'webgpu', device }],
        preferredOutputLocation: onGpu,
        graphOptimizationLevel: 'all',
      }),
    );
    return new OrtModel(session, feeds, output);
  }

  /** Wall time of one `session.run`: uploads, every dispatch, and reading `output` back. */
  async run(): Promise<OrtRun> {
    const t0 = performance.now();
    const result = await asOrt(() => this.session.run(this.feeds));
    const output = (await result[this.output].getData()) as Float32Array;
    const ms = performance.now() - t0;
    for (const [name, value] of Object.entries(result)) if (name !== this.output) value.dispose();
    return { ms, output };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

export const f32 = (data: Float32Array, dims: readonly number[]) =>
  new ort.Tensor('float32', data, dims);
export const i32 = (data: Int32Array, dims: readonly number[]) =>
  new ort.Tensor('int32', data, dims);
