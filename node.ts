/**
 * Node-only entry point (`import { requestNodeDevice } from 'attn/node'`): a WebGPU device
 * through Dawn (npm `webgpu`), and NumPy `.npy` files. Browsers use `navigator.gpu` and the main
 * entry point instead.
 */
export { requestNodeDevice, type NodeBackend, type NodeDevice } from './backends/wgsl/node.ts';
export { parseNpy, serializeNpy, NpyError } from './cli/npy.ts';
