/**
 * A variant written from scratch, the way a researcher would: causal attention with ALiBi-style
 * distance penalties, a soft cap on the logits, and a learned per-head "sink" logit that adds
 * to every row's normaliser (a key bias, `SD = sum[m] SN + exp(Sink[h] - GM)`). No stdlib spec
 * does this; the compiler checks it, explains what its passes did, and runs it.
 *
 *   npx tsx examples/custom_variant.ts
 */
import { compile, createKernel, formatDiagnostics, interpret, tensor } from 'attn';
import { requestNodeDevice } from 'attn/node';

const spec = `
attention alibi_softcap_sink {
  input Q[h, p, e]
  input K[h, m, e]
  input V[h, m, f]
  input Slope[h]
  input Sink[h]
  param cap: f32 = 20

  S[h, p, m]  = Q[h, p, e] * K[h, m, e] * rsqrt(E)   where m <= p
  T[h, p, m]  = cap * tanh(S[h, p, m] / cap) - Slope[h] * (p - m)
  GM[h, p]    = max[m] T[h, p, m]
  SN[h, p, m] = exp(T[h, p, m] - GM[h, p])
  SD[h, p]    = sum[m] SN[h, p, m]
  Z[h, p]     = SD[h, p] + exp(Sink[h] - GM[h, p])
  O[h, p, f]  = SN[h, p, m] * V[h, m, f] / Z[h, p]
  output O
}`;

// A typo first, to show what a mistake looks like.
const typo = compile(spec.replace('V[h, m, f] / Z', 'V[h, m, g] / Z'), { fileName: 'custom.attn' });
if (!typo.ok) console.log(`A typo gives:\n${formatDiagnostics(typo.diagnostics, typo.source)}\n`);

const result = compile(spec, { fileName: 'custom.attn' });
if (!result.ok) throw new Error(formatDiagnostics(result.diagnostics, result.source));
const compiled = result.specs[0];
for (const note of compiled.notes)
  console.log(`${note.pass}: ${note.applied ? 'applied' : 'skipped'} (${note.message})`);

const [H, L, D] = [4, 96, 16];
const wave = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k));
const inputs = {
  Q: tensor('f32', [H, L, D], wave(H * L * D, 0.13)),
  K: tensor('f32', [H, L, D], wave(H * L * D, 0.29)),
  V: tensor('f32', [H, L, D], wave(H * L * D, 0.07)),
  Slope: tensor('f32', [H], [0.5, 0.25, 0.125, 0.0625]),
  Sink: tensor('f32', [H], [1, 0, -1, 2]),
};
const found = await requestNodeDevice();
if (!found) throw new Error('no WebGPU adapter: run `npm run setup`');
const kernel = createKernel(found.device, compiled.wgsl);
const gpu = await kernel.run(inputs);
const cpu = interpret(compiled.program, inputs);
if (!gpu.ok || !cpu.ok) throw new Error('the run failed');

// An independent check of the math on one row: h = 1, p = 5.
const [h, p] = [1, 5];
const logits: number[] = [];
for (let m = 0; m <= p; m++) {
  let dot = 0;
  for (let e = 0; e < D; e++)
    dot += inputs.Q.data[(h * L + p) * D + e] * inputs.K.data[(h * L + m) * D + e];
  logits.push(20 * Math.tanh(dot / Math.sqrt(D) / 20) - 0.25 * (p - m));
}
const gm = Math.max(...logits);
const z = logits.reduce((s, t) => s + Math.exp(t - gm), 0) + Math.exp(0 - gm);
const o0 = logits.reduce((s, t, m) => s + Math.exp(t - gm) * inputs.V.data[(h * L + m) * D], 0) / z;
const row = (h * L + p) * D;
let worst = 0;
gpu.outputs.O.data.forEach(
  (x, i) => (worst = Math.max(worst, Math.abs(x - cpu.outputs.O.data[i]))),
);
kernel.destroy();
found.device.destroy();
console.log(
  `O[1, 5, 0]: by hand ${o0.toFixed(6)}, interpreter ${cpu.outputs.O.data[row].toFixed(6)}, webgpu ${gpu.outputs.O.data[row].toFixed(6)}`,
);
if (worst > 1e-4 || Math.abs(cpu.outputs.O.data[row] - o0) > 1e-5) {
  console.error('FAIL: the backends or the hand computation disagree');
  process.exit(1);
}
console.log(
  `OK: WebGPU agrees with the interpreter (max abs difference ${worst.toExponential(2)})`,
);
