/**
 * `attnc bench`: median wall time of one spec on the CPU interpreter and on WebGPU. The full
 * benchmark suite lives in `bench/`; this is the quick per-spec measurement.
 */
import { createKernel, interpret, type CompiledSpec, type HostTensor } from '../../index.ts';
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  EXIT,
  intOption,
  keyValues,
  stringList,
  stringOption,
  UsageError,
  type Command,
  type Io,
} from '../command.ts';
import { chooseExtents, describeExtents, randomInputs } from '../random-inputs.ts';
import {
  failRun,
  formatMs,
  loadSpecs,
  onlySpec,
  openDevice,
  parseParams,
  webgpuBackend,
  wgslFor,
  type LoadedSpecs,
} from '../spec.ts';
import { PASS_HELP, PASS_OPTIONS, pipelineOptions } from '../passes.ts';

interface Timing {
  readonly backend: string;
  readonly times: readonly number[];
}

/** Runs `once` `warmup` times untimed, then `runs` times timed. */
async function measure(once: () => Promise<void>, runs: number, warmup: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await once();
    times.push(performance.now() - start);
  }
  return times;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function table(timings: readonly Timing[]): string {
  const rows = [
    ['backend', 'median', 'min', 'max', 'runs'],
    ...timings.map((t) => [
      t.backend,
      formatMs(median(t.times)),
      formatMs(Math.min(...t.times)),
      formatMs(Math.max(...t.times)),
      String(t.times.length),
    ]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows
    .map(
      (r) =>
        `  ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')}`,
    )
    .join('\n');
}

async function benchSpec(
  spec: CompiledSpec,
  loaded: LoadedSpecs,
  inputs: Record<string, HostTensor>,
  params: Record<string, number | boolean>,
  options: { backend: string; runs: number; warmup: number; json: boolean },
  io: Io,
): Promise<Timing[]> {
  const timings: Timing[] = [];
  if (options.backend !== 'webgpu') {
    const once = async () => {
      const result = interpret(spec.program, inputs, { params });
      if (!result.ok) failRun(io, result, loaded.source, options.json);
    };
    timings.push({ backend: 'cpu', times: await measure(once, options.runs, options.warmup) });
  }
  if (options.backend !== 'cpu') {
    const { device, description } = await openDevice(webgpuBackend(io));
    io.out(`webgpu device: ${description}\n`);
    const kernel = createKernel(device, wgslFor(loaded, spec, device));
    const once = async () => {
      const result = await kernel.run(inputs, { params });
      if (!result.ok) failRun(io, result, loaded.source, options.json);
    };
    const times = await measure(once, options.runs, options.warmup);
    kernel.destroy();
    timings.push({ backend: 'webgpu', times });
  }
  return timings;
}

export const benchCommand: Command = {
  name: 'bench',
  summary: 'time a spec on the CPU interpreter and on WebGPU',
  help: `Usage: attnc bench SPEC [--attention NAME] [--dims i=N,...] [--runs N] [--warmup N]
                   [--set NAME=VALUE ...] [--seed N] [--backend cpu|webgpu|both]

Runs one attention block of SPEC on seeded random inputs (the same extents and input rules as
\`attnc check\`) and prints the median, min and max wall time of --runs runs after --warmup
untimed runs, per backend. A WebGPU run is what Kernel.run does: allocate and upload, dispatch
every kernel, read the outputs back; pipelines are created by the first run, so keep
--warmup at 1 or more to leave that out of the times.

Options:
  --attention NAME           the block to time (required when SPEC has several)
  --dims NAME=N,...          extents, as for check (repeatable)
  --runs N                   timed runs (default 5)
  --warmup N                 untimed runs first (default 1)
  --set NAME=VALUE           a param value (repeat)
  --seed N                   seed of the random inputs (default 1)
  --backend cpu|webgpu|both  default both; the Dawn backend is ATTN_WEBGPU_BACKEND
                             (vulkan, the default, or opengles)

Exit codes: 0 ok, 2 bad spec or arguments, 69 no WebGPU adapter, 70 internal compiler error.

${PASS_HELP}

${COMMON_HELP}`,
  options: {
    ...PASS_OPTIONS,
    ...COMMON_OPTIONS,
    attention: { type: 'string' },
    dims: { type: 'string', multiple: true },
    runs: { type: 'string' },
    warmup: { type: 'string' },
    set: { type: 'string', multiple: true },
    seed: { type: 'string' },
    backend: { type: 'string' },
  },
  async run({ values, positionals, json }, io) {
    if (positionals.length !== 1) throw new UsageError('bench expects one SPEC file');
    const backend = stringOption(values, 'backend') ?? 'both';
    if (!['cpu', 'webgpu', 'both'].includes(backend))
      throw new UsageError(`--backend must be cpu, webgpu or both, got \`${backend}\``);
    const runs = intOption(values, 'runs', 5, 1);
    const warmup = intOption(values, 'warmup', 1, 0);
    const params = parseParams(keyValues(stringList(values, 'set'), 'set'));
    const dims = keyValues(stringList(values, 'dims'), 'dims', true);
    const loaded = await loadSpecs(positionals[0], io, json, {
      ...pipelineOptions(values),
      attention: stringOption(values, 'attention'),
    });
    const spec = onlySpec(loaded);
    const extents = chooseExtents(spec.program, dims);
    const inputs = randomInputs(spec.program, extents, intOption(values, 'seed', 1, 0));
    io.out(`bench ${spec.name}: ${describeExtents(spec.program, extents)}\n`);
    const timings = await benchSpec(
      spec,
      loaded,
      inputs,
      params,
      { backend, runs, warmup, json },
      io,
    );
    io.out(`${table(timings)}\n`);
    return EXIT.ok;
  },
};
