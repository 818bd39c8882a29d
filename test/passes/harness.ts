/**
 * Pass tests in the DSL itself (TVM's Before/Expected): `before` and `expected` are `.attn`
 * text; the pass runs on `before` and must give exactly the checked `expected` IR.
 */
import { expect } from 'vitest';
import { checkSource } from '../../compiler/front-end.ts';
import { irKey } from '../../compiler/ir-equal.ts';
import { printProgram } from '../../compiler/ir-print.ts';
import type { Program } from '../../compiler/ir.ts';
import { DEFAULT_LIMITS, type Pass, type PassContext } from '../../compiler/passes/pass.ts';

export const context = (tiles: Record<string, number> = {}): PassContext => ({
  limits: DEFAULT_LIMITS,
  extentHints: {},
  tileOverrides: tiles,
});

export function program(text: string): Program {
  const r = checkSource(text, 'test.attn');
  if (r.programs.length !== 1)
    throw new Error(r.diagnostics.map((d) => `${d.code} ${d.message}`).join('\n'));
  return r.programs[0];
}

/** Runs `pass` on `before` and compares with `expected` structurally (printing both on failure). */
export function expectRewrite(
  pass: Pass,
  before: string,
  expected: string,
  ctx = context(),
): Program {
  const input = program(before);
  const check = pass.applies(input, ctx);
  expect(check.applies, check.applies ? '' : check.reason).toBe(true);
  const after = pass.run(input, ctx);
  const want = program(expected);
  expect(printProgram(after)).toBe(printProgram(want));
  expect(irKey(after)).toBe(irKey(want));
  return after;
}

/** The pass declines, saying `reason` (a substring). */
export function expectDecline(pass: Pass, text: string, reason: string, ctx = context()): void {
  const check = pass.applies(program(text), ctx);
  expect(check.applies).toBe(false);
  if (!check.applies) expect(check.reason).toContain(reason);
}
