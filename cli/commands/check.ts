/**
 * `attnc check`: a random differential test of the WGSL kernels against the CPU interpreter.
 */
import {
  createKernel,
  interpret,
  toFloat32,
  type CompiledSpec,
  type HostTensor,
} from '../../index.ts';
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
import {
  BATCH_EXTENT,
  chooseExtents,
  DEFAULT_EXTENT,
  describeExtents,
  randomInputs,
} from '../random-inputs.ts';
import {
  failRun,
  loadSpecs,
  openDevice,
  parseParams,
  webgpuBackend,
  wgslFor,
  type LoadedSpecs,
} from '../spec.ts';
import { PASS_HELP, PASS_OPTIONS, pipelineOptions } from '../passes.ts';

export interface Mismatch {
  readonly maxAbs: number;
  readonly maxRel: number;
  /** Elements outside the tolerance. */
  readonly bad: number;
}

/**
 * `gpu` against `cpu`, element by element: within tolerance when
 * `|gpu - cpu| <= tol * max(1, |cpu|)` (absolute near zero, relative for large values). Equal
 * infinities and NaN against NaN match. `maxRel` is that same scaled error,
 * `|gpu - cpu| / max(1, |cpu|)`: a plain relative error blows up on elements near 0, which
 * softmax outputs are full of, and would report noise.
 */
export function compareOutputs(cpu: Float32Array, gpu: Float32Array, tol: number): Mismatch {
  let maxAbs = 0;
  let maxRel = 0;
  let bad = 0;
  for (let i = 0; i < cpu.length; i++) {
    const [c, g] = [cpu[i], gpu[i]];
    if (c === g || (Number.isNaN(c) && Number.isNaN(g))) continue;
    const abs = Math.abs(g - c);
    const rel = Number.isFinite(c) ? abs / Math.max(1, Math.abs(c)) : abs;
    // NaN, from a NaN on one side only, is the worst difference and stays once seen.
    if (!Number.isNaN(maxAbs) && !(abs <= maxAbs)) maxAbs = abs;
    if (!Number.isNaN(maxRel) && !(rel <= maxRel)) maxRel = rel;
    // An infinity or NaN on one side only is a mismatch whatever the tolerance.
    const finite = Number.isFinite(c) && Number.isFinite(g);
    if (!finite || !(abs <= tol * Math.max(1, Math.abs(c)))) bad++;
  }
  return { maxAbs, maxRel, bad };
}

const exp = (x: number) => (x === 0 ? '0' : x.toExponential(2));

interface Prepared {
  readonly spec: CompiledSpec;
  readonly extents: string;
  readonly inputs: Record<string, HostTensor>;
}

async function checkSpec(
  { spec, extents, inputs }: Prepared,
  loaded: LoadedSpecs,
  device: GPUDevice,
  options: { params: Record<string, number | boolean>; tolerance: number; json: boolean },
  io: Io,
): Promise<boolean> {
  io.out(`${spec.name}: ${extents}\n`);
  const cpu = interpret(spec.program, inputs, { params: options.params });
  if (!cpu.ok) failRun(io, cpu, loaded.source, options.json);
  const kernel = createKernel(device, wgslFor(loaded, spec, device));
  const gpu = await kernel.run(inputs, { params: options.params });
  kernel.destroy();
  if (!gpu.ok) failRun(io, gpu, loaded.source, options.json);
  let pass = true;
  for (const name of spec.program.outputs) {
    const c = cpu.outputs[name];
    const m = compareOutputs(toFloat32(c), toFloat32(gpu.outputs[name]), options.tolerance);
    pass &&= m.bad === 0;
    const verdict = m.bad === 0 ? 'PASS' : `FAIL (${m.bad} of ${c.data.length} elements)`;
    io.out(
      `  ${name} [${c.shape.join(', ')}]  max abs ${exp(m.maxAbs)}  max scaled ${exp(m.maxRel)}  ${verdict}\n`,
    );
  }
  return pass;
}

export const checkCommand: Command = {
  name: 'check',
  summary: 'random differential test: WebGPU kernels vs the CPU interpreter',
  help: `Usage: attnc check SPEC [--attention NAME] [--dims i=N,...] [--seed N] [--set NAME=VALUE ...]
                   [--backend vulkan|opengles] [--tolerance T]

Builds seeded random inputs for each attention block of SPEC (or the one named), runs the CPU
reference interpreter (float64) and the WGSL kernels on a WebGPU device, and prints, per output,
the largest absolute and relative difference and PASS or FAIL. An element passes when
|gpu - cpu| <= T * max(1, |cpu|).

Extents: each extent an input dimension binds is set with --dims (by index name, hq=4, or
extent name, HQ=4) or defaults to ${BATCH_EXTENT} for a batch-like index (a dimension of every input, never
reduced, not a recurrence step) and ${DEFAULT_EXTENT} otherwise. Extents fixed by a const (G = HQ / HK, or
M learnt from a subscript) follow and cannot be set.
Inputs: f32 and f16 standard normal (f16 rounded to half), bool true with probability 0.8,
i32 uniform in [0, largest free extent].

Options:
  --attention NAME           check only this block
  --dims NAME=N,...          extents (repeatable)
  --seed N                   seed of the random inputs (default 1)
  --set NAME=VALUE           a param value: a number, inf, -inf, true or false (repeat)
  --backend vulkan|opengles  Dawn backend (default ATTN_WEBGPU_BACKEND, else vulkan)
  --tolerance T              default 1e-4

Exit codes: 0 every output within tolerance, 1 a mismatch, 2 bad spec or arguments,
69 no WebGPU adapter (an environment problem: install Mesa with \`npm run setup\`),
70 internal compiler error.

${PASS_HELP}

${COMMON_HELP}`,
  options: {
    ...PASS_OPTIONS,
    ...COMMON_OPTIONS,
    attention: { type: 'string' },
    dims: { type: 'string', multiple: true },
    seed: { type: 'string' },
    set: { type: 'string', multiple: true },
    backend: { type: 'string' },
    tolerance: { type: 'string' },
  },
  async run({ values, positionals, json }, io) {
    if (positionals.length !== 1) throw new UsageError('check expects one SPEC file');
    const toleranceText = stringOption(values, 'tolerance') ?? '1e-4';
    const tolerance = Number(toleranceText);
    if (!(tolerance >= 0))
      throw new UsageError(`--tolerance expects a number >= 0, got \`${toleranceText}\``);
    const dims = keyValues(stringList(values, 'dims'), 'dims', true);
    const seed = intOption(values, 'seed', 1, 0);
    const params = parseParams(keyValues(stringList(values, 'set'), 'set'));
    const backend = webgpuBackend(io, stringOption(values, 'backend'));
    const loaded = await loadSpecs(positionals[0], io, json, {
      ...pipelineOptions(values),
      attention: stringOption(values, 'attention'),
    });
    // Every argument is checked before the device is opened: mistakes fail fast, GPU or not.
    const prepared = loaded.specs.map((spec): Prepared => {
      const extents = chooseExtents(spec.program, dims);
      const inputs = randomInputs(spec.program, extents, seed);
      return { spec, extents: describeExtents(spec.program, extents), inputs };
    });
    const { device, description } = await openDevice(backend);
    io.out(`check ${loaded.path} on ${description}, seed ${seed}, tolerance ${tolerance}\n`);
    let pass = true;
    for (const p of prepared)
      pass = (await checkSpec(p, loaded, device, { params, tolerance, json }, io)) && pass;
    io.out(pass ? 'PASS\n' : 'FAIL\n');
    return pass ? EXIT.ok : EXIT.failed;
  },
};
