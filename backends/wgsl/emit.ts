/**
 * KernelPlan → WGSL text. A printer and nothing else: every decision was made in `lower.ts`.
 */
import { assertNever, InternalError } from '../../compiler/diagnostics/diagnostic.ts';
import type { KExpr, KStmt, KernelPlan, Storage, UniformLayout } from './plan.ts';
import { ABSENT_DECLARATION, preludeSource } from './prelude.ts';

const ELEMENT_TYPE: Readonly<Record<Storage, string>> = {
  f32: 'f32',
  'f32-absent': 'u32',
  f16: 'f16',
  i32: 'i32',
  bool8: 'u32',
};

function f32Literal(v: number): string {
  if (!Number.isFinite(v)) throw new InternalError(`non-finite f32 literal ${v}`);
  if (Object.is(v, -0)) return '(-0.0f)';
  let s = String(Math.abs(v));
  if (!/[.e]/.test(s)) s += '.0';
  return v < 0 ? `(-${s}f)` : `${s}f`;
}

function i32Literal(v: number): string {
  if (v === -(2 ** 31)) return 'i32(-2147483648)';
  return v < 0 ? `(${v}i)` : `${v}i`;
}

function u32Literal(v: number): string {
  return v >= 0x10000 ? `0x${v.toString(16)}u` : `${v}u`;
}

/** An expression; binary operands are parenthesised (WGSL rejects mixed `&&`/`||` anyway). */
function expr(e: KExpr, plan: KernelPlan): string {
  const operand = (x: KExpr) => (x.kind === 'binary' ? `(${expr(x, plan)})` : expr(x, plan));
  switch (e.kind) {
    case 'f32':
      return f32Literal(e.value);
    case 'i32':
      return i32Literal(e.value);
    case 'u32':
      return u32Literal(e.value);
    case 'bool':
      return String(e.value);
    case 'ref':
      return e.name;
    case 'uniform':
      return `u.${e.field}`;
    case 'load':
      return `${e.buffer}[${expr(e.index, plan)}]${e.component ? `[${expr(e.component, plan)}]` : ''}`;
    case 'unary':
      return `${e.op}${operand(e.arg)}`;
    case 'binary':
      return `${operand(e.lhs)} ${e.op} ${operand(e.rhs)}`;
    case 'call':
      return `${e.fn}(${e.args.map((a) => expr(a, plan)).join(', ')})`;
    case 'convert':
      return `${e.to}(${expr(e.arg, plan)})`;
    case 'bitcast':
      return `bitcast<${e.to}>(${expr(e.arg, plan)})`;
    case 'select':
      return `select(${expr(e.ifFalse, plan)}, ${expr(e.ifTrue, plan)}, ${expr(e.cond, plan)})`;
    case 'invocation':
      return `i32((wid.y * nwg.x + wid.x) * ${plan.workgroupSize}u + lidx)`;
    case 'localIndex':
      return 'i32(lidx)';
    case 'workgroupId':
      return 'i32(wid.y * nwg.x + wid.x)';
    case 'vec4':
      return `vec4<f32>(${e.args.map((a) => expr(a, plan)).join(', ')})`;
    case 'component':
      return `${e.arg.kind === 'ref' ? e.arg.name : `(${expr(e.arg, plan)})`}.${'xyzw'[e.index]}`;
    case 'absent':
      return 'ABSENT';
    default:
      return assertNever(e, 'kernel expression');
  }
}

function stmts(list: readonly KStmt[], plan: KernelPlan, indent: string, out: string[]): void {
  for (const s of list) stmt(s, plan, indent, out);
}

function stmt(s: KStmt, plan: KernelPlan, indent: string, out: string[]): void {
  const e = (x: KExpr) => expr(x, plan);
  const inner = indent + '  ';
  switch (s.kind) {
    case 'let':
      out.push(`${indent}let ${s.name} = ${e(s.value)};`);
      return;
    case 'var':
      out.push(`${indent}var ${s.name}: ${s.type} = ${e(s.init)};`);
      return;
    case 'array':
      out.push(`${indent}var ${s.name} = array<${s.element}, ${s.length}>();`);
      return;
    case 'assign':
      out.push(`${indent}${s.name} = ${e(s.value)};`);
      return;
    case 'store':
      out.push(
        `${indent}${s.buffer}[${e(s.index)}]${s.component ? `[${e(s.component)}]` : ''} = ${e(s.value)};`,
      );
      return;
    case 'if':
      out.push(`${indent}if (${e(s.cond)}) {`);
      stmts(s.then, plan, inner, out);
      if (s.else.length > 0) {
        out.push(`${indent}} else {`);
        stmts(s.else, plan, inner, out);
      }
      out.push(`${indent}}`);
      return;
    case 'for': {
      const step =
        s.step === 1
          ? `${s.index}++`
          : `${s.index} += ${typeof s.step === 'number' ? i32Literal(s.step) : e(s.step)}`;
      out.push(
        `${indent}for (var ${s.index}: i32 = ${e(s.from)}; ${s.index} < ${e(s.to)}; ${step}) {`,
      );
      stmts(s.body, plan, inner, out);
      out.push(`${indent}}`);
      return;
    }
    case 'return':
      out.push(`${indent}return;`);
      return;
    case 'continue':
      out.push(`${indent}continue;`);
      return;
    case 'barrier':
      out.push(`${indent}storageBarrier();`);
      return;
    case 'workgroupBarrier':
      out.push(`${indent}workgroupBarrier();`);
      return;
    default:
      return assertNever(s, 'kernel statement');
  }
}

/** The complete WGSL module of one kernel. */
export function emitKernel(plan: KernelPlan, uniforms: UniformLayout): string {
  const out: string[] = [];
  out.push(`// attn kernel ${plan.name}: ${plan.summary}`);
  if (plan.f16) out.push('enable f16;');
  if (plan.subgroups) out.push('enable subgroups;');
  out.push('');
  out.push('struct Uniforms {');
  for (const f of uniforms.fields) out.push(`  ${f.field}: ${f.type},`);
  // WGSL has no empty structs.
  if (uniforms.fields.length === 0) out.push('  unused: u32,');
  out.push('}');
  out.push('');
  out.push('@group(0) @binding(0) var<uniform> u: Uniforms;');
  for (const b of plan.bindings) {
    const access = b.access === 'read' ? 'read' : 'read_write';
    out.push(
      `@group(0) @binding(${b.binding}) var<storage, ${access}> ${b.variable}: array<${b.view === 'vec4' ? 'vec4<f32>' : ELEMENT_TYPE[b.storage]}>;`,
    );
  }
  if (plan.bindings.some((b) => b.storage === 'f32-absent')) out.push('', ABSENT_DECLARATION);
  if (plan.workgroupArrays && plan.workgroupArrays.length > 0) out.push('');
  for (const w of plan.workgroupArrays ?? [])
    out.push(`var<workgroup> ${w.name}: array<${w.element}, ${w.length}>;`);
  for (const source of preludeSource(plan.helpers)) out.push('', source);
  out.push('');
  out.push(`@compute @workgroup_size(${plan.workgroupSize})`);
  out.push(
    `fn ${plan.entryPoint}(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lidx: u32) {`,
  );
  stmts(plan.body, plan, '  ', out);
  out.push('}');
  return out.join('\n') + '\n';
}
