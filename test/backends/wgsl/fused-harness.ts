/**
 * Shared steps of the fused-kernel tests: compile a spec with the optimizer's passes, bind
 * extents and seeded inputs, run it on Dawn and compare with the CPU interpreter running the
 * *original* (unscheduled) program, and report how each fused group ran.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { evaluateAffine } from '../../../compiler/affine.ts';
import { extentName, type Program } from '../../../compiler/ir.ts';
import {
  compile,
  createKernel,
  interpret,
  tensor,
  type CompiledSpec,
  type CompileOptions,
  type HostTensor,
} from '../../../index.ts';
import type { SpecTuning } from '../../../backends/wgsl/fused-spec.ts';
import type { FusedRunInfo } from '../../../backends/wgsl/runtime-fused.ts';
import { compareClose, type Tolerance } from '../../helpers/allclose.ts';
import { getTestDevice } from '../../helpers/gpu.ts';
import { createRng } from '../../helpers/rng.ts';

/** f32 kernels against the interpreter (float64 arithmetic on f32 inputs). */
export const TOLERANCE: Tolerance = { atol: 1e-4, rtol: 1e-3 };

export interface Block {
  readonly file: string;
  readonly name: string;
}

/** Every `attention` block of stdlib/ and examples/. */
export function allBlocks(): Block[] {
  return ['stdlib', 'examples'].flatMap((dir) =>
    readdirSync(new URL(`../../../${dir}/`, import.meta.url))
      .filter((f) => f.endsWith('.attn'))
      .sort()
      .flatMap((f) => {
        const text = readFileSync(new URL(`../../../${dir}/${f}`, import.meta.url), 'utf8');
        return [...text.matchAll(/^attention\s+(\w+)/gm)].map((m) => ({
          file: `${dir}/${f}`,
          name: m[1],
        }));
      }),
  );
}

export function compileBlock(block: Block, options: CompileOptions = {}): CompiledSpec {
  const text = readFileSync(new URL(`../../../${block.file}`, import.meta.url), 'utf8');
  const r = compile(text, { fileName: block.file, attention: block.name, ...options });
  if (!r.ok)
    throw new Error(
      `${block.file} does not compile: ${r.diagnostics.map((d) => d.message).join('; ')}`,
    );
  return r.specs[0];
}

/** Extents bound by input dimensions that no const fixes (the ones a caller may choose). */
export function freeExtents(program: Program): string[] {
  const consts = new Set(program.consts.map((c) => c.name));
  const onInputs = new Set(program.inputs.flatMap((i) => i.indices.map(extentName)));
  return program.indices.map((i) => i.extent).filter((e) => onInputs.has(e) && !consts.has(e));
}

/**
 * Extents: `chosen` where given, 2 for batch-like indices (on every input), else 17 (a prime,
 * not a multiple of any tile size); consts follow.
 */
export function extentsOf(
  program: Program,
  chosen: Readonly<Record<string, number>> = {},
): Map<string, number> {
  const symbols = new Map<string, number>();
  for (const e of freeExtents(program)) {
    const batch = program.inputs.every((i) => i.indices.some((x) => extentName(x) === e));
    symbols.set(e, chosen[e] ?? (batch ? 2 : 17));
  }
  for (const c of program.consts) {
    if (c.type !== 'i32') continue;
    const v = evaluateAffine(c.value, {
      index: () => NaN,
      read: () => undefined,
      symbol: (n) => symbols.get(n) ?? NaN,
    });
    if (v !== undefined) symbols.set(c.name, v);
  }
  return symbols;
}

/** Seeded inputs: normals, booleans true with probability 0.8, i32 in [0, largest extent]. */
export function inputsOf(
  program: Program,
  symbols: ReadonlyMap<string, number>,
  seed: number,
): Record<string, HostTensor> {
  const rng = createRng(seed);
  const largest = Math.max(1, ...freeExtents(program).map((e) => symbols.get(e)!));
  const out: Record<string, HostTensor> = {};
  for (const d of program.inputs) {
    const shape = d.indices.map((i) => symbols.get(extentName(i))!);
    const n = shape.reduce((a, b) => a * b, 1);
    const values = Float64Array.from({ length: n }, () =>
      d.dtype === 'bool'
        ? rng.next() < 0.8
          ? 1
          : 0
        : d.dtype === 'i32'
          ? rng.int(0, largest)
          : Math.fround(rng.randn()),
    );
    out[d.name] = tensor(d.dtype, shape, values);
  }
  return out;
}

export interface Compared {
  readonly fused: readonly FusedRunInfo[];
  readonly outputs: Record<string, Float32Array>;
  readonly expected: Record<string, Float32Array>;
}

/** Runs `spec` on Dawn and the original program on the interpreter; fails on any difference. */
export async function compareWithInterpreter(
  spec: CompiledSpec,
  inputs: Record<string, HostTensor>,
  options: {
    params?: Record<string, number | boolean>;
    splits?: number;
    tune?: SpecTuning;
    device?: GPUDevice;
    label?: string;
  } = {},
): Promise<Compared> {
  const device = options.device ?? (await getTestDevice());
  const kernel = createKernel(device, spec.wgsl);
  const result = await kernel.run(inputs, {
    params: options.params,
    splits: options.splits,
    tune: options.tune,
  });
  kernel.destroy();
  if (!result.ok) throw new Error(`${options.label ?? spec.name}: ${result.message}`);
  const reference = interpret(spec.program, inputs, { params: options.params });
  if (!reference.ok)
    throw new Error(`interpreter: ${reference.diagnostics.map((d) => d.message).join('; ')}`);
  const outputs: Record<string, Float32Array> = {};
  const expected: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(reference.outputs)) {
    outputs[name] = result.outputs[name].data as Float32Array;
    expected[name] = t.data as Float32Array;
    // Relative to the tensor's largest magnitude too: with unnormalised weights (linear
    // attention with a random decay) outputs reach hundreds and f32 sums lose digits to that scale.
    const scale = expected[name].reduce((m, x) => Math.max(m, Math.abs(x)), 1);
    const r = compareClose(outputs[name], expected[name], {
      ...TOLERANCE,
      atol: TOLERANCE.atol * scale,
    });
    expect(
      r.badCount,
      `${options.label ?? spec.name} ${name}: ${r.badCount} elements off; max abs ${r.maxAbs}, first at ${r.firstBad}: ${outputs[name][r.firstBad]} vs ${expected[name][r.firstBad]}`,
    ).toBe(0);
  }
  return { fused: result.fused, outputs, expected };
}

/** The fused groups the manifest says run as one kernel (no compile-time fallback note). */
export function fusedOutputs(spec: CompiledSpec): string[] {
  return spec.wgsl.fused.map((f) => f.static.output);
}

/** The query extent and the key extent of the first fused group, when the caller may set them. */
export function fusedExtents(spec: CompiledSpec): { query: string; key: string | null } | null {
  const f = spec.wgsl.fused[0];
  if (!f) return null;
  const free = new Set(freeExtents(spec.program));
  const query = extentName(f.static.query);
  const limit = f.static.keyLimit;
  const key =
    limit &&
    limit.terms.length === 1 &&
    limit.constant === 0 &&
    limit.terms[0].atom.kind === 'symbol'
      ? limit.terms[0].atom.name
      : null;
  if (!free.has(query)) return null;
  return { query, key: key && free.has(key) ? key : null };
}

/** The index the tile pass partitioned for the first fused group (to ask for other tile sizes). */
export function tiledKey(spec: CompiledSpec): string | null {
  const f = spec.wgsl.fused[0];
  if (!f) return null;
  // The tile pass records `tile m` and `tile p`; the query's entry is a hint, the other is the key's.
  const tile = spec.scheduled.schedule.tiles.find((t) => t.index !== f.static.query);
  return tile?.index ?? null;
}
