/**
 * Which GPU programs a run dispatched, for both libraries: the evidence of whether ORT took its
 * FlashAttention path or fell back to its unfused one. ORT leaves its pipelines unlabelled but
 * names each shader module after its program; attn labels both.
 */

export interface DispatchTrace {
  /** Programs set on a compute pass since the last call, in order. */
  take(): string[];
}

export function traceDispatches(device: GPUDevice): DispatchTrace {
  const names = new WeakMap<GPUComputePipeline, string>();
  const nameOf = (d: GPUComputePipelineDescriptor) =>
    d.label || d.compute.module.label || 'unlabelled';

  const create = device.createComputePipeline.bind(device);
  device.createComputePipeline = (d) => {
    const pipeline = create(d);
    names.set(pipeline, nameOf(d));
    return pipeline;
  };
  const createAsync = device.createComputePipelineAsync.bind(device);
  device.createComputePipelineAsync = async (d) => {
    const pipeline = await createAsync(d);
    names.set(pipeline, nameOf(d));
    return pipeline;
  };

  // Passes are created inside both libraries, so the hook sits on the prototype.
  const seen: string[] = [];
  const proto = GPUComputePassEncoder.prototype;
  const setPipeline = proto.setPipeline;
  proto.setPipeline = function (this: GPUComputePassEncoder, pipeline: GPUComputePipeline) {
    seen.push(names.get(pipeline) ?? 'unknown');
    return setPipeline.call(this, pipeline);
  };
  return { take: () => seen.splice(0) };
}

/** "A → B ×3 → C": consecutive repeats folded. */
export function summarize(programs: readonly string[]): string {
  const parts: string[] = [];
  let count = 0;
  programs.forEach((p, i) => {
    count++;
    if (programs[i + 1] === p) return;
    parts.push(count > 1 ? `${p} ×${count}` : p);
    count = 0;
  });
  return parts.join(' → ') || '—';
}
