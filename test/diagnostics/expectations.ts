/**
 * Expected diagnostics written in a fixture, clang `-verify` style (STYLE §2.6 item 1):
 *
 *   O[b, hq, p, g] = A[b, hq, p, m] * V[b, hq / G, m, f]
 *   #!          ^ E203
 *
 * A `#!` line refers to the nearest line above it that is not a `#!` line; the column of its `^`
 * is the expected 1-based column, and the code follows the caret. Several `#!` lines may follow
 * one line. Where the caret cannot reach (columns 1 and 2, under the `#!` itself), the column is
 * written out instead: `#! @1 E012`. To the compiler these lines are ordinary comments.
 */

export interface Expected {
  readonly code: string;
  readonly line: number;
  readonly column: number;
}

const CARET = /^(\s*#!\s*)\^\s+([EW]\d{3})\s*$/;
const EXPLICIT = /^\s*#!\s*@(\d+)\s+([EW]\d{3})\s*$/;

/** Every expectation of a fixture. Throws on a malformed `#!` line, so a typo cannot pass. */
export function parseExpectations(text: string): Expected[] {
  const out: Expected[] = [];
  let target = 0; // 1-based line the next `#!` refers to; 0 before any code line
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (!line.trimStart().startsWith('#!')) {
      target = i + 1;
      return;
    }
    const caret = CARET.exec(line);
    const explicit = EXPLICIT.exec(line);
    if (target === 0 || (!caret && !explicit))
      throw new Error(`line ${i + 1}: malformed expectation \`${line}\``);
    if (caret) out.push({ code: caret[2], line: target, column: [...caret[1]].length + 1 });
    else out.push({ code: explicit![2], line: target, column: Number(explicit![1]) });
  });
  return out;
}

/** `E203 8:15`: how expectations and diagnostics are compared (and shown when they differ). */
export function key(e: Expected): string {
  return `${e.code} ${e.line}:${e.column}`;
}
