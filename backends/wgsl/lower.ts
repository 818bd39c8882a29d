/**
 * Scheduled IR → KernelPlan (unfused lowering).
 *
 * One compute kernel per statement, in body order (`lower-stmt.ts` builds each body); every
 * tensor has its own storage buffer, and all kernels share one uniform buffer holding the
 * run-time scalars (extents, consts and params; `planUniforms`).
 */
import {
  type Affine,
  type IndexName,
  type ParamType,
  type Program,
  type Statement,
  type TensorName,
} from '../../compiler/ir.ts';
import { tensorShapes } from '../../compiler/ir-walk.ts';
import { planTensors } from './analysis.ts';
import { Block, type KernelScope } from './lower-expr.ts';
import {
  lowerCooperativeRecurrence,
  lowerEquation,
  lowerRecurrence,
  readsOtherPoints,
} from './lower-stmt.ts';
import { escapeName, mangle } from './names.ts';
import { closeHelpers } from './prelude.ts';
import {
  WORKGROUP_SIZE,
  type BufferBinding,
  type BufferPlan,
  type Dispatch,
  type KExpr,
  type KernelPlan,
  type PreludeFn,
  type ProgramPlan,
  type Storage,
  type UniformField,
  type UniformLayout,
} from './plan.ts';
import { describeStatement } from './describe.ts';

export interface LowerOptions {
  /** Store f16 inputs as f16 (needs the `shader-f16` feature); otherwise the runtime widens them. */
  readonly f16?: boolean;
}

export function lowerProgram(program: Program, options: LowerOptions = {}): ProgramPlan {
  const shapes = tensorShapes(program);
  const { storages, boolTensors } = planTensors(program, shapes, options.f16 ?? false);
  const facts: ProgramFacts = {
    program,
    shapes,
    storages,
    boolTensors,
    paramTypes: new Map(program.params.map((p) => [p.name, p.type])),
  };
  const kernels = program.body.map((s, i) => lowerStatement(facts, s, i));
  return {
    uniforms: planUniforms(program),
    buffers: planBuffers(program, shapes, storages),
    kernels,
  };
}

// ── Program-level layout ─────────────────────────────────────────────────────────────────

/** Every run-time scalar, 4 bytes each: integer symbols, then real params, then booleans. */
export function planUniforms(program: Program): UniformLayout {
  const sources: UniformField['source'][] = [];
  const symbols = new Set<string>();
  const addSymbol = (name: string) => {
    if (!symbols.has(name)) sources.push({ kind: 'symbol', name });
    symbols.add(name);
  };
  for (const index of program.indices) addSymbol(index.extent);
  for (const c of program.consts) if (c.type === 'i32') addSymbol(c.name);
  for (const p of program.params) if (p.type === 'i32') addSymbol(p.name);
  for (const p of program.params)
    if (p.type === 'f32') sources.push({ kind: 'real', name: p.name });
  for (const p of program.params)
    if (p.type === 'bool') sources.push({ kind: 'bool', name: p.name });
  for (const c of program.consts)
    if (c.type === 'bool') sources.push({ kind: 'bool', name: c.name });
  const fields = sources.map((source, k): UniformField => {
    const isConst = source.kind === 'bool' && program.consts.some((c) => c.name === source.name);
    const field = mangle(
      source.kind === 'symbol' ? 'symbol' : isConst ? 'const' : 'param',
      source.name,
    );
    const type = source.kind === 'symbol' ? 'i32' : source.kind === 'real' ? 'f32' : 'u32';
    return { field, type, offset: 4 * k, source };
  });
  return { fields, size: Math.max(16, Math.ceil((4 * fields.length) / 16) * 16) };
}

function planBuffers(
  program: Program,
  shapes: ReadonlyMap<TensorName, readonly Affine[]>,
  storages: ReadonlyMap<TensorName, Storage>,
): BufferPlan[] {
  const out: BufferPlan[] = program.inputs.map((input) => ({
    tensor: input.name,
    role: 'input',
    storage: storages.get(input.name)!,
    dtype: input.dtype,
    shape: shapes.get(input.name)!,
  }));
  for (const s of program.body) {
    if (out.some((b) => b.tensor === s.target)) continue;
    out.push({
      tensor: s.target,
      role: program.outputs.includes(s.target) ? 'output' : 'intermediate',
      storage: storages.get(s.target)!,
      dtype: 'f32',
      shape: shapes.get(s.target)!,
    });
  }
  return out;
}

// ── Kernel scaffolding ───────────────────────────────────────────────────────────────────

interface ProgramFacts {
  readonly program: Program;
  readonly shapes: ReadonlyMap<TensorName, readonly Affine[]>;
  readonly storages: ReadonlyMap<TensorName, Storage>;
  readonly boolTensors: ReadonlySet<TensorName>;
  readonly paramTypes: ReadonlyMap<string, ParamType>;
}

class KernelContext implements KernelScope {
  readonly program: Program;
  readonly shapes: ReadonlyMap<TensorName, readonly Affine[]>;
  readonly storages: ReadonlyMap<TensorName, Storage>;
  readonly boolTensors: ReadonlySet<TensorName>;
  readonly paramTypes: ReadonlyMap<string, ParamType>;
  readonly indexValues = new Map<IndexName, KExpr>();
  readonly reads: TensorName[] = [];
  readonly helpers = new Set<PreludeFn>();
  readonly writes: string;
  private counter = 0;

  constructor(
    facts: ProgramFacts,
    readonly target: TensorName,
  ) {
    this.program = facts.program;
    this.shapes = facts.shapes;
    this.storages = facts.storages;
    this.boolTensors = facts.boolTensors;
    this.paramTypes = facts.paramTypes;
    this.writes = mangle('tensor', target);
  }

  useBuffer(tensor: TensorName): string {
    if (tensor !== this.target && !this.reads.includes(tensor)) this.reads.push(tensor);
    return mangle('tensor', tensor);
  }

  useHelper(fn: PreludeFn): void {
    this.helpers.add(fn);
  }

  fresh(prefix: string): string {
    return `${prefix}${++this.counter}`;
  }

  bindings(): BufferBinding[] {
    const entry = (
      tensor: TensorName,
      access: BufferBinding['access'],
      k: number,
    ): BufferBinding => ({
      binding: k + 1,
      tensor,
      variable: mangle('tensor', tensor),
      storage: this.storages.get(tensor)!,
      access,
    });
    return [
      ...this.reads.map((t, k) => entry(t, 'read', k)),
      entry(this.target, 'read_write', this.reads.length),
    ];
  }
}

function lowerStatement(facts: ProgramFacts, s: Statement, index: number): KernelPlan {
  const kc = new KernelContext(facts, s.target);
  const b = new Block(kc);
  const first = facts.program.body.findIndex((x) => x.target === s.target) === index;
  let dispatch: Dispatch;
  if (s.kind === 'equation') dispatch = lowerEquation(s, b, first);
  else if (readsOtherPoints(s)) dispatch = lowerCooperativeRecurrence(s, b);
  else dispatch = lowerRecurrence(s, b);
  const bindings = kc.bindings();
  return {
    name: `k${index}_${escapeName(s.target)}`,
    entryPoint: 'main',
    statement: index,
    target: s.target,
    workgroupSize: WORKGROUP_SIZE,
    dispatch,
    bindings,
    f16: bindings.some((x) => x.storage === 'f16'),
    helpers: closeHelpers(kc.helpers),
    summary: describeStatement(s),
    body: b.stmts,
  };
}
