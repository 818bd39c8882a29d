/**
 * `attnc run`: one block on NumPy `.npy` inputs, on the CPU interpreter or a WebGPU device.
 */
import { readFile, writeFile } from 'node:fs/promises';
import {
  createKernel,
  interpret,
  tensor,
  toFloat32,
  type HostTensor,
  type Program,
} from '../../index.ts';
import { NpyError, parseNpy, serializeNpy } from '../npy.ts';
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  EXIT,
  keyValues,
  stringList,
  stringOption,
  UsageError,
  type Command,
} from '../command.ts';
import {
  failRun,
  formatMs,
  loadSpecs,
  onlySpec,
  openDevice,
  parseParams,
  webgpuBackend,
  wgslFor,
} from '../spec.ts';
import { PASS_HELP, PASS_OPTIONS, pipelineOptions } from '../passes.ts';

async function readNpy(path: string): Promise<HostTensor> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch {
    throw new UsageError(`cannot read \`${path}\``, false);
  }
  try {
    return parseNpy(bytes);
  } catch (e) {
    if (e instanceof NpyError) throw new UsageError(`${path}: ${e.message}`, false);
    throw e;
  }
}

/**
 * A float input takes the storage its declaration names: f32 data for an f16 input is rounded
 * to half (what the GPU would store), f16 data for an f32 input stays f16 (widening is exact).
 */
function asDeclared(program: Program, name: string, t: HostTensor): HostTensor {
  const decl = program.inputs.find((i) => i.name === name);
  if (decl?.dtype === 'f16' && t.dtype === 'f32') return tensor('f16', t.shape, t.data);
  return t;
}

const shapeText = (t: HostTensor) => `[${t.shape.join(', ')}]`;

export const runCommand: Command = {
  name: 'run',
  summary: 'run a spec on .npy inputs (CPU interpreter or WebGPU)',
  help: `Usage: attnc run SPEC --in NAME=FILE.npy ... [--out NAME=FILE.npy ...] [options]

Runs one attention block of SPEC on NumPy .npy inputs and writes the outputs asked for with
--out (only those are computed; without --out every output is computed and only summarised).
Prints the input and output shapes and the run time (for webgpu, one run including upload,
pipeline creation and read-back).

Inputs may be float32, float16, float64 (read as float32), int32, int64 (checked to fit int32)
or bool, in C order. A float16 file for an f16 input stays f16; a float32 file for an f16 input
is rounded to half. Outputs are written as float32, or float16 with --out-dtype f16.

Options:
  --in NAME=FILE       an input (repeat for each)
  --out NAME=FILE      an output to compute and write (repeat)
  --set NAME=VALUE     a param value: a number, inf, -inf, true or false (repeat)
  --attention NAME     the block to run (required when SPEC has several)
  --backend cpu|webgpu the CPU reference interpreter (default) or a WebGPU device through Dawn;
                       the Dawn backend is ATTN_WEBGPU_BACKEND (vulkan, the default, or opengles)
  --out-dtype f32|f16  element type of the written outputs (default f32)

Exit codes: 0 ok, 2 bad spec, inputs or arguments (bind errors print as diagnostics),
69 no WebGPU adapter, 70 internal compiler error.

${PASS_HELP}

${COMMON_HELP}`,
  options: {
    ...PASS_OPTIONS,
    ...COMMON_OPTIONS,
    in: { type: 'string', multiple: true },
    out: { type: 'string', multiple: true },
    set: { type: 'string', multiple: true },
    attention: { type: 'string' },
    backend: { type: 'string' },
    'out-dtype': { type: 'string' },
  },
  async run({ values, positionals, json }, io) {
    if (positionals.length !== 1) throw new UsageError('run expects one SPEC file');
    const backend = stringOption(values, 'backend') ?? 'cpu';
    if (backend !== 'cpu' && backend !== 'webgpu')
      throw new UsageError(`--backend must be cpu or webgpu, got \`${backend}\``);
    const outDtype = stringOption(values, 'out-dtype') ?? 'f32';
    if (outDtype !== 'f32' && outDtype !== 'f16')
      throw new UsageError(`--out-dtype must be f32 or f16, got \`${outDtype}\``);
    const inputFiles = keyValues(stringList(values, 'in'), 'in');
    const outputFiles = keyValues(stringList(values, 'out'), 'out');
    const params = parseParams(keyValues(stringList(values, 'set'), 'set'));

    const loaded = await loadSpecs(positionals[0], io, json, {
      ...pipelineOptions(values),
      attention: stringOption(values, 'attention'),
      outputs: outputFiles.size > 0 ? [...outputFiles.keys()] : undefined,
    });
    const spec = onlySpec(loaded);
    const inputs: Record<string, HostTensor> = {};
    for (const [name, path] of inputFiles)
      inputs[name] = asDeclared(spec.program, name, await readNpy(path));

    let outputs: Record<string, HostTensor>;
    let where: string;
    const start = performance.now();
    if (backend === 'cpu') {
      const result = interpret(spec.program, inputs, { params });
      if (!result.ok) failRun(io, result, loaded.source, json);
      outputs = result.outputs;
      where = 'the CPU interpreter';
    } else {
      const { device, description } = await openDevice(webgpuBackend(io));
      const kernel = createKernel(device, wgslFor(loaded, spec, device));
      const result = await kernel.run(inputs, { params });
      kernel.destroy();
      if (!result.ok) failRun(io, result, loaded.source, json);
      outputs = result.outputs;
      where = `WebGPU (${description})`;
    }
    const elapsed = performance.now() - start;

    io.out(`${spec.name} on ${where}: ${formatMs(elapsed)}\n`);
    for (const [name, path] of inputFiles)
      io.out(`  in  ${name} ${inputs[name].dtype} ${shapeText(inputs[name])}  ${path}\n`);
    for (const name of spec.program.outputs) {
      const t = outputs[name];
      const path = outputFiles.get(name);
      const written = outDtype === 'f16' ? tensor('f16', t.shape, toFloat32(t)) : t;
      if (path !== undefined) await writeFile(path, serializeNpy(written));
      const target = path === undefined ? '(not written)' : `-> ${path}`;
      io.out(`  out ${name} ${written.dtype} ${shapeText(t)}  ${target}\n`);
    }
    return EXIT.ok;
  },
};
