/**
 * A sliding-window prefill (Mistral-style local attention with grouped K/V heads): a long prompt
 * where each token sees the previous `window` tokens. The `block-sparsity` pass lets the fused
 * kernel skip every key tile outside the band. Checked against the CPU interpreter.
 *
 *   npx tsx examples/sliding_window_prefill.ts
 */
import { readFileSync } from 'node:fs';
import { compile, createKernel, formatDiagnostics, interpret, tensor } from 'attn';
import { requestNodeDevice } from 'attn/node';

const [HQ, HK, L, D, WINDOW] = [4, 2, 384, 32, 64];
const source = readFileSync(new URL('../stdlib/sliding_window.attn', import.meta.url), 'utf8');
const found = await requestNodeDevice();
if (!found) throw new Error('no WebGPU adapter: run `npm run setup`');
const result = compile(source, {
  fileName: 'stdlib/sliding_window.attn',
  limits: found.device.limits,
});
if (!result.ok) throw new Error(formatDiagnostics(result.diagnostics, result.source));
const spec = result.specs[0];
for (const note of spec.notes)
  console.log(`${note.pass}: ${note.applied ? 'applied' : 'skipped'} (${note.message})`);

const random = (n: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) + Math.cos(i * 0.11));
const inputs = {
  Q: tensor('f32', [1, HQ, L, D], random(HQ * L * D)),
  K: tensor('f32', [1, HK, L, D], random(HK * L * D).reverse()),
  V: tensor('f32', [1, HK, L, D], random(HK * L * D)),
};
const params = { window: WINDOW };
const kernel = createKernel(found.device, spec.wgsl);
const t0 = performance.now();
const gpu = await kernel.run(inputs, { params });
console.log(
  `prefill of ${L} tokens, window ${WINDOW}: ${(performance.now() - t0).toFixed(1)} ms on ${found.description}`,
);
const cpu = interpret(spec.program, inputs, { params });
if (!gpu.ok || !cpu.ok) throw new Error('the prefill failed');
let worst = 0;
gpu.outputs.O.data.forEach(
  (x, i) => (worst = Math.max(worst, Math.abs(x - cpu.outputs.O.data[i]))),
);
kernel.destroy();
found.device.destroy();
if (worst > 1e-4) {
  console.error(`FAIL: WebGPU and the interpreter differ by ${worst}`);
  process.exit(1);
}
console.log(
  `OK: WebGPU agrees with the interpreter (max abs difference ${worst.toExponential(2)})`,
);
