/**
 * The WebGPU device for GPU tests: Dawn through `backends/wgsl/node.ts`, created once per test
 * worker and backend. The backend comes from `ATTN_WEBGPU_BACKEND` (default `vulkan`).
 *
 * GPU tests never skip: with no adapter this throws, so the test fails. Under CI (`CI=true`) the
 * message says so; locally it says how to install the drivers.
 */
import { requestNodeDevice, type NodeBackend, type NodeDevice } from '../../backends/wgsl/node.ts';

const devices = new Map<NodeBackend, Promise<NodeDevice>>();

export function testBackend(): NodeBackend {
  const env = process.env.ATTN_WEBGPU_BACKEND ?? 'vulkan';
  if (env !== 'vulkan' && env !== 'opengles')
    throw new Error(`ATTN_WEBGPU_BACKEND must be vulkan or opengles, got ${env}`);
  return env;
}

async function open(backend: NodeBackend): Promise<NodeDevice> {
  const found = await requestNodeDevice({ backend });
  if (found) return found;
  if (process.env.CI === 'true') {
    throw new Error(
      `no WebGPU adapter for backend ${backend} in CI: GPU tests must run here, install Mesa (scripts/setup-webgpu.sh)`,
    );
  }
  throw new Error(
    `no WebGPU adapter for backend ${backend}: run \`npm run setup\` to install Dawn's system libraries (Mesa lavapipe / llvmpipe)`,
  );
}

/** The cached device of `backend` (default: from the environment). */
export async function getTestDevice(backend: NodeBackend = testBackend()): Promise<GPUDevice> {
  let pending = devices.get(backend);
  if (!pending) {
    pending = open(backend);
    devices.set(backend, pending);
    pending.catch(() => devices.delete(backend));
  }
  return (await pending).device;
}

/** Compiles `wgsl` on `device` and returns Dawn's error messages (none means it validates). */
export async function wgslErrors(device: GPUDevice, wgsl: string): Promise<string[]> {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code: wgsl });
  const info = await module.getCompilationInfo();
  const scope = await device.popErrorScope();
  const errors = info.messages
    .filter((m) => m.type === 'error')
    .map((m) => `${m.lineNum}:${m.linePos}: ${m.message}`);
  return scope && errors.length === 0 ? [scope.message] : errors;
}
