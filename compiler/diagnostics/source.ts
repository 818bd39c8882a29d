/**
 * Source text and positions. This is the only module that converts between character offsets
 * and 1-based line:column positions; everything else in the compiler passes `Span`s around.
 */

/** A half-open range of UTF-16 offsets `[start, end)` into one source file. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/** A span that knows which file it belongs to (what diagnostics carry). */
export interface FileSpan extends Span {
  readonly file: string;
}

export interface Position {
  /** 1-based line number. */
  readonly line: number;
  /** 1-based column, counted in Unicode code points on the line. */
  readonly column: number;
}

export interface SourceFile {
  readonly name: string;
  readonly text: string;
  /** Offset of the first character of every line; `lineStarts[0] === 0`. */
  readonly lineStarts: readonly number[];
}

export function createSourceFile(name: string, text: string): SourceFile {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) === 10 /* \n */) lineStarts.push(i + 1);
  }
  return { name, text, lineStarts };
}

/** Index of the line (0-based) that contains `offset`. Offsets past the end map to the last line. */
export function lineIndexOf(file: SourceFile, offset: number): number {
  const starts = file.lineStarts;
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export function positionOf(file: SourceFile, offset: number): Position {
  const clamped = Math.max(0, Math.min(offset, file.text.length));
  const line = lineIndexOf(file, clamped);
  const lineText = file.text.slice(file.lineStarts[line], clamped);
  return { line: line + 1, column: [...lineText].length + 1 };
}

/** The text of a 0-based line, without its line break. */
export function lineText(file: SourceFile, lineIndex: number): string {
  const start = file.lineStarts[lineIndex];
  const next =
    lineIndex + 1 < file.lineStarts.length ? file.lineStarts[lineIndex + 1] : file.text.length;
  return file.text.slice(start, next).replace(/\r?\n$/, '');
}

export function spanCovering(a: Span, b: Span): Span {
  return { start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
}

/** Spans of synthesised nodes (passes, macros) that have no text of their own. */
export const NO_SPAN: Span = { start: 0, end: 0 };
