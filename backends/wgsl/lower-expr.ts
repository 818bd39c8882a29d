/**
 * Lowering of index expressions (`Affine`) and values (`Expr`) into KernelPlan statements.
 *
 * Every expression lowers to a `Lowered`: its value and a presence flag, `ok`, which is `null`
 * when the value is present by construction (ir.ts: "Absent values"). Sub-expressions are
 * evaluated eagerly and their flags combined, which matches the semantics because evaluation has
 * no side effects: an absent operand makes the result absent whatever its value, and a `select`
 * only asks for the flag of the operand it picks. Out-of-bounds reads load element 0 instead
 * (and are flagged absent), so no load ever leaves its buffer.
 */
import { assertNever, InternalError } from '../../compiler/diagnostics/diagnostic.ts';
import type {
  Affine,
  Atom,
  ElementwiseFn,
  Expr,
  IndexName,
  ParamType,
  Program,
  TensorName,
} from '../../compiler/ir.ts';
import { positiveLiteral, staticallyInBounds } from './analysis.ts';
import { mangle } from './names.ts';
import type { BinaryOp, KExpr, KStmt, PreludeFn, Storage } from './plan.ts';

export interface Lowered {
  readonly value: KExpr;
  /** The presence flag; `null` means always present. */
  readonly ok: KExpr | null;
}

/** What the expression lowering needs from the kernel being built. */
export interface KernelScope {
  readonly program: Program;
  readonly storages: ReadonlyMap<TensorName, Storage>;
  /** Tensors holding booleans; intermediates among them store 0 or 1 as f32. */
  readonly boolTensors: ReadonlySet<TensorName>;
  readonly shapes: ReadonlyMap<TensorName, readonly Affine[]>;
  readonly paramTypes: ReadonlyMap<string, ParamType>;
  /** The value of each index in scope (invocation coordinates and loop variables). */
  readonly indexValues: Map<IndexName, KExpr>;
  /** The tensor this kernel writes, and its WGSL variable. */
  readonly target: TensorName;
  readonly writes: string;
  /** Declares that the kernel reads `tensor`; returns its WGSL variable. */
  /** The variable of `tensor`'s buffer, or of its vec4 view (fused kernels only). */
  useBuffer(tensor: TensorName, view?: 'vec4'): string;
  useHelper(fn: PreludeFn): void;
  /** A fresh local name (`v7`). */
  fresh(prefix: string): string;
  /**
   * Fused kernels: the value of a read that is not a load from the tensor's buffer (a tensor
   * computed earlier in the same kernel, a running value held in registers), or null.
   */
  redirect?(tensor: TensorName, at: readonly Affine[], b: Block): Lowered | null;
}

// ── Small constructors ───────────────────────────────────────────────────────────────────

export const i32 = (value: number): KExpr => {
  if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31)
    throw new InternalError(`integer ${value} does not fit in i32`);
  return { kind: 'i32', value };
};
export const bin = (op: BinaryOp, lhs: KExpr, rhs: KExpr): KExpr => ({
  kind: 'binary',
  op,
  lhs,
  rhs,
});
export const ref = (name: string): KExpr => ({ kind: 'ref', name });
export const uniform = (field: string): KExpr => ({ kind: 'uniform', field });
export const not = (arg: KExpr): KExpr => ({ kind: 'unary', op: '!', arg });

/** `a && b` where `null` means "true". */
export function and(a: KExpr | null, b: KExpr | null): KExpr | null {
  if (a === null) return b;
  if (b === null) return a;
  return bin('&&', a, b);
}

/** The condition "present and true" of a lowered boolean (a filter). */
export function holds(l: Lowered): KExpr {
  return l.ok === null ? l.value : bin('&&', l.ok, l.value);
}

function isLeaf(e: KExpr): boolean {
  return (
    e.kind === 'ref' ||
    e.kind === 'uniform' ||
    e.kind === 'f32' ||
    e.kind === 'i32' ||
    e.kind === 'u32' ||
    e.kind === 'bool'
  );
}

/**
 * A list of statements being built, with access to the kernel's scope. `bind` shares a `let`
 * between equal expressions (common subexpressions such as a dimension or a repeated read):
 * a block sees the lets of its enclosing blocks, which always precede it in the output.
 */
export class Block {
  readonly stmts: KStmt[] = [];
  private readonly memo = new Map<string, KExpr>();
  constructor(
    readonly scope: KernelScope,
    private readonly parent: Block | null = null,
  ) {}

  child(): Block {
    return new Block(this.scope, this);
  }

  push(...stmts: KStmt[]): void {
    this.stmts.push(...stmts);
  }

  private lookup(key: string): KExpr | undefined {
    return this.memo.get(key) ?? this.parent?.lookup(key);
  }

  /** Binds a non-trivial expression to a fresh `let`, so it is evaluated once. */
  bind(value: KExpr, prefix = 'v'): KExpr {
    if (isLeaf(value)) return value;
    // Loads of a buffer this kernel writes, or of a workgroup or private array, may change
    // between two equal-looking reads.
    const key = JSON.stringify(value);
    const shareable =
      !key.includes(`"buffer":${JSON.stringify(this.scope.writes)}`) &&
      !key.includes('"mutable":true');
    const known = shareable ? this.lookup(key) : undefined;
    if (known) return known;
    const name = this.scope.fresh(prefix);
    this.stmts.push({ kind: 'let', name, value });
    if (shareable) this.memo.set(key, ref(name));
    return ref(name);
  }

  bindOk(ok: KExpr | null): KExpr | null {
    return ok === null ? null : this.bind(ok, 'ok');
  }

  call(fn: PreludeFn, ...args: KExpr[]): KExpr {
    this.scope.useHelper(fn);
    return { kind: 'call', fn, args };
  }
}

// ── Index expressions ────────────────────────────────────────────────────────────────────

/** An index expression as an i32, with its presence (an absent i32 read, a zero divisor). */
export function lowerAffine(a: Affine, b: Block): Lowered {
  let value: KExpr | null = null;
  let ok: KExpr | null = null;
  for (const t of a.terms) {
    const atom = lowerAtom(t.atom, b);
    ok = and(ok, atom.ok);
    const scaled = t.coeff === 1 ? atom.value : bin('*', i32(t.coeff), atom.value);
    value = value === null ? scaled : bin('+', value, scaled);
  }
  if (value === null) return { value: i32(a.constant), ok: null };
  if (a.constant !== 0) value = bin(a.constant > 0 ? '+' : '-', value, i32(Math.abs(a.constant)));
  return { value: b.bind(value, 'x'), ok: b.bindOk(ok) };
}

function lowerAtom(atom: Atom, b: Block): Lowered {
  switch (atom.kind) {
    case 'index': {
      const v = b.scope.indexValues.get(atom.name);
      if (!v) throw new InternalError(`index ${atom.name} is not in scope`);
      return { value: v, ok: null };
    }
    case 'symbol':
      return { value: uniform(mangle('symbol', atom.name)), ok: null };
    case 'floordiv':
    case 'mod': {
      const num = lowerAffine(atom.num, b);
      const den = lowerAffine(atom.den, b);
      const ok = and(
        and(num.ok, den.ok),
        positiveLiteral(atom.den) ? null : bin('>', den.value, i32(0)),
      );
      const fn = atom.kind === 'floordiv' ? 'attn_floor_div' : 'attn_floor_mod';
      return { value: b.call(fn, num.value, den.value), ok };
    }
    case 'mul': {
      const factors = atom.factors.map((f) => lowerAffine(f, b));
      return {
        value: factors.map((f) => f.value).reduce((x, y) => bin('*', x, y)),
        ok: factors.map((f) => f.ok).reduce(and, null),
      };
    }
    case 'min':
    case 'max': {
      const args = atom.args.map((x) => lowerAffine(x, b));
      return {
        value: args
          .map((x) => x.value)
          .reduce((x, y) => ({ kind: 'call', fn: atom.kind, args: [x, y] })),
        ok: args.map((x) => x.ok).reduce(and, null),
      };
    }
    case 'read': {
      // An i32 input loads as i32; a computed integer tensor (a `topk` selection) is stored as
      // f32, exact for integers below 2^24.
      const r = readElement(atom.tensor, atom.at, b);
      if (b.scope.storages.get(atom.tensor) === 'i32') return r;
      return { value: b.bind({ kind: 'convert', to: 'i32', arg: r.value }, 'x'), ok: r.ok };
    }
    default:
      return assertNever(atom, 'atom');
  }
}

/** A dimension size (an extent plus a constant) as an i32. */
export function lowerDim(dim: Affine, b: Block): KExpr {
  return lowerAffine(dim, b).value;
}

/** Row-major linear address of `subs` in a tensor of shape `dims`. */
export function linearAddress(subs: readonly KExpr[], dims: readonly KExpr[]): KExpr {
  if (subs.length === 0) return i32(0);
  return subs.slice(1).reduce((addr, s, k) => bin('+', bin('*', addr, dims[k + 1]), s), subs[0]);
}

// ── Tensor reads ─────────────────────────────────────────────────────────────────────────

/**
 * One element of `tensor`: an f32 for real tensors, an i32 for i32 tensors, a bool for bool
 * tensors. Absent outside the tensor and where an f32-absent buffer holds the marker.
 */
export function readElement(tensor: TensorName, at: readonly Affine[], b: Block): Lowered {
  const redirected = b.scope.redirect?.(tensor, at, b);
  if (redirected) return redirected;
  const storage = b.scope.storages.get(tensor);
  if (!storage) throw new InternalError(`unknown tensor ${tensor}`);
  const variable = b.scope.useBuffer(tensor);
  const { addr, ok } = elementAddress(tensor, at, b);
  const asBool = (x: KExpr) =>
    b.scope.boolTensors.has(tensor) ? b.bind(bin('!=', x, { kind: 'f32', value: 0 })) : x;
  switch (storage) {
    case 'f32':
      return { value: asBool(b.bind({ kind: 'load', buffer: variable, index: addr })), ok };
    case 'i32':
      return { value: b.bind({ kind: 'load', buffer: variable, index: addr }), ok };
    case 'f16':
      return {
        value: b.bind({
          kind: 'convert',
          to: 'f32',
          arg: { kind: 'load', buffer: variable, index: addr },
        }),
        ok,
      };
    case 'f32-absent': {
      const bits = b.bind({ kind: 'load', buffer: variable, index: addr }, 'w');
      const present = bin('!=', bits, { kind: 'absent' });
      return {
        value: asBool(b.bind({ kind: 'bitcast', to: 'f32', arg: bits })),
        ok: b.bindOk(and(ok, present)),
      };
    }
    case 'bool8': {
      const word = { kind: 'load', buffer: variable, index: bin('/', addr, i32(4)) } as const;
      const shift = bin(
        '*',
        { kind: 'convert', to: 'u32', arg: bin('%', addr, i32(4)) },
        { kind: 'u32', value: 8 },
      );
      const byte = bin('&', bin('>>', word, shift), { kind: 'u32', value: 0xff });
      return { value: b.bind(bin('!=', byte, { kind: 'u32', value: 0 })), ok };
    }
    default:
      return assertNever(storage, 'storage');
  }
}

/**
 * Elements `at .. at + 3` along the last axis of an f32 tensor, as one vec4 loaded through the
 * buffer's vec4 view: the caller guarantees alignment (the innermost extent and the last
 * subscript are multiples of 4) and that the four are present or absent together.
 */
export function readVec4(tensor: TensorName, at: readonly Affine[], b: Block): Lowered {
  if (b.scope.storages.get(tensor) !== 'f32' || b.scope.boolTensors.has(tensor))
    throw new InternalError(`${tensor} has no vec4 view`);
  const variable = b.scope.useBuffer(tensor, 'vec4');
  const { addr, ok } = elementAddress(tensor, at, b);
  return { value: b.bind({ kind: 'load', buffer: variable, index: bin('/', addr, i32(4)) }), ok };
}

/** The linear address of a read (0 where a subscript is out of bounds) and its presence. */
function elementAddress(
  tensor: TensorName,
  at: readonly Affine[],
  b: Block,
): { addr: KExpr; ok: KExpr | null } {
  const shape = b.scope.shapes.get(tensor);
  if (!shape) throw new InternalError(`unknown tensor ${tensor}`);
  if (shape.length !== at.length)
    throw new InternalError(`${tensor} read with ${at.length} subscripts`);
  const dims = shape.map((d) => lowerDim(d, b));
  let ok: KExpr | null = null;
  const subs = at.map((sub, axis) => {
    const s = lowerAffine(sub, b);
    ok = and(ok, s.ok);
    if (!staticallyInBounds(sub, shape[axis])) {
      ok = and(ok, bin('&&', bin('>=', s.value, i32(0)), bin('<', s.value, dims[axis])));
    }
    return s.value;
  });
  ok = b.bindOk(ok);
  let addr = b.bind(linearAddress(subs, dims), 'a');
  if (ok !== null) addr = b.bind({ kind: 'select', cond: ok, ifTrue: addr, ifFalse: i32(0) }, 'a');
  return { addr, ok };
}

// ── Values ───────────────────────────────────────────────────────────────────────────────

/** A real constant; infinities and NaN come from prelude functions (no infinities in source). */
export function realConstant(value: number, b: Block): KExpr {
  const f = Math.fround(value);
  if (Number.isNaN(f)) return b.call('attn_nan');
  if (f === Infinity) return b.call('attn_pos_inf');
  if (f === -Infinity) return b.call('attn_neg_inf');
  return { kind: 'f32', value: f };
}

const BUILTIN_UNARY: Partial<
  Record<ElementwiseFn, 'exp' | 'log' | 'sqrt' | 'inverseSqrt' | 'abs'>
> = {
  exp: 'exp',
  log: 'log',
  sqrt: 'sqrt',
  rsqrt: 'inverseSqrt',
  abs: 'abs',
};

const PRELUDE_CALL: Partial<Record<ElementwiseFn, PreludeFn>> = {
  tanh: 'attn_tanh',
  sigmoid: 'attn_sigmoid',
  softplus: 'attn_softplus',
  sign: 'attn_sign',
  min: 'attn_min',
  max: 'attn_max',
  pow: 'attn_pow',
};

function lowerCall(fn: ElementwiseFn, args: readonly KExpr[], b: Block): KExpr {
  const builtin = BUILTIN_UNARY[fn];
  if (builtin) return { kind: 'call', fn: builtin, args };
  if (fn === 'relu') return b.call('attn_max', args[0], { kind: 'f32', value: 0 });
  const helper = PRELUDE_CALL[fn];
  if (!helper) throw new InternalError(`no lowering for function ${fn}`);
  return b.call(helper, ...args);
}

/** A value expression: an f32, or a bool for boolean expressions. */
export function lowerExpr(e: Expr, b: Block): Lowered {
  const sub = (x: Expr) => lowerExpr(x, b);
  const done = (value: KExpr, ok: KExpr | null): Lowered => ({
    value: b.bind(value),
    ok: b.bindOk(ok),
  });
  switch (e.kind) {
    case 'literal':
      return { value: realConstant(e.value, b), ok: null };
    case 'bool':
      return { value: { kind: 'bool', value: e.value }, ok: null };
    case 'int': {
      const v = lowerAffine(e.value, b);
      return done({ kind: 'convert', to: 'f32', arg: v.value }, v.ok);
    }
    case 'param': {
      const type = b.scope.paramTypes.get(e.name);
      if (type === undefined) throw new InternalError(`unknown param ${e.name}`);
      const field = uniform(mangle(type === 'i32' ? 'symbol' : 'param', e.name));
      if (type === 'bool') return { value: bin('!=', field, { kind: 'u32', value: 0 }), ok: null };
      return {
        value: type === 'i32' ? { kind: 'convert', to: 'f32', arg: field } : field,
        ok: null,
      };
    }
    case 'const':
      return {
        value: bin('!=', uniform(mangle('const', e.name)), { kind: 'u32', value: 0 }),
        ok: null,
      };
    case 'read':
      return readElement(e.tensor, e.at, b);
    case 'neg':
    case 'not': {
      const x = sub(e.arg);
      return done({ kind: 'unary', op: e.kind === 'neg' ? '-' : '!', arg: x.value }, x.ok);
    }
    case 'arith':
    case 'compare':
    case 'logical': {
      const l = sub(e.lhs);
      const r = sub(e.rhs);
      return done(bin(e.op, l.value, r.value), and(l.ok, r.ok));
    }
    case 'icompare': {
      const l = lowerAffine(e.lhs, b);
      const r = lowerAffine(e.rhs, b);
      return done(bin(e.op, l.value, r.value), and(l.ok, r.ok));
    }
    case 'call': {
      const args = e.args.map(sub);
      return done(
        lowerCall(
          e.fn,
          args.map((a) => a.value),
          b,
        ),
        args.map((a) => a.ok).reduce(and, null),
      );
    }
    case 'select': {
      const c = sub(e.cond);
      const t = sub(e.then);
      const f = sub(e.else);
      const value: KExpr = { kind: 'select', cond: c.value, ifTrue: t.value, ifFalse: f.value };
      const picked: KExpr | null =
        t.ok === null && f.ok === null
          ? null
          : {
              kind: 'select',
              cond: c.value,
              ifTrue: t.ok ?? { kind: 'bool', value: true },
              ifFalse: f.ok ?? { kind: 'bool', value: true },
            };
      return done(value, and(c.ok, picked));
    }
    default:
      return assertNever(e, 'expression');
  }
}
