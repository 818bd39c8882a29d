/** Small helpers shared by the interpreter tests. */
import {
  interpret,
  type InterpretOptions,
  type RawTensor,
} from '../../../backends/cpu/interpret.ts';
import type { Program } from '../../../compiler/ir.ts';
import type { HostTensor } from '../../../compiler/tensor.ts';

export interface Ran {
  /** Output values as numbers (f32, absent written as 0). */
  out(name: string): number[];
  /** Any tensor of the run, with presence. */
  raw(name: string): RawTensor;
  /** Presence of every element of a tensor, as 0/1. */
  present(name: string): number[];
}

/** Runs `program` and fails the test with the diagnostics if the run was refused. */
export function run(
  program: Program,
  inputs: Record<string, HostTensor>,
  options: InterpretOptions = {},
): Ran {
  const result = interpret(program, inputs, options);
  if (!result.ok)
    throw new Error(result.diagnostics.map((d) => `${d.code}: ${d.message}`).join('\n'));
  const raw = (name: string): RawTensor => {
    const t = result.tensors.get(name);
    if (!t) throw new Error(`no tensor ${name}`);
    return t;
  };
  return {
    out: (name) => [...(result.outputs[name].data as Float32Array)],
    raw,
    present: (name) => [...raw(name).present],
  };
}

/** `f(i0, i1, ...)` for every row-major position of `shape`. */
export function build(shape: readonly number[], f: (...at: number[]) => number): number[] {
  const out: number[] = [];
  const at = shape.map(() => 0);
  const total = shape.reduce((a, b) => a * b, 1);
  for (let n = 0; n < total; n++) {
    out.push(f(...at));
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      if (++at[axis] < shape[axis]) break;
      at[axis] = 0;
    }
  }
  return out;
}

/** Rounds through float32, as outputs are. */
export const f32 = (xs: readonly number[]): number[] => [...Float32Array.from(xs)];
