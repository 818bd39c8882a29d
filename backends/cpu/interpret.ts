/**
 * The reference CPU interpreter: runs any valid IR program (before or after optimisation passes)
 * on host tensors, in float64, with the semantics of `compiler/ir.ts`.
 *
 * A run: `bind` (shared with the WGSL runtime, so both agree on extents, consts and params) →
 * inputs become fully present float64 arrays → each statement, in order, is compiled to a loop
 * nest (`compile-stmt.ts`) and run → outputs are returned as f32 with absent elements as 0.
 * Bad calls (missing inputs, conflicting extents, wrong params) come back as diagnostics; an
 * `InternalError` means the IR itself is malformed.
 */
import { bind, type InputSignature } from '../../compiler/bind.ts';
import {
  diagnostic,
  InternalError,
  type Diagnostic,
} from '../../compiler/diagnostics/diagnostic.ts';
import type { IndexName, Program, Statement, TensorName } from '../../compiler/ir.ts';
import { elementCount, type HostTensor } from '../../compiler/tensor.ts';
import { compileStatement, targetKind, type StatementScope } from './compile-stmt.ts';
import type { ElementKind, TensorLayout } from './codegen.ts';
import {
  createDense,
  denseFromHost,
  denseToHostF32,
  isFullyPresent,
  type DenseArray,
} from './ndarray.ts';

export interface InterpretOptions {
  /** Param values by name; params not given take their declared defaults. */
  readonly params?: Readonly<Record<string, number | boolean>>;
}

/** A tensor of the run with its presence (1 = present), for pass-equivalence tests. */
export interface RawTensor {
  readonly shape: readonly number[];
  readonly values: Float64Array;
  readonly present: Uint8Array;
}

export type InterpretResult =
  | {
      readonly ok: true;
      /** The program's outputs as f32, absent elements written as 0. */
      readonly outputs: Record<string, HostTensor>;
      /** Every tensor: inputs, intermediates and outputs. */
      readonly tensors: ReadonlyMap<string, RawTensor>;
    }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

export function interpret(
  program: Program,
  inputs: Readonly<Record<string, HostTensor>>,
  options: InterpretOptions = {},
): InterpretResult {
  const signatures: Record<string, InputSignature> = {};
  for (const [name, t] of Object.entries(inputs)) {
    signatures[name] = { dtype: t.dtype, shape: t.shape };
  }
  const bound = bind(program, signatures, options.params ?? {});
  if (!bound.ok) return bound;
  const sizeErrors = checkDataLengths(program, inputs);
  if (sizeErrors.length > 0) return { ok: false, diagnostics: sizeErrors };

  const store = new TensorStore();
  for (const decl of program.inputs) {
    const kind: ElementKind =
      decl.dtype === 'bool' ? 'bool' : decl.dtype === 'i32' ? 'int' : 'real';
    store.add(decl.name, denseFromHost(inputs[decl.name]), kind, true);
  }
  const extents = new Map<IndexName, number>();
  for (const index of program.indices) {
    extents.set(index.name, bound.binding.symbols.get(index.extent)!);
  }
  const scope: StatementScope = {
    binding: bound.binding,
    tensor: (name) => store.layout(name),
    extentOf: (index) => {
      const extent = extents.get(index);
      if (extent === undefined) throw new InternalError(`index ${index} is not declared`);
      return extent;
    },
  };
  for (const s of program.body) runStatement(s, store, scope, bound.binding.shapes);

  const outputs: Record<string, HostTensor> = {};
  for (const name of program.outputs) outputs[name] = denseToHostF32(store.array(name));
  const tensors = new Map<string, RawTensor>();
  for (const [name, entry] of store.entries()) {
    tensors.set(name, {
      shape: entry.array.shape,
      values: entry.array.values,
      present: entry.array.present,
    });
  }
  return { ok: true, outputs, tensors };
}

function runStatement(
  s: Statement,
  store: TensorStore,
  scope: StatementScope,
  shapes: ReadonlyMap<TensorName, readonly number[]>,
): void {
  const kind = targetKind(s, scope);
  // A later statement for an existing tensor (a piecewise definition) overlays its present points.
  let entry = store.get(s.target);
  if (entry === undefined) {
    const shape = shapes.get(s.target);
    if (!shape) throw new InternalError(`no shape for ${s.target}`);
    entry = store.add(s.target, createDense(shape), kind, false);
  } else if (entry.input || entry.layout.kind !== kind) {
    throw new InternalError(`${s.target} is redefined with a different kind or is an input`);
  }
  const writing: TensorLayout = { ...entry.layout, fullyPresent: false };
  compileStatement(s, writing, scope).run(store.values, store.present);
  store.refresh(s.target);
}

interface Entry {
  readonly array: DenseArray;
  readonly input: boolean;
  layout: TensorLayout;
}

/** The tensors of one run, numbered in definition order (the ids generated code uses). */
class TensorStore {
  private readonly byName = new Map<string, Entry>();
  readonly values: Float64Array[] = [];
  readonly present: Uint8Array[] = [];

  add(name: string, array: DenseArray, kind: ElementKind, input: boolean): Entry {
    const id = this.values.length;
    this.values.push(array.values);
    this.present.push(array.present);
    const layout = {
      id,
      shape: array.shape,
      strides: array.strides,
      kind,
      fullyPresent: isFullyPresent(array),
    };
    const entry: Entry = { array, input, layout };
    this.byName.set(name, entry);
    return entry;
  }

  get(name: string): Entry | undefined {
    return this.byName.get(name);
  }

  layout(name: string): TensorLayout {
    return this.defined(name).layout;
  }

  array(name: string): DenseArray {
    return this.defined(name).array;
  }

  private defined(name: string): Entry {
    const entry = this.byName.get(name);
    if (!entry) throw new InternalError(`tensor ${name} is used before it is defined`);
    return entry;
  }

  /** Re-derives what later reads may assume after `name` was written. */
  refresh(name: string): void {
    const entry = this.byName.get(name)!;
    entry.layout = { ...entry.layout, fullyPresent: isFullyPresent(entry.array) };
  }

  entries(): IterableIterator<[string, Entry]> {
    return this.byName.entries();
  }
}

/** E605: the data must hold exactly as many elements as the shape says. */
function checkDataLengths(
  program: Program,
  inputs: Readonly<Record<string, HostTensor>>,
): Diagnostic[] {
  const errors: Diagnostic[] = [];
  for (const decl of program.inputs) {
    const t = inputs[decl.name];
    const needed = elementCount(t.shape);
    if (t.data.length !== needed) {
      const span = { ...decl.origin, file: program.file };
      errors.push(diagnostic('E605', span, [decl.name, t.data.length, t.shape.join(', '), needed]));
    }
  }
  return errors;
}
