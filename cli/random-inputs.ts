/**
 * Extents and seeded random inputs for `attnc check` and `attnc bench`.
 *
 * Extents: every extent bound by an input dimension is free; `--dims` sets it (by index name,
 * `hq=4`, or extent name, `HQ=4`), else it defaults to 2 when it is batch-like (a dimension of
 * every input, never reduced, not a recurrence's step) and to 17 otherwise (small, odd and prime,
 * so it is not a multiple of any tile or workgroup size). Extents fixed by a `const` (including
 * the ones learnt from a subscript, `const M = N`) follow from the free ones and are not settable.
 *
 * Values: f32 and f16 standard normal (f16 rounded to half), bool true with probability 0.8,
 * i32 uniform in [0, largest free extent] (lengths from empty to full; out-of-range gather
 * indices read absent values, as the language defines).
 */
import { tensor, type HostTensor, type Program } from '../index.ts';
// Not in the public API: consts are affine formulas over the extents.
import { evaluateAffine } from '../compiler/affine.ts';
import { UsageError } from './command.ts';

export const BATCH_EXTENT = 2;
export const DEFAULT_EXTENT = 17;

/** mulberry32: small, fast and seedable; the same seed gives the same inputs everywhere. */
function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Extents {
  /** Every integer symbol: free extents and integer consts. */
  readonly symbols: ReadonlyMap<string, number>;
  /** The free extents, in the order of `program.indices`. */
  readonly free: readonly string[];
}

function batchLike(program: Program, index: string): boolean {
  if (!program.inputs.every((i) => i.indices.includes(index as never))) return false;
  return program.body.every(
    (s) =>
      !(s.reduce?.over ?? []).includes(index as never) &&
      !(s.kind === 'recurrence' && s.indices[s.axis] === index),
  );
}

export function chooseExtents(program: Program, dims: ReadonlyMap<string, string>): Extents {
  const consts = new Set(program.consts.map((c) => c.name));
  const onInputs = new Set(program.inputs.flatMap((i) => i.indices as readonly string[]));
  const indices = program.indices.filter((i) => onInputs.has(i.name) && !consts.has(i.extent));
  const symbols = new Map<string, number>();
  for (const i of indices)
    symbols.set(i.extent, batchLike(program, i.name) ? BATCH_EXTENT : DEFAULT_EXTENT);

  const settable = indices.map((i) => i.name).join(', ') || '(none)';
  for (const [key, text] of dims) {
    const index = program.indices.find((i) => i.name === key || i.extent === key);
    if (!index)
      throw new UsageError(`--dims: \`${program.name}\` has no index \`${key}\`; set ${settable}`);
    if (consts.has(index.extent))
      throw new UsageError(
        `--dims: the extent ${index.extent} of \`${index.name}\` is fixed by \`const ${index.extent}\` in \`${program.name}\`; set ${settable}`,
      );
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1)
      throw new UsageError(`--dims ${key}: expected a positive integer, got \`${text}\``);
    symbols.set(index.extent, value);
  }

  for (const c of program.consts) {
    if (c.type !== 'i32') continue;
    const value = evaluateAffine(c.value, {
      // Consts use only extents and earlier consts: both are in `symbols` by now.
      index: () => NaN,
      read: () => undefined,
      symbol: (name) => symbols.get(name) ?? NaN,
    });
    if (value !== undefined) symbols.set(c.name, value);
  }
  return { symbols, free: indices.map((i) => i.extent) };
}

/** `B=2 E=17 ...` for the free extents, then `(G=1 by const)` for the others. */
export function describeExtents(program: Program, extents: Extents): string {
  const free = extents.free.map((e) => `${e}=${extents.symbols.get(e)}`).join(' ');
  const fixed = program.consts
    .filter((c) => c.type === 'i32' && extents.symbols.has(c.name))
    .map((c) => `${c.name}=${extents.symbols.get(c.name)}`);
  return fixed.length > 0 ? `${free} (by const: ${fixed.join(' ')})` : free;
}

export function randomInputs(
  program: Program,
  extents: Extents,
  seed: number,
): Record<string, HostTensor> {
  const next = rng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const largest = Math.max(1, ...extents.free.map((e) => extents.symbols.get(e)!));
  const inputs: Record<string, HostTensor> = {};
  for (const decl of program.inputs) {
    const extentOf = (index: string) => program.indices.find((i) => i.name === index)!.extent;
    const shape = decl.indices.map((i) => extents.symbols.get(extentOf(i)) ?? NaN);
    if (shape.some((d) => !Number.isInteger(d) || d < 1))
      throw new UsageError(
        `with these extents, input \`${decl.name}\` of \`${program.name}\` would have shape [${shape.join(', ')}]; choose others with --dims`,
      );
    const n = shape.reduce((a, b) => a * b, 1);
    const values = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      if (decl.dtype === 'bool') values[k] = next() < 0.8 ? 1 : 0;
      else if (decl.dtype === 'i32') values[k] = Math.floor(next() * (largest + 1));
      else values[k] = normal();
    }
    inputs[decl.name] = tensor(decl.dtype, shape, values);
  }
  return inputs;
}
