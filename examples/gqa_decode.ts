/**
 * A GQA decode loop with a KV cache: each step appends one token's keys and values to the cache
 * and runs one query per head against everything cached (L = 1, a growing S), the shape the
 * `split-kv` pass exists for. Every step is checked against the CPU interpreter.
 *
 *   npx tsx examples/gqa_decode.ts
 */
import { readFileSync } from 'node:fs';
import { compile, createKernel, formatDiagnostics, interpret, tensor } from 'attn';
import { requestNodeDevice } from 'attn/node';

const [HQ, HK, D, PROMPT, STEPS] = [8, 2, 64, 200, 8];
const source = readFileSync(new URL('../stdlib/gqa.attn', import.meta.url), 'utf8');
const found = await requestNodeDevice();
if (!found) throw new Error('no WebGPU adapter: run `npm run setup`');
const { device } = found;
const result = compile(source, { fileName: 'stdlib/gqa.attn', limits: device.limits });
if (!result.ok) throw new Error(formatDiagnostics(result.diagnostics, result.source));
const spec = result.specs[0];
const kernel = createKernel(device, spec.wgsl);

let seed = 7;
const random = (n: number) =>
  Float32Array.from(
    { length: n },
    () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1,
  );

// The cache: [B = 1, HK, S, D], grown one token at a time.
let kCache = random(HK * PROMPT * D);
let vCache = random(HK * PROMPT * D);
const append = (cache: Float32Array, token: Float32Array, s: number) => {
  const out = new Float32Array(HK * (s + 1) * D);
  for (let h = 0; h < HK; h++) {
    out.set(cache.subarray(h * s * D, (h + 1) * s * D), h * (s + 1) * D);
    out.set(token.subarray(h * D, (h + 1) * D), (h * (s + 1) + s) * D);
  }
  return out;
};

let worst = 0;
for (let step = 0; step < STEPS; step++) {
  const s = PROMPT + step;
  kCache = append(kCache, random(HK * D), s);
  vCache = append(vCache, random(HK * D), s);
  const inputs = {
    Q: tensor('f32', [1, HQ, 1, D], random(HQ * D)),
    K: tensor('f32', [1, HK, s + 1, D], kCache),
    V: tensor('f32', [1, HK, s + 1, D], vCache),
  };
  const t0 = performance.now();
  const gpu = await kernel.run(inputs, { params: { causal: true } });
  const ms = performance.now() - t0;
  const cpu = interpret(spec.program, inputs, { params: { causal: true } });
  if (!gpu.ok || !cpu.ok) throw new Error('the decode step failed');
  let diff = 0;
  gpu.outputs.O.data.forEach(
    (x, i) => (diff = Math.max(diff, Math.abs(x - cpu.outputs.O.data[i]))),
  );
  worst = Math.max(worst, diff);
  console.log(
    `step ${step}: S = ${s + 1}, ${ms.toFixed(1)} ms, max |webgpu - cpu| = ${diff.toExponential(2)}`,
  );
}
kernel.destroy();
device.destroy();
if (worst > 1e-4) {
  console.error(`FAIL: WebGPU and the interpreter differ by ${worst}`);
  process.exit(1);
}
console.log(`OK: ${STEPS} decode steps agree (max abs difference ${worst.toExponential(2)})`);
