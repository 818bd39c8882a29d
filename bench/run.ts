/**
 * `npm run bench`: the optimizer's benchmark on this machine's WebGPU device (Dawn). Every
 * comparison is measured in one run, on one device: fused vs unfused, causal vs not, head
 * grouping on vs off, split-KV on vs off, a sliding window vs a short window-free sequence, and
 * a long sequence the unfused path cannot hold. Prints a table and writes it, with the device
 * and the date, to bench/results/latest.md.
 *
 *   npm run bench                  all cases (several minutes on a software rasteriser)
 *   npm run bench -- --quick       smaller shapes, fewer runs (a smoke test of the harness)
 *   npm run bench -- --runs 9      runs per measurement (median; default 5, after 1 warm-up)
 *   npm run bench -- --peer ort    side by side with ONNX Runtime Web instead (bench/peer-ort.ts)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { requestNodeDevice } from '../node.ts';
import type { CompileOptions, CompiledSpec } from '../index.ts';
import {
  attentionFlops,
  bufferFootprint,
  loadSpec,
  maxAbsDiff,
  qkv,
  time,
  visiblePairs,
  type Shape,
} from './attention.ts';

const { values } = parseArgs({
  options: { quick: { type: 'boolean' }, runs: { type: 'string' }, peer: { type: 'string' } },
});
if (values.peer !== undefined) {
  if (values.peer !== 'ort') throw new Error(`unknown --peer ${values.peer} (known: ort)`);
  // Loaded only on request: it pulls in onnxruntime-web, a dev dependency.
  const { main } = await import('./peer-ort.ts');
  process.exit(await main(process.argv.slice(2)));
}
const quick = values.quick === true;
const RUNS = Number(values.runs ?? (quick ? 2 : 5));
const WARMUP = 1;

const found = await requestNodeDevice();
if (!found) throw new Error('no WebGPU adapter: run `npm run setup`');
const { device, description } = found;
const limits = {
  maxComputeWorkgroupStorageSize: device.limits.maxComputeWorkgroupStorageSize,
  maxComputeInvocationsPerWorkgroup: device.limits.maxComputeInvocationsPerWorkgroup,
};
const hints = { extentHints: { D: 64 }, limits };

interface Row {
  readonly case: string;
  readonly variant: string;
  readonly shape: string;
  readonly ms: number | null;
  readonly gpuMs: number | null;
  readonly gflops: number | null;
  readonly bufferMB: number | null;
  readonly note: string;
}
const rows: Row[] = [];
const ms: Record<string, number> = {};
const gpuMs: Record<string, number> = {};

const describe = (s: Shape) =>
  `B=${s.B} H=${s.HQ}${s.HK !== s.HQ ? `/${s.HK}` : ''} L=${s.L} S=${s.S} D=${s.D}`;

async function measure(
  key: string,
  label: { case: string; variant: string },
  spec: CompiledSpec,
  s: Shape,
  params: Record<string, number | boolean>,
  pairs: number,
  runs = RUNS,
): Promise<Float32Array | null> {
  const inputs = qkv(s);
  const bytes = bufferFootprint(device, spec, inputs, params);
  try {
    const t = await time(device, spec, inputs, params, runs, runs > 1 ? WARMUP : 0);
    ms[key] = t.medianMs;
    if (t.gpuMs !== null) gpuMs[key] = t.gpuMs;
    rows.push({
      ...label,
      shape: describe(s),
      ms: t.medianMs,
      gpuMs: t.gpuMs,
      gflops: attentionFlops(s, pairs) / (t.medianMs * 1e6),
      bufferMB: bytes / 2 ** 20,
      note: `${runs} run${runs === 1 ? '' : 's'}`,
    });
    console.log(`${label.case} ${label.variant}: ${t.medianMs.toFixed(1)} ms`);
    return t.output;
  } catch (e) {
    rows.push({
      ...label,
      shape: describe(s),
      ms: null,
      gpuMs: null,
      gflops: null,
      bufferMB: bytes / 2 ** 20,
      note: (e as Error).message.split('\n')[0].slice(0, 120),
    });
    console.log(`${label.case} ${label.variant}: ${(e as Error).message.split('\n')[0]}`);
    return null;
  }
}

const UNFUSED: CompileOptions = { passes: 'none' };
const n = (full: number, small: number) => (quick ? small : full);

// (a) MHA, fused vs unfused, without and with a causal mask.
const a: Shape = { B: 1, HQ: 8, HK: 8, L: n(1024, 128), S: n(1024, 128), D: 64 };
for (const causal of [false, true]) {
  const pairs = visiblePairs(a, (p, m) => !causal || m <= p);
  const tag = causal ? 'causal' : 'no mask';
  const unfused = await measure(
    `a.unfused.${tag}`,
    { case: `(a) MHA ${tag}`, variant: 'unfused' },
    loadSpec('stdlib/mha.attn', 'mha', UNFUSED),
    a,
    { causal },
    pairs,
  );
  const fused = await measure(
    `a.fused.${tag}`,
    { case: `(a) MHA ${tag}`, variant: 'fused' },
    loadSpec('stdlib/mha.attn', 'mha', hints),
    a,
    { causal },
    pairs,
  );
  if (unfused && fused)
    console.log(
      `  fused vs unfused max abs difference ${maxAbsDiff(unfused, fused).toExponential(2)}`,
    );
}

// (b) GQA 32/8 heads, causal: head grouping on vs off.
const b: Shape = { B: 1, HQ: 32, HK: 8, L: n(1024, 128), S: n(1024, 128), D: 64 };
const bPairs = visiblePairs(b, (p, m) => m <= p);
await measure(
  'b.grouped',
  { case: '(b) GQA 32/8 causal', variant: 'fused, head grouping' },
  loadSpec('stdlib/gqa.attn', 'gqa', hints),
  b,
  { causal: true },
  bPairs,
);
await measure(
  'b.ungrouped',
  { case: '(b) GQA 32/8 causal', variant: 'fused, --no-head-grouping' },
  loadSpec('stdlib/gqa.attn', 'gqa', { ...hints, passes: { skip: ['head-grouping'] } }),
  b,
  { causal: true },
  bPairs,
);

// (c) Decode: one query, many keys, 32/8 heads: split-KV on vs off.
const c: Shape = { B: 1, HQ: 32, HK: 8, L: 1, S: n(8192, 1024), D: 64 };
await measure(
  'c.split',
  { case: '(c) decode 32/8', variant: 'fused, split-KV' },
  loadSpec('stdlib/gqa.attn', 'gqa', hints),
  c,
  { causal: true },
  c.S,
);
await measure(
  'c.nosplit',
  { case: '(c) decode 32/8', variant: 'fused, --no-split-kv' },
  loadSpec('stdlib/gqa.attn', 'gqa', { ...hints, passes: { skip: ['split-kv'] } }),
  c,
  { causal: true },
  c.S,
);
await measure(
  'c.unfused',
  { case: '(c) decode 32/8', variant: 'unfused' },
  loadSpec('stdlib/gqa.attn', 'gqa', UNFUSED),
  c,
  { causal: true },
  c.S,
);

// (d) Sliding window 256 at L = S = 4096, against window-free attention at L = S = 512.
const window = 256;
const d: Shape = { B: 1, HQ: 8, HK: 8, L: n(4096, 512), S: n(4096, 512), D: 64 };
const dPairs = visiblePairs(d, (p, m) => m <= p && p - m < window);
await measure(
  'd.window',
  { case: `(d) sliding window ${window}`, variant: 'fused' },
  loadSpec('stdlib/sliding_window.attn', 'sliding_window', hints),
  d,
  { window },
  dPairs,
);
const d512: Shape = { ...d, L: n(512, 128), S: n(512, 128) };
await measure(
  'd.free512',
  { case: `(d) window-free L=${d512.L}`, variant: 'fused' },
  loadSpec('stdlib/mha.attn', 'mha', hints),
  d512,
  { causal: false },
  d512.L * d512.S,
);

// (e) A long sequence: no L × S buffer exists in the fused kernel.
const e: Shape = { B: 1, HQ: 8, HK: 8, L: n(16384, 2048), S: n(16384, 2048), D: 64 };
const ePairs = (e.L * (e.L + 1)) / 2;
await measure(
  'e.fused',
  { case: `(e) MHA causal L=S=${e.L}`, variant: 'fused' },
  loadSpec('stdlib/mha.attn', 'mha', hints),
  e,
  { causal: true },
  ePairs,
  1,
);
await measure(
  'e.unfused',
  { case: `(e) MHA causal L=S=${e.L}`, variant: 'unfused' },
  loadSpec('stdlib/mha.attn', 'mha', UNFUSED),
  e,
  { causal: true },
  ePairs,
  1,
);

// ── Report ───────────────────────────────────────────────────────────────────────────────

type Times = Record<string, number>;
const ratio = (x: string, y: string, t: Times = ms) => (t[x] && t[y] ? t[x] / t[y] : null);
const perQuery = (key: string, s: Shape, t: Times = ms) =>
  t[key] ? t[key] / (s.B * s.HQ * s.L) : null;
/** Each target on wall time (what `met` judges) and on GPU time (the dispatches alone). */
const targets: [string, (t: Times) => number | null, string, (r: number) => boolean][] = [
  [
    '(a) fused vs unfused, no mask (speed-up)',
    (t) => ratio('a.unfused.no mask', 'a.fused.no mask', t),
    '≥ 3×',
    (r) => r >= 3,
  ],
  [
    '(a) fused vs unfused, causal (speed-up)',
    (t) => ratio('a.unfused.causal', 'a.fused.causal', t),
    '≥ 3×',
    (r) => r >= 3,
  ],
  [
    '(a) fused causal vs fused no mask (speed-up)',
    (t) => ratio('a.fused.no mask', 'a.fused.causal', t),
    '≥ 1.6×',
    (r) => r >= 1.6,
  ],
  [
    '(d) window 256 at L=4096 vs window-free L=512, time per query',
    (t) => {
      const w = perQuery('d.window', d, t);
      const f = perQuery('d.free512', d512, t);
      return w && f ? w / f : null;
    },
    '≤ 2×',
    (r) => r <= 2,
  ],
  [
    '(b) head grouping vs none (speed-up)',
    (t) => ratio('b.ungrouped', 'b.grouped', t),
    '> 1×',
    (r) => r > 1,
  ],
  [
    '(c) split-KV vs none (speed-up)',
    (t) => ratio('c.nosplit', 'c.split', t),
    '> 1×',
    (r) => r > 1,
  ],
];

const fmt = (x: number | null, digits = 1) => (x === null ? '—' : x.toFixed(digits));
const lines = [
  `# attn benchmark`,
  ``,
  `Device: ${description}`,
  `Date: ${new Date().toISOString().slice(0, 10)}; median of ${RUNS} runs after ${WARMUP} warm-up (unless noted); wall time of one run: upload, every dispatch, read-back. GPU ms: the dispatches alone (timestamp queries, one compute pass per dispatch).`,
  `GFLOP/s counts 4·B·H·D per visible query/key pair (causal and window masks count only the visible pairs).`,
  quick ? `\n**--quick**: reduced shapes, not the issue's.` : '',
  ``,
  `| case | variant | shape | median ms | GPU ms | GFLOP/s | buffers MiB | note |`,
  `| --- | --- | --- | ---: | ---: | ---: | ---: | --- |`,
  ...rows.map(
    (r) =>
      `| ${r.case} | ${r.variant} | ${r.shape} | ${fmt(r.ms)} | ${fmt(r.gpuMs)} | ${fmt(r.gflops, 2)} | ${fmt(r.bufferMB)} | ${r.note} |`,
  ),
  ``,
  `## Targets`,
  ``,
  `| target | measured (wall) | measured (GPU) | goal | met (wall) |`,
  `| --- | ---: | ---: | --- | --- |`,
  ...targets.map(([name, measure, goal, ok]) => {
    const [wall, gpu] = [measure(ms), measure(gpuMs)];
    const x = (v: number | null) => (v === null ? '—' : `${v.toFixed(2)}×`);
    return `| ${name} | ${x(wall)} | ${x(gpu)} | ${goal} | ${wall === null ? 'not measured' : ok(wall) ? 'yes' : 'no'} |`;
  }),
  ``,
];
const report = lines.filter((l, i) => l !== '' || lines[i - 1] !== '').join('\n');
console.log(`\n${report}`);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL(`./results/${quick ? 'quick' : 'latest'}.md`, import.meta.url), report);
device.destroy();
