/**
 * The kernel scope every kernel is lowered in (`KernelContext`: one per statement in `lower.ts`,
 * one per fused kernel in `lower-fused.ts` and `lower-merge.ts`, which also answer some reads
 * without a buffer through `redirect`), and the few building blocks every fused kernel uses (a
 * row's coordinates, storing the output).
 *
 * Names the generator declares carry an underscore after two or more letters (`ra_0`, `wg_k`)
 * or are plain words (`tile`, `kj`), so they never collide with mangled user names (`t_Q`,
 * `i_p`: one letter, then `_`) nor with `Block.fresh` names (`v12`, `ok3`).
 */
import * as A from '../../compiler/affine.ts';
import { InternalError } from '../../compiler/diagnostics/diagnostic.ts';
import {
  extentName,
  type Affine,
  type IndexName,
  type ParamType,
  type Program,
  type TensorName,
} from '../../compiler/ir.ts';
import {
  Block,
  bin,
  linearAddress,
  lowerDim,
  uniform,
  type KernelScope,
  type Lowered,
} from './lower-expr.ts';
import { escapeName, mangle } from './names.ts';
import type { BufferBinding, KExpr, KStmt, PreludeFn, Storage } from './plan.ts';

export interface TensorEnv {
  readonly program: Program;
  readonly shapes: ReadonlyMap<TensorName, readonly Affine[]>;
  readonly storages: ReadonlyMap<TensorName, Storage>;
  readonly boolTensors: ReadonlySet<TensorName>;
  readonly paramTypes: ReadonlyMap<string, ParamType>;
}

/** Names of a fused group's run-time uniform and split-KV partial buffers. */
export const fusedNames = (output: TensorName) => ({
  splits: `run_splits_${escapeName(output)}`,
  /** The split count, as the runtime names it (not an attn name, so it cannot collide). */
  splitSymbol: `${output}#splits`,
  /** The split count when the run splits, else 0: partial buffers are sized with it. */
  partsSymbol: `${output}#parts`,
  acc: `${output}#acc` as TensorName,
  ml: `${output}#ml` as TensorName,
});

export type Redirect = (at: readonly Affine[], b: Block) => Lowered;

export class KernelContext implements KernelScope {
  readonly program: Program;
  readonly shapes: ReadonlyMap<TensorName, readonly Affine[]>;
  readonly storages: ReadonlyMap<TensorName, Storage>;
  readonly boolTensors: ReadonlySet<TensorName>;
  readonly paramTypes: ReadonlyMap<string, ParamType>;
  readonly indexValues = new Map<IndexName, KExpr>();
  readonly reads: TensorName[] = [];
  /** Tensors also read through their vec4 view (bound after `reads`). */
  readonly vec4Reads: TensorName[] = [];
  readonly helpers = new Set<PreludeFn>();
  readonly writes: string;
  /** Reads answered without a load: tensors held in registers or workgroup memory. */
  readonly redirects = new Map<TensorName, Redirect>();
  private counter = 0;

  constructor(
    env: TensorEnv,
    readonly target: TensorName,
  ) {
    this.program = env.program;
    this.shapes = env.shapes;
    this.storages = env.storages;
    this.boolTensors = env.boolTensors;
    this.paramTypes = env.paramTypes;
    this.writes = mangle('tensor', target);
  }

  useBuffer(tensor: TensorName, view?: 'vec4'): string {
    if (view === 'vec4') {
      if (!this.vec4Reads.includes(tensor)) this.vec4Reads.push(tensor);
      return vec4View(tensor);
    }
    if (tensor !== this.target && !this.reads.includes(tensor)) this.reads.push(tensor);
    return mangle('tensor', tensor);
  }

  useHelper(fn: PreludeFn): void {
    this.helpers.add(fn);
  }

  fresh(prefix: string): string {
    return `${prefix}${++this.counter}`;
  }

  redirect(tensor: TensorName, at: readonly Affine[], b: Block): Lowered | null {
    const r = this.redirects.get(tensor);
    return r ? r(at, b) : null;
  }

  /** Bindings: the buffers read, then the output, then `extra` (read_write), numbered from 1. */
  bindings(extra: readonly { tensor: TensorName; storage: Storage }[] = []): BufferBinding[] {
    const list: BufferBinding[] = this.reads.map((t, k) => ({
      binding: k + 1,
      tensor: t,
      variable: mangle('tensor', t),
      storage: this.storages.get(t)!,
      access: 'read',
    }));
    for (const t of this.vec4Reads)
      list.push({
        binding: list.length + 1,
        tensor: t,
        variable: vec4View(t),
        storage: this.storages.get(t)!,
        access: 'read',
        view: 'vec4',
      });
    for (const x of [{ tensor: this.target, storage: this.storages.get(this.target)! }, ...extra]) {
      list.push({
        binding: list.length + 1,
        tensor: x.tensor,
        variable: mangle('tensor', x.tensor),
        storage: x.storage,
        access: 'read_write',
      });
    }
    return list;
  }
}

/**
 * The vec4 view of a tensor's buffer: `t_K_v4`. No tensor's own name ends so (`escapeName`
 * writes a user's `_` as `__`, and its escapes as `_x<hex>_`).
 */
const vec4View = (tensor: TensorName) => `${mangle('tensor', tensor)}_v4`;

export const extentOf = (index: IndexName): KExpr => uniform(mangle('symbol', extentName(index)));

/** `let name = value;` pushed as is (never shared), for snapshots of mutable values. */
export function letFresh(b: Block, prefix: string, value: KExpr): KExpr {
  const name = b.scope.fresh(prefix);
  b.push({ kind: 'let', name, value });
  return { kind: 'ref', name };
}

/** Binds `indices` (row-major, last fastest) from `linear`, as lets named `prefix` + index. */
export function delinearize(
  b: Block,
  indices: readonly IndexName[],
  linear: KExpr,
  prefix: string,
): KExpr[] {
  const out: KExpr[] = new Array(indices.length);
  let rest = linear;
  for (let k = indices.length - 1; k >= 0; k--) {
    const v = k === 0 ? rest : bin('%', rest, extentOf(indices[k]));
    out[k] = letFresh(b, prefix, v);
    b.scope.indexValues.set(indices[k], out[k]);
    if (k > 0) rest = letFresh(b, prefix, bin('/', rest, extentOf(indices[k])));
  }
  return out;
}

/** Row-major linear number of the point whose indices are bound in scope. */
export function linearOf(b: Block, indices: readonly IndexName[]): KExpr {
  const values = indices.map((i) => {
    const v = b.scope.indexValues.get(i);
    if (!v) throw new InternalError(`index ${i} is not bound`);
    return v;
  });
  return linearAddress(values, indices.map(extentOf));
}

/** Stores a present value into the output at the point bound in scope (0 or 1 for booleans). */
export function storeOutput(
  b: Block,
  v: Lowered,
  output: TensorName,
  indices: readonly IndexName[],
): void {
  const shape = b.scope.shapes.get(output)!;
  const at = indices.map((i) => A.index(i));
  const addr = b.bind(
    linearAddress(
      at.map((a) => b.scope.indexValues.get(A.asIndex(a)!)!),
      shape.map((d) => lowerDim(d, b)),
    ),
    'at',
  );
  const value = b.scope.boolTensors.has(output)
    ? b.bind({
        kind: 'select',
        cond: v.value,
        ifTrue: { kind: 'f32', value: 1 },
        ifFalse: { kind: 'f32', value: 0 },
      })
    : v.value;
  const buffer = mangle('tensor', output);
  const store = (x: KExpr): KStmt => ({ kind: 'store', buffer, index: addr, value: x });
  if (b.scope.storages.get(output) === 'f32') {
    if (v.ok !== null)
      b.push({
        kind: 'if',
        cond: v.ok,
        then: [store(value)],
        else: [store({ kind: 'f32', value: 0 })],
      });
    else b.push(store(value));
    return;
  }
  const encoded = b.call('attn_encode', value);
  b.push(
    store(
      v.ok === null
        ? encoded
        : { kind: 'select', cond: v.ok, ifTrue: encoded, ifFalse: { kind: 'absent' } },
    ),
  );
}

/** A real value with its presence folded to 0 where absent (the staged tiles' convention). */
export function zeroFilled(v: Lowered): KExpr {
  return v.ok === null
    ? v.value
    : { kind: 'select', cond: v.ok, ifTrue: v.value, ifFalse: { kind: 'f32', value: 0 } };
}
