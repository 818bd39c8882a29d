/**
 * What several commands share: reading and compiling a spec, printing its diagnostics, picking a
 * block, parsing `--set`, and opening a WebGPU device. Every step that can fail because of the
 * user prints or throws something an exit code can be chosen for; nothing here exits.
 */
import { readFile } from 'node:fs/promises';
import {
  compile,
  formatDiagnostics,
  type CompiledSpec,
  type CompiledWgsl,
  type Diagnostic,
  type SourceFile,
} from '../index.ts';
import type { NodeBackend, NodeDevice } from '../node.ts';
// Not in the public API: diagnostics carry offsets, and JSON output adds 1-based positions.
import { positionOf } from '../compiler/diagnostics/source.ts';
import { EXIT, UnavailableError, UsageError, type Io } from './command.ts';
import type { PipelineOptions } from './passes.ts';

/** Thrown after the problem was already printed (diagnostics): just exit with `code`. */
export class ReportedError extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
    this.name = 'ReportedError';
  }
}

export async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(e);
    throw new UsageError(`cannot read \`${path}\`: ${reason}`, false);
  }
}

/** Prints diagnostics (errors and warnings) on stderr, as text or as one JSON object. */
export function printDiagnostics(
  io: Io,
  diagnostics: readonly Diagnostic[],
  source: SourceFile,
  json: boolean,
): void {
  if (diagnostics.length === 0) return;
  if (!json) {
    io.err(`${formatDiagnostics(diagnostics, source, { color: io.color })}\n`);
    return;
  }
  const at = (offset: number) => positionOf(source, offset);
  const located = diagnostics.map((d) => ({
    ...d,
    line: at(d.span.start).line,
    column: at(d.span.start).column,
    endLine: at(d.span.end).line,
    endColumn: at(d.span.end).column,
  }));
  io.err(`${JSON.stringify({ diagnostics: located })}\n`);
}

export interface LoadedSpecs {
  readonly path: string;
  readonly source: SourceFile;
  readonly specs: readonly CompiledSpec[];
  /** How they were compiled, to compile again for a device (`wgslFor`). */
  readonly options: LoadOptions;
}

export interface LoadOptions extends PipelineOptions {
  readonly attention?: string;
  readonly outputs?: readonly string[];
  readonly f16?: boolean;
}

/** Reads and compiles `path`; a spec with errors is printed and ends the command (exit 2). */
export async function loadSpecs(
  path: string,
  io: Io,
  json: boolean,
  options: LoadOptions = {},
): Promise<LoadedSpecs> {
  const text = await readText(path);
  let result: ReturnType<typeof compile>;
  try {
    result = compile(text, { fileName: path, ...options });
  } catch (e) {
    // `compile` throws RangeError for an unknown `attention` or output name: a usage error.
    if (e instanceof RangeError) throw new UsageError(e.message, false);
    throw e;
  }
  printDiagnostics(io, result.diagnostics, result.source, json);
  if (!result.ok) throw new ReportedError(EXIT.usage);
  return { path, source: result.source, specs: result.specs, options };
}

/** The one block a command works on: `--attention NAME`, or the file's only block. */
export function onlySpec(loaded: LoadedSpecs): CompiledSpec {
  if (loaded.specs.length === 1) return loaded.specs[0];
  const names = loaded.specs.map((s) => s.name).join(', ');
  throw new UsageError(
    `\`${loaded.path}\` has ${loaded.specs.length} attention blocks (${names}); choose one with --attention NAME`,
  );
}

/** `--set cap=30 --set causal=true`: booleans, numbers, `inf` and `-inf`. */
export function parseParams(pairs: ReadonlyMap<string, string>): Record<string, number | boolean> {
  const params: Record<string, number | boolean> = {};
  for (const [name, text] of pairs) {
    if (text === 'true' || text === 'false') params[name] = text === 'true';
    else if (/^[+-]?inf$/.test(text)) params[name] = text.startsWith('-') ? -Infinity : Infinity;
    else if (text.trim() !== '' && Number.isFinite(Number(text))) params[name] = Number(text);
    else throw new UsageError(`--set ${name}: \`${text}\` is not a number, true or false`);
  }
  return params;
}

/** The Dawn backend: `--backend` where a command has one, else `ATTN_WEBGPU_BACKEND`, else vulkan. */
export function webgpuBackend(io: Io, flag?: string): NodeBackend {
  const name = flag ?? io.env.ATTN_WEBGPU_BACKEND ?? 'vulkan';
  if (name !== 'vulkan' && name !== 'opengles')
    throw new UsageError(`the WebGPU backend must be vulkan or opengles, got \`${name}\``);
  return name;
}

export async function openDevice(backend: NodeBackend): Promise<NodeDevice> {
  let found: NodeDevice | null;
  try {
    // Loaded on demand: Dawn is a native addon that commands without a GPU never need.
    const { requestNodeDevice } = await import('../node.ts');
    found = await requestNodeDevice({ backend });
  } catch (e) {
    throw new UnavailableError(
      `could not create a WebGPU device on ${backend}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (!found)
    throw new UnavailableError(
      `no WebGPU adapter for the ${backend} backend; install the Mesa drivers with \`npm run setup\`, try the other backend, or use the CPU interpreter`,
    );
  return found;
}

/**
 * The kernels for `device`: compiled again with the device's limits (tile sizes are chosen to
 * fit them), and with f16 inputs kept as f16 when it has `shader-f16`.
 */
export function wgslFor(loaded: LoadedSpecs, spec: CompiledSpec, device: GPUDevice): CompiledWgsl {
  const f16 =
    device.features.has('shader-f16') && spec.program.inputs.some((i) => i.dtype === 'f16');
  const result = compile(loaded.source.text, {
    ...loaded.options,
    fileName: loaded.path,
    attention: spec.name,
    f16,
    limits: device.limits,
  });
  return result.ok ? result.specs[0].wgsl : spec.wgsl;
}

/** A failed run (bind errors, device limits): diagnostics or the message, then exit 2. */
export function failRun(
  io: Io,
  result: { readonly diagnostics: readonly Diagnostic[]; readonly message?: string },
  source: SourceFile,
  json: boolean,
): never {
  if (result.diagnostics.length > 0) printDiagnostics(io, result.diagnostics, source, json);
  else io.err(`attnc: error: ${result.message ?? 'the run failed'}\n`);
  throw new ReportedError(EXIT.usage);
}

export function formatMs(ms: number): string {
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  return ms >= 1 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(3)} ms`;
}
