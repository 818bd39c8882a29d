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
  type Program,
  type Statement,
  type TensorName,
} from '../../compiler/ir.ts';
import { tensorShapes } from '../../compiler/ir-walk.ts';
import { planTensors } from './analysis.ts';
import { Block } from './lower-expr.ts';
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
  type BufferPlan,
  type Dispatch,
  type KernelPlan,
  type ProgramPlan,
  type Storage,
  type UniformField,
  type UniformLayout,
} from './plan.ts';
import { describeStatement } from './describe.ts';
import { InternalError } from '../../compiler/diagnostics/diagnostic.ts';
import * as affine from '../../compiler/affine.ts';
import { extentName } from '../../compiler/ir.ts';
import { DEFAULT_LIMITS } from '../../compiler/passes/pass.ts';
import { fusedGroups } from '../../compiler/passes/fused-group.ts';
import { planFused, type FusedStatic } from './fused-plan.ts';
import { chooseSpec, type FusedSpec } from './fused-spec.ts';
import { fusedNames, KernelContext, type TensorEnv } from './fused-scope.ts';
import { lowerFusedKernel } from './lower-fused.ts';
import { lowerMergeKernel } from './lower-merge.ts';
import type { FusedLowering } from './plan.ts';

export interface LowerOptions {
  /** Store f16 inputs as f16 (needs the `shader-f16` feature); otherwise the runtime widens them. */
  readonly f16?: boolean;
}

export function lowerProgram(program: Program, options: LowerOptions = {}): ProgramPlan {
  const facts = programFacts(program, options.f16 ?? false);
  const { groups, broken } = fusedGroups(program);
  const notes = broken.map((x) => `\`fuse ${x.output}\` runs unfused: ${x.reason}`);
  const statics: FusedStatic[] = [];
  for (const g of groups) {
    const p = planFused(program, g);
    if (typeof p === 'string') notes.push(`\`fuse ${g.output.target}\` runs unfused: ${p}`);
    else statics.push(p);
  }
  const owner = new Map<Statement, FusedStatic>();
  for (const fs of statics)
    for (const s of fs.group.statements) if (!fs.materialized.includes(s.target)) owner.set(s, fs);

  const kernels: KernelPlan[] = [];
  const fused: FusedLowering[] = [];
  const fallbacks = new Map<FusedStatic, KernelPlan[]>(statics.map((fs) => [fs, []]));
  program.body.forEach((s, i) => {
    const fs = owner.get(s);
    if (!fs) {
      kernels.push(lowerStatement(facts, s, i));
      return;
    }
    fallbacks
      .get(fs)!
      .push({ ...lowerStatement(facts, s, i), fused: { output: fs.output, role: 'fallback' } });
    if (s !== fs.group.output) return;
    const spec = referenceSpec(fs);
    const attention = kernels.length;
    kernels.push({
      ...lowerFusedKernel(facts, fs, spec, `k${i}_${escapeName(s.target)}_fused`, i),
      dispatch: { kind: 'grid', invocations: referenceInvocations(fs, spec) },
    });
    let merge: number | null = null;
    if (fs.split) {
      merge = kernels.length;
      kernels.push(lowerMergeKernel(facts, fs, `k${i}_${escapeName(s.target)}_merge`, i));
    }
    fused.push({ static: fs, attention, merge, fallback: fallbacks.get(fs)!, fallbackBuffers: [] });
  });
  const buffers = planBuffers(program, facts.shapes, facts.storages);
  const internal = new Set(
    statics.flatMap((fs) => fs.internal.filter((t) => !fs.materialized.includes(t))),
  );
  const kept = buffers.filter((b) => !internal.has(b.tensor));
  for (const fs of statics) {
    const names = fusedNames(fs.output);
    const rowsShape = fs.rows.map((i) => affine.symbol(extentName(i)));
    const parts = affine.symbol(names.partsSymbol);
    const featureShape = fs.features.map((i) => affine.symbol(extentName(i)));
    kept.push({
      tensor: names.acc,
      role: 'partial',
      storage: 'f32',
      dtype: 'f32',
      shape: [parts, ...rowsShape, ...featureShape],
    });
    if (fs.group.softmax)
      kept.push({
        tensor: names.ml,
        role: 'partial',
        storage: 'f32',
        dtype: 'f32',
        shape: [parts, ...rowsShape, affine.constant(3)],
      });
  }
  const withBuffers = fused.map((f) => ({
    ...f,
    fallbackBuffers: buffers
      .filter(
        (b) => f.static.internal.includes(b.tensor) && !f.static.materialized.includes(b.tensor),
      )
      .map((b) => ({ ...b, role: 'fallback' as const })),
  }));
  return {
    uniforms: planUniforms(program, statics),
    buffers: kept,
    kernels,
    fused: withBuffers,
    notes,
  };
}

/** What every kernel of the program needs to know about its tensors. */
export function programFacts(program: Program, f16: boolean): TensorEnv {
  const shapes = tensorShapes(program);
  const facts = planTensors(program, shapes, f16);
  const storages = new Map(facts.storages);
  const boolTensors = facts.boolTensors;
  for (const o of program.schedule.fused) {
    const names = fusedNames(o);
    storages.set(names.acc, 'f32');
    storages.set(names.ml, 'f32');
  }
  return {
    program,
    shapes,
    storages,
    boolTensors,
    paramTypes: new Map(program.params.map((p) => [p.name, p.type])),
  };
}

/** The specialisation the static WGSL text and the manifest's dispatch describe: extents of 64. */
export function referenceSpec(fs: FusedStatic): FusedSpec {
  const symbols = new Map<string, number>();
  for (const i of [...fs.rows, ...fs.features, ...fs.key, ...fs.contractions.map((c) => c.reduced)])
    symbols.set(extentName(i), 64);
  const spec = chooseSpec(fs, symbols, DEFAULT_LIMITS);
  if (typeof spec === 'string') throw new InternalError(`no reference specialisation: ${spec}`);
  return spec;
}

function referenceInvocations(fs: FusedStatic, spec: FusedSpec): Affine {
  const ceil = (i: IndexName, k: number) =>
    affine.floorDiv(
      affine.add(affine.symbol(extentName(i)), affine.constant(k - 1)),
      affine.constant(k),
    );
  let n = affine.scale(ceil(fs.query, spec.queryTile), spec.invocations);
  if (fs.grouped) n = affine.mul(n, ceil(fs.grouped.index, spec.groupSize));
  for (const i of fs.fixed) n = affine.mul(n, affine.symbol(extentName(i)));
  return n;
}

// ── Program-level layout ─────────────────────────────────────────────────────────────────

/** Every run-time scalar, 4 bytes each: integer symbols, then real params, then booleans. */
export function planUniforms(program: Program, fused: readonly FusedStatic[] = []): UniformLayout {
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
  for (const fs of fused)
    sources.push({ kind: 'runtime', name: fusedNames(fs.output).splitSymbol });
  const fields = sources.map((source, k): UniformField => {
    if (source.kind === 'runtime') {
      const output = fused.find((fs) => fusedNames(fs.output).splitSymbol === source.name)!.output;
      return { field: fusedNames(output).splits, type: 'i32', offset: 4 * k, source };
    }
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

function lowerStatement(facts: TensorEnv, s: Statement, index: number): KernelPlan {
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
