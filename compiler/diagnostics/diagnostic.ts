import type { FileSpan, Span } from './source.ts';
import { MESSAGES, type DiagnosticCode } from './messages.ts';

export type Severity = 'error' | 'warning';

export interface RelatedInformation {
  readonly span: FileSpan;
  readonly message: string;
}

/**
 * One problem found in a user's spec. `message` is one sentence with no trailing period and
 * names in `backticks`; `hint` is imperative (what to change).
 */
export interface Diagnostic {
  readonly code: DiagnosticCode;
  readonly severity: Severity;
  readonly message: string;
  readonly span: FileSpan;
  readonly hint?: string;
  readonly related?: readonly RelatedInformation[];
}

/** Fills a message template: `{0}`, `{1}`, ... are replaced by the arguments. */
function fill(template: string, args: readonly (string | number)[]): string {
  return template.replace(/\{(\d+)\}/g, (_, i: string) => String(args[Number(i)] ?? `{${i}}`));
}

export interface DiagnosticOptions {
  /** Overrides the catalogue's hint (e.g. with a "did you mean" suggestion). */
  readonly hint?: string;
  readonly related?: readonly RelatedInformation[];
}

/** Builds a diagnostic from the catalogue in `messages.ts`. */
export function diagnostic(
  code: DiagnosticCode,
  span: FileSpan,
  args: readonly (string | number)[] = [],
  options: DiagnosticOptions = {},
): Diagnostic {
  const entry = MESSAGES[code];
  const hint = options.hint ?? (entry.hint ? fill(entry.hint, args) : undefined);
  return {
    code,
    severity: entry.severity,
    message: fill(entry.message, args),
    span,
    ...(hint ? { hint } : {}),
    ...(options.related && options.related.length > 0 ? { related: options.related } : {}),
  };
}

/**
 * Collects diagnostics for one file. Keeps them sorted by position, drops exact duplicates
 * (same code and span) and caps what `sorted()` returns.
 */
export class DiagnosticBag {
  private readonly items: Diagnostic[] = [];
  constructor(readonly file: string) {}

  report(
    code: DiagnosticCode,
    span: Span,
    args: readonly (string | number)[] = [],
    options: DiagnosticOptions = {},
  ): void {
    this.add(diagnostic(code, { ...span, file: this.file }, args, options));
  }

  add(d: Diagnostic): void {
    const duplicate = this.items.some(
      (x) =>
        x.code === d.code &&
        x.span.start === d.span.start &&
        x.span.end === d.span.end &&
        x.span.file === d.span.file,
    );
    if (!duplicate) this.items.push(d);
  }

  addAll(ds: readonly Diagnostic[]): void {
    for (const d of ds) this.add(d);
  }

  /** A related-information entry in this bag's file. */
  related(span: Span, message: string): RelatedInformation {
    return { span: { ...span, file: this.file }, message };
  }

  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === 'error');
  }

  get size(): number {
    return this.items.length;
  }

  sorted(): Diagnostic[] {
    return sortDiagnostics(this.items);
  }
}

export function sortDiagnostics(ds: readonly Diagnostic[]): Diagnostic[] {
  return [...ds].sort(
    (a, b) =>
      a.span.file.localeCompare(b.span.file) ||
      a.span.start - b.span.start ||
      a.span.end - b.span.end ||
      a.code.localeCompare(b.code),
  );
}

export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === 'error');
}

/**
 * A bug in attn itself, never a problem with the user's spec. The CLI prints
 * "internal compiler error" for these and exits with 70 (EX_SOFTWARE).
 */
export class InternalError extends Error {
  constructor(
    message: string,
    readonly phase?: string,
  ) {
    super(message);
    this.name = 'InternalError';
  }
}

export function assertNever(x: never, what = 'value'): never {
  throw new InternalError(`unexpected ${what}: ${JSON.stringify(x)}`);
}
