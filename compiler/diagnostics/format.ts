/**
 * Renders diagnostics the way clang, rustc and tsc do:
 *
 *   stdlib/gqa.attn:13:15: error[E203]: index `g` on the left is not bound on the right
 *      |
 *   13 |   O[b, hq, p, g] = A[b, hq, p, m] * V[b, hq / G, m, f]
 *      |               ^
 *      = hint: every index on the left must appear in a subscript on the right
 */
import type { Diagnostic } from './diagnostic.ts';
import { lineIndexOf, lineText, positionOf, type FileSpan, type SourceFile } from './source.ts';

export interface FormatOptions {
  /** ANSI colours; the CLI turns them on only for a TTY without NO_COLOR. */
  readonly color?: boolean;
  /** At most this many diagnostics are printed, then "and N more". */
  readonly limit?: number;
}

const ansi = (code: string, on: boolean) => (s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);

function location(file: SourceFile | undefined, span: FileSpan): string {
  if (!file) return span.file;
  const { line, column } = positionOf(file, span.start);
  return `${span.file}:${line}:${column}`;
}

/** The 0-based lines a span's excerpt shows: from its first character to its last. */
function lineRange(file: SourceFile, span: FileSpan): { first: number; last: number } {
  const first = lineIndexOf(file, span.start);
  const last = lineIndexOf(file, Math.max(span.start, span.end - 1));
  return { first, last };
}

/** Width of the line-number gutter of a span's excerpt (the `= hint:` line aligns with it). */
function gutterWidth(file: SourceFile, span: FileSpan): number {
  return String(lineRange(file, span).last + 1).length;
}

/** Columns of a code-point index into a line, with tabs shown as one space. */
function excerpt(file: SourceFile, span: FileSpan, color: boolean): string[] {
  const caret = ansi('1;31', color);
  const { first, last } = lineRange(file, span);
  const width = gutterWidth(file, span);
  const gutter = (n?: number) =>
    `${n === undefined ? ' '.repeat(width) : String(n).padStart(width)} | `;
  const out: string[] = [`${' '.repeat(width)} |`];
  const shown = last - first >= 4 ? [first, first + 1, -1, last - 1, last] : range(first, last);
  for (const i of shown) {
    if (i === -1) {
      out.push(`${' '.repeat(width)} ...`);
      continue;
    }
    const text = lineText(file, i).replace(/\t/g, ' ').trimEnd();
    out.push(gutter(i + 1) + text);
    const lineStart = file.lineStarts[i];
    const from = i === first ? [...file.text.slice(lineStart, span.start)].length : 0;
    const endOffset =
      i === last ? Math.max(span.end, span.start + 1) : lineStart + lineText(file, i).length;
    const to = Math.max(
      from + 1,
      [...file.text.slice(lineStart, Math.min(endOffset, lineStart + lineText(file, i).length + 1))]
        .length,
    );
    out.push(gutter() + ' '.repeat(from) + caret('^'.repeat(Math.max(1, to - from))));
  }
  return out;
}

function range(a: number, b: number): number[] {
  const r: number[] = [];
  for (let i = a; i <= b; i++) r.push(i);
  return r;
}

export function formatDiagnostic(
  d: Diagnostic,
  files: ReadonlyMap<string, SourceFile> | SourceFile,
  options: FormatOptions = {},
): string {
  const lookup = (name: string): SourceFile | undefined =>
    'text' in files
      ? files.name === name
        ? (files as SourceFile)
        : undefined
      : (files as ReadonlyMap<string, SourceFile>).get(name);
  const color = options.color ?? false;
  const bold = ansi('1', color);
  const sev =
    d.severity === 'error' ? ansi('1;31', color)('error') : ansi('1;33', color)('warning');
  const file = lookup(d.span.file);
  const lines = [`${bold(location(file, d.span))}: ${sev}[${d.code}]: ${bold(d.message)}`];
  if (file) lines.push(...excerpt(file, d.span, color));
  // The hint belongs to the primary excerpt: it follows it, with `=` under its gutter's `|`,
  // before any note (which has its own excerpt and gutter width).
  if (d.hint) {
    const indent = file ? ' '.repeat(gutterWidth(file, d.span) + 1) : '';
    lines.push(`${indent}= hint: ${d.hint}`);
  }
  for (const r of d.related ?? []) {
    const rf = lookup(r.span.file);
    lines.push(`${location(rf, r.span)}: note: ${r.message}`);
    if (rf) lines.push(...excerpt(rf, r.span, color));
  }
  return lines.join('\n');
}

export function formatDiagnostics(
  ds: readonly Diagnostic[],
  files: ReadonlyMap<string, SourceFile> | SourceFile,
  options: FormatOptions = {},
): string {
  const limit = options.limit ?? 20;
  const shown = ds.slice(0, limit).map((d) => formatDiagnostic(d, files, options));
  if (ds.length > limit) shown.push(`... and ${ds.length - limit} more`);
  return shown.join('\n\n');
}
