import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CST_DTS_PATH, renderCstDts } from '../../scripts/gen-cst-dts.ts';
import { AstBuilder } from '../../grammar/cst-to-ast.ts';

describe('CST types', () => {
  it('grammar/cst.generated.d.ts is up to date (run `npx tsx scripts/gen-cst-dts.ts`)', () => {
    expect(readFileSync(CST_DTS_PATH, 'utf8')).toBe(renderCstDts());
  });

  it('the AST builder has a visit method for every grammar rule', () => {
    expect(() => new AstBuilder('')).not.toThrow();
  });
});
