/**
 * The public API of attn.
 *
 *   import { compile, interpret, createKernel, formatDiagnostics } from 'attn';
 *   import { requestNodeDevice } from 'attn/node';     // Node only (Dawn)
 *
 * `compile` checks a `.attn` source and compiles every `attention` block in it; `interpret` runs
 * a block on the CPU reference interpreter; `createKernel` runs its WGSL on a `GPUDevice`.
 * Bad specs and bad calls come back as diagnostics, never as exceptions; an `InternalError` is
 * a bug in attn.
 */
import { compileWgsl, type CompiledWgsl } from './backends/wgsl/compile.ts';
import { checkSource } from './compiler/front-end.ts';
import { hasErrors, type Diagnostic } from './compiler/diagnostics/diagnostic.ts';
import type { SourceFile } from './compiler/diagnostics/source.ts';
import type { Program } from './compiler/ir.ts';
import { selectOutputs } from './compiler/select-outputs.ts';
import {
  DEFAULT_LIMITS,
  type DeviceLimits,
  type PassContext,
  type PassName,
} from './compiler/passes/pass.ts';
import { runPipeline, type Instrument, type PassNote } from './compiler/passes/pipeline.ts';

export interface CompileOptions {
  /** Shown in diagnostics (`gqa.attn:3:7: error[E203]: ...`). Default `<input>`. */
  readonly fileName?: string;
  /** Compile only the block with this name. */
  readonly attention?: string;
  /** Compute only these outputs (and what they need). Default: every `output`. */
  readonly outputs?: readonly string[];
  /** Keep f16 inputs as f16 on the GPU (needs the `shader-f16` feature). Default false. */
  readonly f16?: boolean;
  /**
   * Which optimizer passes run (`compiler/passes/pipeline.ts`). Default: all of them. `'none'`
   * gives the unfused cascade, one kernel per statement.
   */
  readonly passes?:
    'none' | { readonly only?: readonly PassName[]; readonly skip?: readonly PassName[] };
  /** The device's limits: tile sizes are chosen to fit them. Default: WebGPU's minimums. */
  readonly limits?: Partial<DeviceLimits>;
  /** Tile sizes by index (`{ m: 64, p: 16 }`); they win over the spec's `schedule` block. */
  readonly tiles?: Readonly<Record<string, number>>;
  /** Expected extents (`{ E: 64, F: 64 }`) to choose tile sizes for. */
  readonly extentHints?: Readonly<Record<string, number>>;
  /** Watch the pipeline (e.g. capture the IR after a pass). */
  readonly instruments?: readonly Instrument[];
}

/** One compiled `attention` block. */
export interface CompiledSpec {
  readonly name: string;
  /** The checked IR, as written (outputs selected): the reference `interpret` runs. */
  readonly program: Program;
  /** The IR after the optimizer's passes: what the kernels compute. `interpret` runs it too. */
  readonly scheduled: Program;
  /** What each pass did, or why it did not apply (`attnc explain` prints these). */
  readonly notes: readonly PassNote[];
  /** WGSL kernels + manifest of the scheduled IR: what `createKernel` runs. */
  readonly wgsl: CompiledWgsl;
}

export type CompileResult =
  | {
      readonly ok: true;
      /** One per `attention` block (or the one named by `options.attention`). */
      readonly specs: readonly CompiledSpec[];
      /** Warnings only. */
      readonly diagnostics: readonly Diagnostic[];
      readonly source: SourceFile;
    }
  | {
      readonly ok: false;
      readonly diagnostics: readonly Diagnostic[];
      readonly source: SourceFile;
    };

export function compile(text: string, options: CompileOptions = {}): CompileResult {
  const front = checkSource(text, options.fileName ?? '<input>');
  if (hasErrors(front.diagnostics))
    return { ok: false, diagnostics: front.diagnostics, source: front.source };
  let programs = front.programs;
  if (options.attention !== undefined) {
    programs = programs.filter((p) => p.name === options.attention);
    if (programs.length === 0) {
      const names = front.programs.map((p) => `\`${p.name}\``).join(', ');
      throw new RangeError(
        `no attention block named \`${options.attention}\`; the file has ${names}`,
      );
    }
  }
  const ctx: PassContext = {
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    extentHints: options.extentHints ?? {},
    tileOverrides: options.tiles ?? {},
  };
  const specs = programs.map((program) => {
    const selected = options.outputs ? selectOutputs(program, options.outputs) : program;
    const passes = options.passes ?? {};
    const { program: scheduled, notes } =
      passes === 'none'
        ? { program: selected, notes: [] }
        : runPipeline(selected, ctx, { ...passes, instruments: options.instruments });
    const wgsl = compileWgsl(scheduled, { f16: options.f16 });
    return { name: program.name, program: selected, scheduled, notes, wgsl };
  });
  return { ok: true, specs, diagnostics: front.diagnostics, source: front.source };
}

export { checkSource, type FrontEndResult } from './compiler/front-end.ts';
export {
  interpret,
  type InterpretOptions,
  type InterpretResult,
  type RawTensor,
} from './backends/cpu/interpret.ts';
export {
  compileWgsl,
  type CompiledWgsl,
  type CompileWgslOptions,
} from './backends/wgsl/compile.ts';
export {
  createKernel,
  type Kernel,
  type RunOptions,
  type RunResult,
} from './backends/wgsl/runtime.ts';
export type { Manifest } from './backends/wgsl/manifest.ts';
export { selectOutputs } from './compiler/select-outputs.ts';
export {
  PIPELINE,
  PASS_NAMES,
  runPipeline,
  type Instrument,
  type PassNote,
} from './compiler/passes/pipeline.ts';
export { DEFAULT_LIMITS, type DeviceLimits, type PassName } from './compiler/passes/pass.ts';
export { printProgram, printPrograms } from './compiler/ir-print.ts';
export {
  formatDiagnostic,
  formatDiagnostics,
  type FormatOptions,
} from './compiler/diagnostics/format.ts';
export { InternalError, type Diagnostic } from './compiler/diagnostics/diagnostic.ts';
export type { DiagnosticCode } from './compiler/diagnostics/messages.ts';
export { createSourceFile, type SourceFile, type Span } from './compiler/diagnostics/source.ts';
export {
  tensor,
  elementAt,
  toFloat32,
  f16ToF32,
  f32ToF16,
  type HostTensor,
  type TensorData,
} from './compiler/tensor.ts';
export type { Program, DType } from './compiler/ir.ts';
