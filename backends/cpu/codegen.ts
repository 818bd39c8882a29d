/**
 * Shared pieces of the CPU interpreter's code generation: what generated code may refer to
 * (`Scope`, `TensorLayout`), a writer for its lines, and safe literals.
 *
 * Why generate JavaScript instead of walking the tree or composing closures: the interpreter
 * runs every test case and every pass-equivalence check, so it must be fast. Measured on the
 * 4 × 256 × 256 × 64 score einsum of causal attention (Node 20), closure trees took ~1.2 s (each
 * node a megamorphic call returning a boxed double); generated loops take ~0.1 s. Each
 * statement gets its own `new Function`, specialised to the run's extents.
 *
 * Generated code never contains a user-written name or string: tensors are `v<id>` / `p<id>`,
 * loops `i<n>`, temporaries `t<n>`; numbers go through `num`, and operator and function names
 * are checked against the IR's closed sets before they are quoted.
 */
import { InternalError } from '../../compiler/diagnostics/diagnostic.ts';
import type { Binding } from '../../compiler/bind.ts';
import type { IndexName, TensorName } from '../../compiler/ir.ts';

/** What a stored tensor's elements are: reals (f32/f16/intermediates), i32, or bool (0/1). */
export type ElementKind = 'real' | 'int' | 'bool';

export interface TensorLayout {
  /** Position in the value/presence arrays handed to generated code. */
  readonly id: number;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly kind: ElementKind;
  /** Every element is present, so reads need no presence check. */
  readonly fullyPresent: boolean;
}

export interface LoopVar {
  readonly variable: string;
  readonly extent: number;
}

/** What code generation may refer to at one point of a statement. */
export interface Scope {
  readonly binding: Binding;
  /** Layout of a tensor defined before this point; throws InternalError otherwise. */
  tensor(name: TensorName): TensorLayout;
  /** The loop variable of an index, or undefined when the index is not bound here. */
  loop(name: IndexName): LoopVar | undefined;
}

/** Accumulates indented lines, fresh temporaries and the tensors the code touches. */
export class CodeWriter {
  private readonly lines: string[] = [];
  private depth = 1;
  private temps = 0;
  readonly tensors = new Set<number>();

  line(text: string): void {
    this.lines.push('  '.repeat(this.depth) + text);
  }
  open(head: string): void {
    this.line(`${head} {`);
    this.depth++;
  }
  close(): void {
    this.depth--;
    this.line('}');
  }
  temp(): string {
    return `t${this.temps++}`;
  }
  /** Binds `text` to a new `const` and returns its name. */
  let(text: string): string {
    const name = this.temp();
    this.line(`const ${name} = ${text};`);
    return name;
  }
  text(): string {
    return this.lines.join('\n');
  }
}

/** A JavaScript number literal for any double, including -0, ±Infinity and NaN. */
export function num(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '(-Infinity)';
  if (Object.is(value, -0)) return '(-0)';
  return value < 0 ? `(${String(value)})` : String(value);
}

/** `op` as a quoted JS string, after checking it belongs to the IR's closed set. */
export function quoteOp(op: string, allowed: ReadonlySet<string>): string {
  if (!allowed.has(op)) throw new InternalError(`unknown operator ${JSON.stringify(op)}`);
  return JSON.stringify(op);
}
