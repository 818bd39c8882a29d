/**
 * A deliberately naive evaluator of IR programs, written straight from the semantics in the
 * header of `compiler/ir.ts`: one recursive call per expression node per point, `undefined` for
 * absent, index expressions through `evaluateAffine`. It shares no code with
 * `backends/cpu/` (which generates loop nests), so tests can run random programs through both.
 * It is slow; use it on small extents only.
 *
 * It follows the interpreter's reading of the two points `ir.ts` leaves open (see
 * `backends/cpu/absent.ts`): a reduction whose filter rejects every reduced point is absent,
 * and `&&` / `||` are strict in absence like every other element-wise operator.
 */
import { bind, type Binding } from '../../compiler/bind.ts';
import { evaluateAffine, type AffineEnv } from '../../compiler/affine.ts';
import type { Expr, IndexName, Program, Statement, TensorName } from '../../compiler/ir.ts';
import { applyArithmetic, applyCompare, applyFunction } from '../../compiler/scalar.ts';
import { elementAt, type HostTensor } from '../../compiler/tensor.ts';

type Value = number | boolean | undefined;

export interface NaiveTensor {
  readonly shape: readonly number[];
  /** Row-major; `undefined` is absent. Booleans are kept as booleans. */
  readonly values: Value[];
}

export function evaluateNaive(
  program: Program,
  inputs: Readonly<Record<string, HostTensor>>,
  params: Readonly<Record<string, number | boolean>> = {},
): Map<string, NaiveTensor> {
  const sig = Object.fromEntries(
    Object.entries(inputs).map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape }]),
  );
  const bound = bind(program, sig, params);
  if (!bound.ok) throw new Error(bound.diagnostics.map((d) => d.message).join('; '));
  const binding = bound.binding;
  const tensors = new Map<string, NaiveTensor>();
  for (const decl of program.inputs) {
    const t = inputs[decl.name];
    const values = Array.from({ length: t.data.length }, (_, i): Value =>
      decl.dtype === 'bool' ? elementAt(t, i) !== 0 : elementAt(t, i),
    );
    tensors.set(decl.name, { shape: t.shape, values });
  }
  const extent = (i: IndexName) =>
    binding.symbols.get(program.indices.find((d) => d.name === i)!.extent)!;
  for (const s of program.body) runStatement(s, binding, tensors, extent);
  return tensors;
}

function runStatement(
  s: Statement,
  binding: Binding,
  tensors: Map<string, NaiveTensor>,
  extent: (i: IndexName) => number,
): void {
  const shape = binding.shapes.get(s.target)!;
  let target = tensors.get(s.target);
  if (!target) {
    target = { shape, values: new Array<Value>(shape.reduce((a, b) => a * b, 1)).fill(undefined) };
    tensors.set(s.target, target);
  }
  const out = target;
  const eval_ = (e: Expr, env: Map<IndexName, number>) => evalExpr(e, env, binding, tensors);
  const offset = (at: number[]) => at.reduce((acc, v, axis) => acc * shape[axis] + v, 0);
  /** The value at one left-hand point (`env` binds its indices), or `undefined`. */
  const point = (env: Map<IndexName, number>): Value => {
    const passes = (e: Map<IndexName, number>) => s.filter === null || eval_(s.filter, e) === true;
    if (!s.reduce) return passes(env) ? eval_(s.body, env) : undefined;
    const op = s.reduce.op;
    let acc = op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity;
    let seen = false;
    forEachPoint(s.reduce.over, extent, env, (e) => {
      if (!passes(e)) return;
      seen = true;
      const v = eval_(s.body, e);
      if (v === undefined) return;
      acc =
        op === 'sum'
          ? acc + (v as number)
          : op === 'max'
            ? Math.max(acc, v as number)
            : Math.min(acc, v as number);
    });
    return seen ? acc : undefined;
  };
  const lhs = [...new Set(s.indices)];
  if (s.kind === 'equation') {
    forEachPoint(lhs, extent, new Map(), (env) => {
      const v = point(env);
      if (v !== undefined) out.values[offset(s.indices.map((i) => env.get(i)!))] = v;
    });
    return;
  }
  const step = s.indices[s.axis];
  const others = lhs.filter((i) => i !== step);
  const at = (env: Map<IndexName, number>, k: number) =>
    offset(s.indices.map((i, axis) => (axis === s.axis ? k : env.get(i)!)));
  forEachPoint(others, extent, new Map(), (env) => {
    const v = eval_(s.init, env);
    if (v !== undefined) out.values[at(env, 0)] = v;
  });
  for (let k = 0; k < extent(step); k++) {
    forEachPoint(others, extent, new Map([[step, k]]), (env) => {
      const v = point(env);
      out.values[at(env, k + 1)] = v !== undefined ? v : out.values[at(env, k)];
    });
  }
}

/** Calls `f` for every assignment of `indices` (last fastest), on top of `base`. */
function forEachPoint(
  indices: readonly IndexName[],
  extent: (i: IndexName) => number,
  base: Map<IndexName, number>,
  f: (env: Map<IndexName, number>) => void,
): void {
  const go = (k: number, env: Map<IndexName, number>) => {
    if (k === indices.length) return f(env);
    for (let v = 0; v < extent(indices[k]); v++) go(k + 1, new Map(env).set(indices[k], v));
  };
  go(0, base);
}

function evalExpr(
  e: Expr,
  env: Map<IndexName, number>,
  binding: Binding,
  tensors: Map<string, NaiveTensor>,
): Value {
  const ev = (x: Expr) => evalExpr(x, env, binding, tensors);
  const affineEnv: AffineEnv = {
    index: (name) => env.get(name)!,
    symbol: (name) => binding.symbols.get(name)!,
    read: (tensor, at) => element(tensors, tensor, at) as number | undefined,
  };
  const aff = (a: Parameters<typeof evaluateAffine>[0]) => evaluateAffine(a, affineEnv);
  switch (e.kind) {
    case 'literal':
    case 'bool':
      return e.value;
    case 'int':
      return aff(e.value);
    case 'param':
      return binding.reals.get(e.name) ?? binding.bools.get(e.name);
    case 'const':
      return binding.bools.get(e.name);
    case 'read': {
      const at = e.at.map(aff);
      return at.some((v) => v === undefined)
        ? undefined
        : element(tensors, e.tensor, at as number[]);
    }
    case 'select': {
      const c = ev(e.cond);
      return c === undefined ? undefined : c ? ev(e.then) : ev(e.else);
    }
    case 'icompare': {
      const [a, b] = [aff(e.lhs), aff(e.rhs)];
      return a === undefined || b === undefined ? undefined : applyCompare(e.op, a, b);
    }
    default: {
      const args = (
        e.kind === 'neg' || e.kind === 'not' ? [e.arg] : e.kind === 'call' ? e.args : [e.lhs, e.rhs]
      ).map(ev);
      if (args.some((v) => v === undefined)) return undefined;
      const [a, b] = args as [number & boolean, number & boolean];
      switch (e.kind) {
        case 'neg':
          return -a;
        case 'not':
          return !a;
        case 'arith':
          return applyArithmetic(e.op, a, b);
        case 'compare':
          return applyCompare(e.op, a, b);
        case 'logical':
          return e.op === '&&' ? a && b : a || b;
        case 'call':
          return applyFunction(e.fn, a, b);
      }
    }
  }
}

function element(
  tensors: Map<string, NaiveTensor>,
  name: TensorName,
  at: readonly number[],
): Value {
  const t = tensors.get(name)!;
  let offset = 0;
  for (let axis = 0; axis < at.length; axis++) {
    if (at[axis] < 0 || at[axis] >= t.shape[axis]) return undefined;
    offset = offset * t.shape[axis] + at[axis];
  }
  return t.values[offset];
}
