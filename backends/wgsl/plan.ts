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

/** The bit pattern of an absent element in an `f32-absent` buffer (a signalling NaN). */
export const ABSENT_BITS = 0x7fa0ab5e;

export const WORKGROUP_SIZE = 64;

export type Storage = 'f32' | 'f32-absent' | 'f16' | 'i32' | 'bool8';

export type ScalarType = 'f32' | 'f16' | 'i32' | 'u32' | 'bool';

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
export type BuiltinFn = 'exp' | 'log' | 'sqrt' | 'inverseSqrt' | 'abs' | 'min' | 'max';

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
  /** `buffer[index]`; `index` is an i32 expression. */
  | { readonly kind: 'load'; readonly buffer: string; readonly index: KExpr }
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
  /** `ABSENT_BITS` as a u32 (printed as the kernel's `ABSENT` constant). */
  | { readonly kind: 'absent' };

// ── Statements ───────────────────────────────────────────────────────────────────────────

export type KStmt =
  | { readonly kind: 'let'; readonly name: string; readonly value: KExpr }
  /** A mutable local; always with an initialiser (see DESIGN §4 on lavapipe). */
  | { readonly kind: 'var'; readonly name: string; readonly type: ScalarType; readonly init: KExpr }
  | { readonly kind: 'assign'; readonly name: string; readonly value: KExpr }
  | {
      readonly kind: 'store';
      readonly buffer: string;
      readonly index: KExpr;
      readonly value: KExpr;
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
  | { readonly kind: 'barrier' };

// ── Kernels and programs ─────────────────────────────────────────────────────────────────

export interface BufferBinding {
  readonly binding: number;
  readonly tensor: TensorName;
  /** The WGSL variable (`t_Q`). */
  readonly variable: string;
  readonly storage: Storage;
  readonly access: 'read' | 'read_write';
}

/**
 * How many workgroups a kernel needs: `grid` covers `invocations` points with one invocation
 * each (the runtime turns the count into a 1-D or 2-D dispatch); `single` is one workgroup that
 * loops over the points itself (a recurrence whose steps read other points).
 */
export type Dispatch =
  { readonly kind: 'grid'; readonly invocations: Affine } | { readonly kind: 'single' };

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
  readonly helpers: readonly PreludeFn[];
  /** A one-line description of the statement, printed as the kernel's header comment. */
  readonly summary: string;
  readonly body: readonly KStmt[];
}

/** Where each run-time scalar lives in the uniform buffer (4 bytes each). */
export interface UniformField {
  readonly field: string;
  readonly type: 'i32' | 'f32' | 'u32';
  readonly offset: number;
  /** `symbol`: an extent, integer const or i32 param; `real`: an f32 param; `bool`: a bool param or const. */
  readonly source: { readonly kind: 'symbol' | 'real' | 'bool'; readonly name: string };
}

export interface UniformLayout {
  readonly fields: readonly UniformField[];
  /** Bytes, a multiple of 16. */
  readonly size: number;
}

export interface BufferPlan {
  readonly tensor: TensorName;
  readonly role: 'input' | 'intermediate' | 'output';
  readonly storage: Storage;
  /** Declared dtype of an input; intermediates and outputs are `f32`. */
  readonly dtype: DType;
  readonly shape: readonly Affine[];
}

export interface ProgramPlan {
  readonly uniforms: UniformLayout;
  readonly buffers: readonly BufferPlan[];
  readonly kernels: readonly KernelPlan[];
}
