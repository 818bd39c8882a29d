/**
 * The README's API example: compile a stdlib spec, run it on the CPU interpreter and on WebGPU
 * (Dawn in Node), and compare. Run with `npx tsx examples/api.ts`.
 */
import { readFileSync } from 'node:fs';
import { compile, createKernel, formatDiagnostics, interpret, tensor } from 'attn';
import { requestNodeDevice } from 'attn/node'; // in a browser, use navigator.gpu instead

const source = readFileSync(new URL('../stdlib/gqa.attn', import.meta.url), 'utf8');
const result = compile(source, { fileName: 'stdlib/gqa.attn' });
if (!result.ok) throw new Error(formatDiagnostics(result.diagnostics, result.source));
const spec = result.specs[0]; // one per `attention` block

const [B, HQ, HK, L, S, D] = [1, 8, 2, 128, 128, 64];
const random = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
const inputs = {
  Q: tensor('f32', [B, HQ, L, D], random(B * HQ * L * D)),
  K: tensor('f32', [B, HK, S, D], random(B * HK * S * D)),
  V: tensor('f32', [B, HK, S, D], random(B * HK * S * D)),
};
const params = { causal: true };

const cpu = interpret(spec.program, inputs, { params }); // reference interpreter (float64)
const found = await requestNodeDevice();
if (!found) throw new Error('no WebGPU adapter: run `npm run setup`');
const kernel = createKernel(found.device, spec.wgsl);
const gpu = await kernel.run(inputs, { params }); // WGSL on WebGPU
if (!cpu.ok || !gpu.ok) throw new Error('run failed');

let maxAbs = 0;
const a = cpu.outputs.O.data;
const b = gpu.outputs.O.data;
for (let i = 0; i < a.length; i++) maxAbs = Math.max(maxAbs, Math.abs(a[i] - b[i]));
console.log(
  `gqa on ${found.description}: O[0] cpu ${a[0].toFixed(6)} webgpu ${b[0].toFixed(6)}; max abs difference ${maxAbs.toExponential(2)}`,
);
found.device.destroy();
