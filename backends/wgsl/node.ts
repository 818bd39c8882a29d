/**
 * A WebGPU device in Node through the `webgpu` package (Dawn). Kept out of `runtime.ts` so that
 * browser bundles never import `webgpu`.
 *
 * Two software set-ups are known to work on Debian (DESIGN.md §4): Vulkan on lavapipe (core
 * feature level, shader-f16) and OpenGL ES on llvmpipe (compatibility feature level, no f16).
 */
import { create, globals } from 'webgpu';

export type NodeBackend = 'vulkan' | 'opengles';

export interface NodeDevice {
  readonly device: GPUDevice;
  readonly adapter: GPUAdapter;
  /** Backend, feature level and adapter description, for logs. */
  readonly description: string;
}

/** Optional features attn kernels use when the adapter has them. */
const WANTED_FEATURES: readonly GPUFeatureName[] = ['shader-f16', 'timestamp-query', 'subgroups'];

/** Limits raised to what the adapter offers (the defaults are far lower on purpose). */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxBindingsPerBindGroup',
] as const;

let globalsInstalled = false;

/**
 * Requests an adapter and a device on `backend` (default `vulkan`). Returns null when Dawn finds
 * no adapter (e.g. the Mesa drivers are missing: run `npm run setup`).
 */
export async function requestNodeDevice(
  options: { backend?: NodeBackend } = {},
): Promise<NodeDevice | null> {
  const backend = options.backend ?? 'vulkan';
  if (!globalsInstalled) {
    // GPUBufferUsage, GPUMapMode, ... are globals in browsers; the runtime relies on them.
    Object.assign(globalThis, globals);
    globalsInstalled = true;
  }
  if (backend === 'opengles') process.env.EGL_PLATFORM ??= 'surfaceless';
  const gpu = create([`backend=${backend}`]);
  const adapter = await gpu.requestAdapter(
    backend === 'opengles' ? { featureLevel: 'compatibility' } : undefined,
  );
  if (!adapter) return null;
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  const info = adapter.info;
  const level = backend === 'opengles' ? 'compatibility' : 'core';
  const description = `${backend} (${level}): ${info.description || info.device || info.vendor || 'unknown adapter'}`;
  // Keep the GPU object alive as long as the device: Dawn tears the instance down with it.
  Object.defineProperty(device, '__attnGpu', { value: gpu, enumerable: false });
  return { device, adapter, description };
}
