/**
 * Run-time binding: from the shapes of the inputs and the params a caller gives, compute every
 * symbol a kernel needs (extents, consts, i32 params), every scalar param value, and the shape
 * of every tensor. Both backends call this first, so they agree on what a run means, and a bad
 * call gets a diagnostic (E6xx) pointing at the declaration it violates.
 */
import { diagnostic, type Diagnostic } from './diagnostics/diagnostic.ts';
import { evaluateAffine } from './affine.ts';
import { extentName, type DType, type Expr, type Program, type TensorName } from './ir.ts';
import { tensorShapes } from './ir-walk.ts';
import { applyArithmetic, applyCompare, applyFunction } from './scalar.ts';
import { assertNever, InternalError } from './diagnostics/diagnostic.ts';

export interface InputSignature {
  readonly dtype: DType;
  readonly shape: readonly number[];
}

export type ParamValue = number | boolean;

export interface Binding {
  /** Integer symbols: extents (`M`), integer consts (`G`) and i32 params. */
  readonly symbols: ReadonlyMap<string, number>;
  /** Real (f32) param values. */
  readonly reals: ReadonlyMap<string, number>;
  /** Boolean params and consts. */
  readonly bools: ReadonlyMap<string, boolean>;
  /** The concrete shape of every tensor: inputs, intermediates and outputs. */
  readonly shapes: ReadonlyMap<TensorName, readonly number[]>;
}

export type BindResult =
  | { readonly ok: true; readonly binding: Binding }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/** How a diagnostic names a dimension: counted from 1, like E204 (`dimension 4 of `Q``). */
const dimensionOf = (tensor: string, axis: number) => `dimension ${axis + 1} of \`${tensor}\``;

/** Largest extent we accept: indices are computed in 32-bit signed integers on the GPU. */
const MAX_EXTENT = 2 ** 31 - 1;

export function bind(
  program: Program,
  inputs: Readonly<Record<string, InputSignature>>,
  params: Readonly<Record<string, ParamValue>> = {},
): BindResult {
  const errors: Diagnostic[] = [];
  const at = (span: { start: number; end: number }) => ({ ...span, file: program.file });
  const symbols = new Map<string, number>();
  const reals = new Map<string, number>();
  const bools = new Map<string, boolean>();
  const boundBy = new Map<string, string>();

  const inputNames = program.inputs.map((i) => i.name as string);
  for (const name of Object.keys(inputs)) {
    if (!inputNames.includes(name))
      errors.push(
        diagnostic('E607', at(program.origin), [name, inputNames.join(', ') || '(none)']),
      );
  }
  for (const decl of program.inputs) {
    const given = inputs[decl.name];
    if (!given) {
      errors.push(diagnostic('E601', at(decl.origin), [decl.name]));
      continue;
    }
    if (
      given.dtype !== decl.dtype &&
      !(decl.dtype === 'f32' && given.dtype === 'f16') &&
      !(decl.dtype === 'f16' && given.dtype === 'f32')
    ) {
      errors.push(diagnostic('E608', at(decl.origin), [decl.name, decl.dtype, given.dtype]));
    }
    if (given.shape.length !== decl.indices.length) {
      errors.push(
        diagnostic('E602', at(decl.origin), [decl.name, given.shape.length, decl.indices.length]),
      );
      continue;
    }
    decl.indices.forEach((index, axis) => {
      const extent = extentName(index);
      const size = given.shape[axis];
      const prev = symbols.get(extent);
      // Checked here, before consts use it: `const G = HQ / HK` with HK = 0 must be E606, not a throw.
      if (!Number.isInteger(size) || size < 1 || size > MAX_EXTENT) {
        errors.push(diagnostic('E606', at(decl.origin), [extent, size]));
      } else if (prev === undefined) {
        symbols.set(extent, size);
        boundBy.set(extent, dimensionOf(decl.name, axis));
      } else if (prev !== size) {
        errors.push(
          diagnostic('E603', at(decl.origin), [
            extent,
            prev,
            boundBy.get(extent)!,
            size,
            dimensionOf(decl.name, axis),
          ]),
        );
      }
    });
  }
  if (errors.length > 0) return { ok: false, diagnostics: errors };

  const scalarEnv: ScalarEnv = { symbols, reals, bools };
  for (const c of program.consts) {
    const value =
      c.type === 'i32'
        ? evaluateAffine(c.value, affineEnvOf(scalarEnv))
        : evaluateBool(c.value, scalarEnv);
    if (value === undefined) throw new InternalError(`const ${c.name} could not be evaluated`);
    if (c.type === 'bool') {
      bools.set(c.name, value as boolean);
      continue;
    }
    const prev = symbols.get(c.name);
    if (prev !== undefined && prev !== value) {
      errors.push(
        diagnostic('E603', at(c.origin), [
          c.name,
          prev,
          boundBy.get(c.name) ?? 'an input',
          value as number,
          `\`const ${c.name}\``,
        ]),
      );
    }
    symbols.set(c.name, value as number);
  }

  const paramNames = program.params.map((p) => p.name);
  for (const name of Object.keys(params)) {
    if (!paramNames.includes(name))
      errors.push(
        diagnostic('E604', at(program.origin), [name, paramNames.join(', ') || '(none)']),
      );
  }
  for (const p of program.params) {
    const given = params[p.name];
    if (given !== undefined) {
      const ok =
        p.type === 'bool'
          ? typeof given === 'boolean'
          : typeof given === 'number' && (p.type === 'f32' || Number.isInteger(given));
      if (!ok) {
        errors.push(
          diagnostic('E609', at(p.origin), [
            p.name,
            p.type === 'bool' ? 'true or false' : p.type === 'i32' ? 'an integer' : 'a number',
          ]),
        );
        continue;
      }
    }
    if (p.type === 'bool')
      bools.set(
        p.name,
        (given as boolean | undefined) ?? (evaluateBool(p.default, scalarEnv) as boolean),
      );
    else {
      const value = (given as number | undefined) ?? evaluateReal(p.default, scalarEnv);
      if (p.type === 'i32') symbols.set(p.name, Math.trunc(value));
      else reals.set(p.name, value);
    }
  }

  for (const index of program.indices) {
    const size = symbols.get(index.extent);
    if (size === undefined)
      throw new InternalError(`extent ${index.extent} is unbound after binding`);
    if (!Number.isInteger(size) || size < 1 || size > MAX_EXTENT)
      errors.push(diagnostic('E606', at(program.origin), [index.extent, size]));
  }
  if (errors.length > 0) return { ok: false, diagnostics: errors };

  const shapes = new Map<TensorName, readonly number[]>();
  const env = affineEnvOf(scalarEnv);
  for (const [name, dims] of tensorShapes(program)) {
    shapes.set(
      name,
      dims.map((d) => evaluateAffine(d, env)!),
    );
  }
  return { ok: true, binding: { symbols, reals, bools, shapes } };
}

// ── Scalar evaluation (consts and param defaults: no tensors, no indices) ────────────────

interface ScalarEnv {
  readonly symbols: ReadonlyMap<string, number>;
  readonly reals: ReadonlyMap<string, number>;
  readonly bools: ReadonlyMap<string, boolean>;
}

function affineEnvOf(env: ScalarEnv) {
  return {
    index: (name: string): number => {
      throw new InternalError(`index ${name} in a scalar expression`);
    },
    symbol: (name: string): number => {
      const v = env.symbols.get(name);
      if (v === undefined) throw new InternalError(`symbol ${name} used before it is bound`);
      return v;
    },
    read: (): number | undefined => {
      throw new InternalError('tensor read in a scalar expression');
    },
  };
}

/** Value of a real scalar expression (a param default). */
export function evaluateReal(e: Expr, env: ScalarEnv): number {
  const v = evaluateScalar(e, env);
  if (typeof v !== 'number') throw new InternalError('expected a real scalar');
  return v;
}

function evaluateBool(e: Expr, env: ScalarEnv): boolean {
  const v = evaluateScalar(e, env);
  if (typeof v !== 'boolean') throw new InternalError('expected a boolean scalar');
  return v;
}

function evaluateScalar(e: Expr, env: ScalarEnv): number | boolean {
  const real = (x: Expr) => evaluateReal(x, env);
  const bool = (x: Expr) => evaluateBool(x, env);
  switch (e.kind) {
    case 'literal':
    case 'bool':
      return e.value;
    case 'int':
      return evaluateAffine(e.value, affineEnvOf(env))!;
    case 'param': {
      const v = env.reals.get(e.name) ?? env.bools.get(e.name);
      if (v === undefined) throw new InternalError(`param ${e.name} used before it is bound`);
      return v;
    }
    case 'const': {
      const v = env.bools.get(e.name);
      if (v === undefined) throw new InternalError(`const ${e.name} used before it is bound`);
      return v;
    }
    case 'read':
      throw new InternalError('tensor read in a scalar expression');
    case 'neg':
      return -real(e.arg);
    case 'not':
      return !bool(e.arg);
    case 'arith':
      return applyArithmetic(e.op, real(e.lhs), real(e.rhs));
    case 'compare':
      return applyCompare(e.op, real(e.lhs), real(e.rhs));
    case 'icompare': {
      const env2 = affineEnvOf(env);
      return applyCompare(e.op, evaluateAffine(e.lhs, env2)!, evaluateAffine(e.rhs, env2)!);
    }
    case 'logical':
      return e.op === '&&' ? bool(e.lhs) && bool(e.rhs) : bool(e.lhs) || bool(e.rhs);
    case 'call':
      return applyFunction(e.fn, real(e.args[0]), e.args.length > 1 ? real(e.args[1]) : 0);
    case 'select':
      return bool(e.cond) ? evaluateScalar(e.then, env) : evaluateScalar(e.else, env);
    default:
      return assertNever(e, 'expression');
  }
}
