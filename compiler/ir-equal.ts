/**
 * Structural equality of IR, ignoring where things came from (`origin`, `initOrigin`, `file`).
 * Index expressions are canonical (see `affine.ts`), so equal meaning gives equal structure.
 */
import type { Expr, Program, Statement } from './ir.ts';

const IGNORED = new Set(['origin', 'initOrigin', 'file']);

/** A stable JSON rendering of IR without provenance; equal iff structurally equal. */
export function irKey(node: Program | Statement | Expr): string {
  return JSON.stringify(node, (key, value) => (IGNORED.has(key) ? undefined : value));
}

export function programsEqual(a: Program, b: Program): boolean {
  return a === b || irKey(a) === irKey(b);
}

export function statementsEqual(a: Statement, b: Statement): boolean {
  return a === b || irKey(a) === irKey(b);
}
