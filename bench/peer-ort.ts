/**
 * `npm run bench -- --peer ort`: attn's fused kernels side by side with ONNX Runtime Web's
 * WebGPU attention (MultiHeadAttention, GroupQueryAttention, and a standard-op composition for
 * ALiBi), on one GPUDevice, same inputs, alternating runs, outputs checked against each other.
 * Prints a table and writes it, with a bar chart of the ratios, to bench/results/peer-ort.{md,svg}.
 *
 *   npm run bench -- --peer ort              the issue's shapes (about ten minutes on lavapipe)
 *   npm run bench -- --peer ort --quick      small shapes, 2 runs (a smoke test)
 *   npm run bench -- --peer ort --runs 9     runs per library and case (median; default 7)
 *
 * Exits non-zero when the outputs disagree by more than TOLERANCE, or a run fails.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createKernel } from '../index.ts';
import { requestNodeDevice } from '../node.ts';
import { attentionFlops, type Shape } from './attention.ts';
import { peerCases, type PeerCase } from './peer/cases.ts';
import { attachOrt, OrtModel, unzeroedLocals } from './peer/ort.ts';
import { markdown, ratio, svgChart, type Row } from './peer/report.ts';
import { summarize, traceDispatches, type DispatchTrace } from './peer/trace.ts';

const TOLERANCE = 1e-3;
const WARMUP = 1;

const describe = (s: Shape) =>
  `B=${s.B} H=${s.HQ}${s.HK !== s.HQ ? `/${s.HK}` : ''} L=${s.L} S=${s.S} D=${s.D}`;
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const firstLine = (e: unknown) =>
  (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 160);

/** Max |a − b|, and Infinity where either side is NaN or the lengths differ. */
function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= max)) max = Number.isNaN(d) ? Infinity : d;
  }
  return max;
}

async function measure(
  c: PeerCase,
  device: GPUDevice,
  trace: DispatchTrace,
  runs: number,
): Promise<Row> {
  const kernel = createKernel(device, c.attn.spec.wgsl);
  const attnMs: number[] = [];
  const ortMs: number[] = [];
  let attnOut: Float32Array | null = null;
  let ortOut: Float32Array | null = null;
  let attnPrograms: string[] = [];
  let ortPrograms: string[] = [];
  let note = '';

  let model: OrtModel | null = null;
  try {
    model = await OrtModel.create(c.ort.graph, c.ort.feeds, c.ort.output);
  } catch (e) {
    note = `ORT session: ${firstLine(e)}`;
  }
  trace.take();

  try {
    for (let i = 0; i < WARMUP + runs; i++) {
      const t0 = performance.now();
      const r = await kernel.run(c.attn.inputs, { params: c.attn.params });
      const ms = performance.now() - t0;
      if (!r.ok) throw new Error(`attn: ${r.message}`);
      attnOut = r.outputs[c.attn.spec.program.outputs[0]].data as Float32Array;
      attnPrograms = trace.take();
      if (i >= WARMUP) attnMs.push(ms);

      if (!model) continue;
      try {
        const o = await model.run();
        ortOut = o.output;
        ortPrograms = trace.take();
        if (i >= WARMUP) ortMs.push(o.ms);
      } catch (e) {
        note = `ORT run: ${firstLine(e)}`;
        await model.release();
        model = null;
      }
    }
  } catch (e) {
    note = firstLine(e);
  } finally {
    kernel.destroy();
    await model?.release();
  }

  const attnMedian = attnMs.length === runs ? median(attnMs) : null;
  const diff = attnOut && ortOut ? maxAbsDiff(attnOut, c.ort.toAttnLayout(ortOut)) : null;
  if (diff !== null && diff > TOLERANCE) note = `MISMATCH: outputs differ by ${diff}`;
  return {
    id: c.id,
    name: c.name,
    shape: describe(c.shape),
    attnMs: attnMedian,
    ortMs: ortMs.length === runs ? median(ortMs) : null,
    gflops: attnMedian ? attentionFlops(c.shape, c.pairs) / (attnMedian * 1e6) : null,
    diff,
    target: c.target,
    ortOp: c.ortOp,
    ortPrograms: summarize(ortPrograms),
    attnPrograms: summarize(attnPrograms),
    note,
  };
}

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean' },
      runs: { type: 'string' },
      // Accepted so that `bench/run.ts` can hand over its arguments unchanged.
      peer: { type: 'string' },
    },
  });
  const quick = values.quick === true;
  const runs = Number(values.runs ?? (quick ? 2 : 7));
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer`);

  const found = await requestNodeDevice();
  if (!found) throw new Error('no WebGPU adapter: run `npm run setup`');
  const { device, description } = found;
  attachOrt(found);
  const trace = traceDispatches(device);
  const compile = {
    extentHints: { D: 64 },
    limits: {
      maxComputeWorkgroupStorageSize: device.limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: device.limits.maxComputeInvocationsPerWorkgroup,
    },
  };

  const rows: Row[] = [];
  for (const build of peerCases({ quick, compile })) {
    const c = build();
    const started = performance.now();
    const row = await measure(c, device, trace, runs);
    rows.push(row);
    const r = ratio(row);
    console.log(
      `(${row.id}) ${row.name}, ${row.shape}: attn ${row.attnMs?.toFixed(1) ?? '—'} ms, ORT ${row.ortMs?.toFixed(1) ?? '—'} ms` +
        `${r === null ? '' : ` (${r.toFixed(2)}×)`}, diff ${row.diff?.toExponential(1) ?? '—'}` +
        `${row.note ? `; ${row.note}` : ''} [${((performance.now() - started) / 1000).toFixed(0)} s]`,
    );
  }

  const ortPackage = new URL('../node_modules/onnxruntime-web/package.json', import.meta.url);
  const meta = {
    device: description,
    ortVersion: (JSON.parse(readFileSync(ortPackage, 'utf8')) as { version: string }).version,
    runs,
    warmup: WARMUP,
    quick,
    tolerance: TOLERANCE,
    rewrittenLocals: unzeroedLocals,
  };
  const report = markdown(rows, meta);
  console.log(`\n${report}`);
  const name = quick ? 'peer-ort-quick' : 'peer-ort';
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL(`./results/${name}.md`, import.meta.url), report);
  writeFileSync(
    new URL(`./results/${name}.svg`, import.meta.url),
    svgChart(
      rows,
      `attn vs ONNX Runtime Web ${meta.ortVersion} (WebGPU EP), same device`,
      `${description}; median of ${runs} runs${quick ? '; --quick shapes' : ''}`,
    ),
  );
  device.destroy();

  const failed = rows.filter((r) => r.note.startsWith('MISMATCH') || r.attnMs === null);
  for (const r of failed) console.error(`FAILED (${r.id}) ${r.name}, ${r.shape}: ${r.note}`);
  return failed.length > 0 ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href)
  process.exit(await main(process.argv.slice(2)));
