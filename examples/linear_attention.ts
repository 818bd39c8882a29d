/**
 * A causal linear-attention layer (Katharopoulos et al., 2020): `examples/causal_linear.attn`
 * keeps the running state KV[t] = Σ φ(K)ᵀV as a recurrence over the sequence, so memory does not
 * grow with the length. The script compares WebGPU with the interpreter and with the quadratic
 * formula computed here, for one row.
 *
 *   npx tsx examples/linear_attention.ts
 */
import { readFileSync } from 'node:fs';
import { compile, createKernel, formatDiagnostics, interpret, tensor } from 'attn';
import { requestNodeDevice } from 'attn/node';

const [B, H, T, D] = [1, 2, 64, 16];
const source = readFileSync(new URL('./causal_linear.attn', import.meta.url), 'utf8');
const result = compile(source, { fileName: 'examples/causal_linear.attn' });
if (!result.ok) throw new Error(formatDiagnostics(result.diagnostics, result.source));
const spec = result.specs[0];

const wave = (n: number, k: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * k) * 0.5);
const inputs = {
  Q: tensor('f32', [B, H, T, D], wave(B * H * T * D, 0.21)),
  K: tensor('f32', [B, H, T, D], wave(B * H * T * D, 0.17)),
  V: tensor('f32', [B, H, T, D], wave(B * H * T * D, 0.05)),
};
const found = await requestNodeDevice();
if (!found) throw new Error('no WebGPU adapter: run `npm run setup`');
const kernel = createKernel(found.device, spec.wgsl);
const gpu = await kernel.run(inputs);
const cpu = interpret(spec.program, inputs);
if (!gpu.ok || !cpu.ok) throw new Error('the run failed');

// The quadratic form for head 1, position t = 40: Σ_{s≤t} φ(q_t)·φ(k_s) v_s / Σ_{s≤t} φ(q_t)·φ(k_s).
const phi = (x: number) => (x > 0 ? x + 1 : Math.exp(x));
const [h, t] = [1, 40];
let num = 0;
let den = 0;
for (let s = 0; s <= t; s++) {
  let w = 0;
  for (let e = 0; e < D; e++)
    w += phi(inputs.Q.data[(h * T + t) * D + e]) * phi(inputs.K.data[(h * T + s) * D + e]);
  num += w * inputs.V.data[(h * T + s) * D];
  den += w;
}
const row = (h * T + t) * D;
let worst = 0;
gpu.outputs.O.data.forEach(
  (x, i) => (worst = Math.max(worst, Math.abs(x - cpu.outputs.O.data[i]))),
);
kernel.destroy();
found.device.destroy();
console.log(
  `O[${h}, ${t}, 0]: quadratic form ${(num / den).toFixed(6)}, interpreter ${cpu.outputs.O.data[row].toFixed(6)}, webgpu ${gpu.outputs.O.data[row].toFixed(6)}`,
);
if (worst > 1e-4 || Math.abs(cpu.outputs.O.data[row] - num / den) > 1e-5) {
  console.error('FAIL: the backends or the quadratic form disagree');
  process.exit(1);
}
console.log(
  `OK: WebGPU agrees with the interpreter (max abs difference ${worst.toExponential(2)})`,
);
