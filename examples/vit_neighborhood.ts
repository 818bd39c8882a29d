/**
 * Two blocks of a small vision transformer in the style of DiNAT: the first attends to a 7 × 7
 * neighbourhood of each token (neighbourhood attention), the second to a dilated one (every
 * second token, so the receptive field doubles). Both run the same compiled kernel from
 * `stdlib/neighborhood2d.attn`: dilation is a run-time param. Layer norms, projections and the
 * MLP are plain loops here; the attention runs on WebGPU and is checked against the
 * interpreter, and one output value against the neighbourhood formula evaluated in the script.
 *
 *   npx tsx examples/vit_neighborhood.ts
 */
import { readFileSync } from 'node:fs';
import { compile, createKernel, formatDiagnostics, interpret, tensor } from 'attn';
import { requestNodeDevice } from 'attn/node';

const [Y, X, C, H] = [14, 14, 32, 2]; // a 14 × 14 feature map, 32 channels, 2 heads
const [D, KW] = [C / H, 7]; // head size; the spec's kernel size
const N = Y * X;

const source = readFileSync(new URL('../stdlib/neighborhood2d.attn', import.meta.url), 'utf8');
const found = await requestNodeDevice();
if (!found) throw new Error('no WebGPU adapter: run `npm run setup`');
const result = compile(source, {
  fileName: 'stdlib/neighborhood2d.attn',
  attention: 'neighborhood2d',
  limits: found.device.limits,
});
if (!result.ok) throw new Error(formatDiagnostics(result.diagnostics, result.source));
const spec = result.specs[0];
for (const note of spec.notes)
  console.log(`${note.pass}: ${note.applied ? 'applied' : 'skipped'} (${note.message})`);
const kernel = createKernel(found.device, spec.wgsl);

// Deterministic "weights": smooth waves, scaled like a 1/sqrt(fan-in) initialisation.
const wave = (n: number, k: number, s: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * k + 0.3) * s);
const layers = [1, 2].map((dilation, l) => ({
  dilation,
  wqkv: wave(C * 3 * C, 0.37 + l, 1 / Math.sqrt(C)),
  wo: wave(C * C, 0.53 + l, 1 / Math.sqrt(C)),
  w1: wave(C * 2 * C, 0.29 + l, 1 / Math.sqrt(C)),
  w2: wave(2 * C * C, 0.41 + l, 1 / Math.sqrt(2 * C)),
}));

/** y[n, o] = Σ_i x[n, i] w[i, o] */
function matmul(x: Float32Array, w: Float32Array, inDim: number, outDim: number): Float32Array {
  const y = new Float32Array((x.length / inDim) * outDim);
  for (let n = 0; n < x.length / inDim; n++)
    for (let i = 0; i < inDim; i++)
      for (let o = 0; o < outDim; o++) y[n * outDim + o] += x[n * inDim + i] * w[i * outDim + o];
  return y;
}

function layerNorm(x: Float32Array): Float32Array {
  const y = new Float32Array(x.length);
  for (let n = 0; n < N; n++) {
    const row = x.subarray(n * C, n * C + C);
    const mean = row.reduce((a, v) => a + v, 0) / C;
    const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / C;
    for (let c = 0; c < C; c++) y[n * C + c] = (row[c] - mean) / Math.sqrt(variance + 1e-5);
  }
  return y;
}

const gelu = (v: number) => 0.5 * v * (1 + Math.tanh(0.7978845608 * (v + 0.044715 * v ** 3)));

/** Token-major [N, 3C] → one head-major [1, H, Y, X, D] tensor per Q, K, V. */
function splitHeads(qkv: Float32Array, which: number): Float32Array {
  const out = new Float32Array(H * N * D);
  for (let n = 0; n < N; n++)
    for (let h = 0; h < H; h++)
      for (let d = 0; d < D; d++) out[(h * N + n) * D + d] = qkv[n * 3 * C + which * C + h * D + d];
  return out;
}

/** NATTEN's window on one axis: the start of the KW neighbours of `i` in its dilation group. */
function windowStart(i: number, length: number, dilation: number): number {
  const groupLength = Math.floor((length - 1 - (i % dilation)) / dilation) + 1;
  const j = Math.floor(i / dilation);
  return Math.min(Math.max(j - Math.floor(KW / 2), 0), groupLength - KW);
}

let x = wave(N * C, 0.11, 1);
let worst = 0;
let handChecked = 0;
for (const layer of layers) {
  const qkv = matmul(layerNorm(x), layer.wqkv, C, 3 * C);
  const [q, k, v] = [0, 1, 2].map((w) => splitHeads(qkv, w));
  const inputs = {
    Q: tensor('f32', [1, H, Y, X, D], q),
    K: tensor('f32', [1, H, Y, X, D], k),
    V: tensor('f32', [1, H, Y, X, D], v),
  };
  const params = { dilation: layer.dilation };
  const gpu = await kernel.run(inputs, { params });
  const cpu = interpret(spec.program, inputs, { params });
  if (!gpu.ok || !cpu.ok) throw new Error('the attention failed');
  const o = gpu.outputs.O.data as Float32Array;
  o.forEach((val, i) => (worst = Math.max(worst, Math.abs(val - cpu.outputs.O.data[i]))));

  // By hand: head 1, the corner token (0, 13), feature 0, over its KW × KW neighbours.
  const [h, y0, x0] = [1, 0, 13];
  const keys: number[] = [];
  const [sy, sx] = [windowStart(y0, Y, layer.dilation), windowStart(x0, X, layer.dilation)];
  for (let a = 0; a < KW; a++)
    for (let b = 0; b < KW; b++)
      keys.push(
        (y0 % layer.dilation) + layer.dilation * (sy + a),
        (x0 % layer.dilation) + layer.dilation * (sx + b),
      );
  const logits: number[] = [];
  for (let i = 0; i < keys.length; i += 2) {
    let dot = 0;
    for (let d = 0; d < D; d++)
      dot += q[(h * N + y0 * X + x0) * D + d] * k[(h * N + keys[i] * X + keys[i + 1]) * D + d];
    logits.push(dot / Math.sqrt(D));
  }
  const max = Math.max(...logits);
  const z = logits.reduce((a, s) => a + Math.exp(s - max), 0);
  const expected = logits.reduce(
    (a, s, i) => a + (Math.exp(s - max) / z) * v[(h * N + keys[2 * i] * X + keys[2 * i + 1]) * D],
    0,
  );
  const at = (h * N + y0 * X + x0) * D;
  handChecked = Math.max(handChecked, Math.abs(cpu.outputs.O.data[at] - expected));
  console.log(
    `dilation ${layer.dilation}: O[${h}, ${y0}, ${x0}, 0] by hand ${expected.toFixed(6)}, ` +
      `interpreter ${cpu.outputs.O.data[at].toFixed(6)}, webgpu ${o[at].toFixed(6)}`,
  );

  // Merge the heads, project, add the residual; then the MLP with its residual.
  const merged = new Float32Array(N * C);
  for (let n = 0; n < N; n++)
    for (let hh = 0; hh < H; hh++)
      for (let d = 0; d < D; d++) merged[n * C + hh * D + d] = o[(hh * N + n) * D + d];
  const attended = matmul(merged, layer.wo, C, C).map((val, i) => val + x[i]);
  const hidden = matmul(layerNorm(attended), layer.w1, C, 2 * C).map(gelu);
  x = matmul(hidden, layer.w2, 2 * C, C).map((val, i) => val + attended[i]);
}
kernel.destroy();
found.device.destroy();

const norm = Math.sqrt(x.reduce((a, val) => a + val * val, 0) / x.length);
console.log(`two blocks on a ${Y} × ${X} × ${C} feature map: output RMS ${norm.toFixed(4)}`);
if (worst > 1e-4 || handChecked > 1e-5) {
  console.error(`FAIL: WebGPU vs interpreter ${worst}, interpreter vs hand ${handChecked}`);
  process.exit(1);
}
console.log(
  `OK: WebGPU agrees with the interpreter (max abs difference ${worst.toExponential(2)}) on both layers`,
);
