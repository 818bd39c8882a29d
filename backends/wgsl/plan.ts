/**
 * KernelPlan: the small typed IR between the attn IR and WGSL text.
 *
 * `lower.ts` builds it, `emit.ts` prints it and `manifest.ts` derives the run-time manifest
 * from it, so the WGSL and the bindings the runtime creates cannot drift apart. A plan holds
 * identifiers (already mangled by `names.ts`) but never WGSL syntax.
 *
 * ## How values are stored
 *
 *  - `f32`        array<f32>; every element is present (inputs, reductions, filter-free maps).
 *  - `f32-absent` array<u32> holding f32 bit patterns; the signalling-NaN pattern
 *                 `ABSENT_BITS` marks an absent element. Kept as u32 so that no load, store or
 *                 optimiser can quieten or canonicalise the marker; a computed value that
 *                 happens to have those bits is written as a quiet NaN instead (`attn_encode`).
 *  - `f16`        array<f16> (only with `compileWgsl(..., { f16: true })`, needs shader-f16).
 *  - `i32`        array<i32>.
 *  - `bool8`      array<u32>, the host's one byte per boolean packed four to a word
 *                 (little-endian), so bool tensors upload without conversion.
 */
import type { Affine, DType, TensorName } from '../../compiler/ir.ts';
import type { FusedStatic } from './fused-plan.ts';

/** The bit pattern of an absent element in an `f32-absent` buffer (a signalling NaN). */
export const ABSENT_BITS = 0x7fa0ab5e;

export const WORKGROUP_SIZE = 64;

export type Storage = 'f32' | 'f32-absent' | 'f16' | 'i32' | 'bool8';

export type ScalarType = 'f32' | 'f16' | 'i32' | 'u32' | 'bool';

/** Types of locals and array elements: the scalars, and the f32 vector fused kernels use. */
export type ValueType = ScalarType | 'vec4<f32>';

/** Bytes per element in each storage (a bool8 element is one byte of a packed word). */
export const BYTES_PER_ELEMENT: Readonly<Record<Storage, number>> = {
  f32: 4,
  'f32-absent': 4,
  f16: 2,
  i32: 4,
  bool8: 1,
};

// ── Expressions ──────────────────────────────────────────────────────────────────────────

export type BinaryOp =
  '+' | '-' | '*' | '/' | '%' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '&&' | '||' | '&' | '>>';

/** WGSL built-in functions the plans call. */
export type BuiltinFn =
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'inverseSqrt'
  | 'abs'
  | 'min'
  | 'max'
  | 'dot'
  /** `subgroupBroadcast(value, lane)`, lane a constant u32; only in `subgroups` kernels. */
  | 'subgroupBroadcast';

/** Helper functions of `prelude.ts`. */
export type PreludeFn =
  | 'attn_neg_inf'
  | 'attn_pos_inf'
  | 'attn_nan'
  | 'attn_encode'
  | 'attn_floor_div'
  | 'attn_floor_mod'
  | 'attn_tanh'
  | 'attn_sigmoid'
  | 'attn_softplus'
  | 'attn_sign'
  | 'attn_min'
  | 'attn_max'
  | 'attn_pow';

export type KExpr =
  /** A finite f32 constant (infinities and NaN go through prelude functions). */
  | { readonly kind: 'f32'; readonly value: number }
  | { readonly kind: 'i32'; readonly value: number }
  | { readonly kind: 'u32'; readonly value: number }
  | { readonly kind: 'bool'; readonly value: boolean }
  /** A local value, loop variable or `let`. */
  | { readonly kind: 'ref'; readonly name: string }
  /** A field of the uniform struct. */
  | { readonly kind: 'uniform'; readonly field: string }
  /**
   * `buffer[index]`; `index` is an i32 expression. `buffer` may also name a workgroup or private
   * array; such loads are `mutable` (the array changes while the kernel runs), so they are never
   * shared between two equal-looking expressions.
   */
  | {
      readonly kind: 'load';
      readonly buffer: string;
      readonly index: KExpr;
      readonly mutable?: true;
      /** One component of a vec4 element (`buffer[index][component]`). */
      readonly component?: KExpr;
    }
  | { readonly kind: 'unary'; readonly op: '-' | '!'; readonly arg: KExpr }
  | { readonly kind: 'binary'; readonly op: BinaryOp; readonly lhs: KExpr; readonly rhs: KExpr }
  | { readonly kind: 'call'; readonly fn: BuiltinFn | PreludeFn; readonly args: readonly KExpr[] }
  /** Value conversion (`f32(x)`). */
  | { readonly kind: 'convert'; readonly to: ScalarType; readonly arg: KExpr }
  | { readonly kind: 'bitcast'; readonly to: ScalarType; readonly arg: KExpr }
  | {
      readonly kind: 'select';
      readonly cond: KExpr;
      readonly ifTrue: KExpr;
      readonly ifFalse: KExpr;
    }
  /** This invocation's linear index over the whole (possibly 2-D) dispatch, as i32. */
  | { readonly kind: 'invocation' }
  /** `local_invocation_index` as i32. */
  | { readonly kind: 'localIndex' }
  /** This workgroup's linear index over the whole (possibly 2-D) dispatch, as i32. */
  | { readonly kind: 'workgroupId' }
  /** `vec4<f32>(args...)`; no arguments is the zero vector. */
  | { readonly kind: 'vec4'; readonly args: readonly KExpr[] }
  /** One component (`.x` ... `.w`) of a vec4. */
  | { readonly kind: 'component'; readonly arg: KExpr; readonly index: 0 | 1 | 2 | 3 }
  /** `ABSENT_BITS` as a u32 (printed as the kernel's `ABSENT` constant). */
  | { readonly kind: 'absent' };

// ── Statements ───────────────────────────────────────────────────────────────────────────

export type KStmt =
  | { readonly kind: 'let'; readonly name: string; readonly value: KExpr }
  /** A mutable local; always with an initialiser (see DESIGN §4 on lavapipe). */
  | { readonly kind: 'var'; readonly name: string; readonly type: ValueType; readonly init: KExpr }
  /** A private array, zero-initialised (`var name = array<T, N>();`). */
  | {
      readonly kind: 'array';
      readonly name: string;
      readonly element: ValueType;
      readonly length: number;
    }
  | { readonly kind: 'assign'; readonly name: string; readonly value: KExpr }
  | {
      readonly kind: 'store';
      readonly buffer: string;
      readonly index: KExpr;
      readonly value: KExpr;
      /** One component of a vec4 element (`buffer[index][component] = value`). */
      readonly component?: KExpr;
    }
  | {
      readonly kind: 'if';
      readonly cond: KExpr;
      readonly then: readonly KStmt[];
      readonly else: readonly KStmt[];
    }
  /** `for (var index: i32 = from; index < to; index += step)`. */
  | {
      readonly kind: 'for';
      readonly index: string;
      readonly from: KExpr;
      readonly to: KExpr;
      readonly step: number | KExpr;
      readonly body: readonly KStmt[];
    }
  | { readonly kind: 'return' }
  | { readonly kind: 'continue' }
  /** Makes this workgroup's storage writes visible to the whole workgroup. */
  | { readonly kind: 'barrier' }
  /** `workgroupBarrier()`: workgroup memory writes become visible; in uniform control flow only. */
  | { readonly kind: 'workgroupBarrier' };

// ── Kernels and programs ─────────────────────────────────────────────────────────────────

export interface BufferBinding {
  readonly binding: number;
  readonly tensor: TensorName;
  /** The WGSL variable (`t_Q`). */
  readonly variable: string;
  readonly storage: Storage;
  readonly access: 'read' | 'read_write';
  /**
   * `vec4`: a second, read-only view of an f32 tensor's buffer as `array<vec4<f32>>`, for aligned
   * whole-vector loads (a fused kernel's staged tiles).
   */
  readonly view?: 'vec4';
}

/**
 * How many workgroups a kernel needs: `grid` covers `invocations` points with one invocation
 * each (the runtime turns the count into a 1-D or 2-D dispatch); `single` is one workgroup that
 * loops over the points itself (a recurrence whose steps read other points).
 */
export type Dispatch =
  { readonly kind: 'grid'; readonly invocations: Affine } | { readonly kind: 'single' };

/** A `var<workgroup>` array of a fused kernel. */
export interface WorkgroupArray {
  readonly name: string;
  readonly element: ValueType;
  readonly length: number;
}

/** The role of a kernel that belongs to a fused group (`schedule { fuse O }`). */
export interface FusedRole {
  readonly output: TensorName;
  /**
   * `attention`: the one kernel of the group, specialised when the kernel runs (its `body` here is
   * the reference specialisation); `merge`: combines split-KV partials, dispatched only when the
   * run splits; `fallback`: an unfused statement of the group, run only when no specialisation
   * fits the device.
   */
  readonly role: 'attention' | 'merge' | 'fallback';
}

export interface KernelPlan {
  /** Unique within the program; also the WGSL file name stem. */
  readonly name: string;
  readonly entryPoint: string;
  /** Index of the statement this kernel computes in `program.body`. */
  readonly statement: number;
  readonly target: TensorName;
  readonly workgroupSize: number;
  readonly dispatch: Dispatch;
  /** Storage buffers; the uniform struct is always binding 0. */
  readonly bindings: readonly BufferBinding[];
  readonly f16: boolean;
  /** Uses subgroup builtins (`enable subgroups;`; needs the device feature `subgroups`). */
  readonly subgroups?: boolean;
  readonly helpers: readonly PreludeFn[];
  /** A one-line description of the statement, printed as the kernel's header comment. */
  readonly summary: string;
  readonly body: readonly KStmt[];
  readonly workgroupArrays?: readonly WorkgroupArray[];
  readonly fused?: FusedRole;
}

/** Where each run-time scalar lives in the uniform buffer (4 bytes each). */
export interface UniformField {
  readonly field: string;
  readonly type: 'i32' | 'f32' | 'u32';
  readonly offset: number;
  /**
   * `symbol`: an extent, integer const or i32 param; `real`: an f32 param; `bool`: a bool param or
   * const; `runtime`: a value the runtime chooses per run (a fused group's split count).
   */
  readonly source: { readonly kind: 'symbol' | 'real' | 'bool' | 'runtime'; readonly name: string };
}

export interface UniformLayout {
  readonly fields: readonly UniformField[];
  /** Bytes, a multiple of 16. */
  readonly size: number;
}

export interface BufferPlan {
  /** A tensor, or a fused group's split-KV partials (`O#acc`, `O#ml`: not attn names). */
  readonly tensor: TensorName;
  /**
   * `partial`: split-KV partial results of a fused group, sized with the run's split count;
   * `fallback`: a fused group's intermediate, allocated only when the group runs unfused.
   */
  readonly role: 'input' | 'intermediate' | 'output' | 'partial' | 'fallback';
  readonly storage: Storage;
  /** Declared dtype of an input; intermediates and outputs are `f32`. */
  readonly dtype: DType;
  readonly shape: readonly Affine[];
}

/** A fused group as lowered: where its kernels are, and what runs when no specialisation fits. */
export interface FusedLowering {
  readonly static: FusedStatic;
  /** Index in `kernels` of the attention kernel (at the output's place in dispatch order). */
  readonly attention: number;
  /** Index in `kernels` of the split-KV merge kernel, if the schedule allows splitting. */
  readonly merge: number | null;
  /** The group's statements as unfused kernels, run in place of the attention kernel. */
  readonly fallback: readonly KernelPlan[];
  /** Buffers only the fallback kernels use (the group's intermediates). */
  readonly fallbackBuffers: readonly BufferPlan[];
}

export interface ProgramPlan {
  readonly uniforms: UniformLayout;
  readonly buffers: readonly BufferPlan[];
  readonly kernels: readonly KernelPlan[];
  /** The fused groups lowered to one kernel each (`lower.ts`). */
  readonly fused: readonly FusedLowering[];
  /** Why a fused group runs unfused, and other decisions a reader of the manifest should know. */
  readonly notes: readonly string[];
}
