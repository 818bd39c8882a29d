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

export interface CompileOptions {
  /** Shown in diagnostics (`gqa.attn:3:7: error[E203]: ...`). Default `<input>`. */
  readonly fileName?: string;
  /** Compile only the block with this name. */
  readonly attention?: string;
  /** Compute only these outputs (and what they need). Default: every `output`. */
  readonly outputs?: readonly string[];
  /** Keep f16 inputs as f16 on the GPU (needs the `shader-f16` feature). Default false. */
  readonly f16?: boolean;
}

/** One compiled `attention` block. */
export interface CompiledSpec {
  readonly name: string;
  /** The checked IR: what `interpret` runs and `printProgram` prints. */
  readonly program: Program;
  /** WGSL kernels + manifest: what `createKernel` runs. */
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
  const specs = programs.map((program) => {
    const selected = options.outputs ? selectOutputs(program, options.outputs) : program;
    return {
      name: program.name,
      program: selected,
      wgsl: compileWgsl(selected, { f16: options.f16 }),
    };
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
