/**
 * The IR printer and the front end are inverses: parse → check → print → parse → check gives the
 * same IR for every shipped spec, printing is a fixed point, and every checked program passes
 * the IR verifier.
 */
import { describe, expect, test } from 'vitest';
import { checkSource } from '../../compiler/front-end.ts';
import { irKey } from '../../compiler/ir-equal.ts';
import { printProgram } from '../../compiler/ir-print.ts';
import { verifyProgram } from '../../compiler/ir-verify.ts';
import { DEFAULT_LIMITS } from '../../compiler/passes/pass.ts';
import { runPipeline } from '../../compiler/passes/pipeline.ts';
import { selectOutputs } from '../../compiler/select-outputs.ts';
import { shippedSpecs } from '../helpers/specs.ts';

describe.each(shippedSpecs())('$path', ({ path, text }) => {
  const first = checkSource(text, path);

  test('checks without diagnostics', () => {
    expect(first.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
    expect(first.programs.length).toBeGreaterThan(0);
  });

  test('every program passes the IR verifier', () => {
    for (const p of first.programs) expect(verifyProgram(p), p.name).toEqual([]);
  });

  test('the IR after every pass prints as .attn that checks to the same IR', () => {
    for (const p of first.programs) {
      const outputs = p.outputs.includes('Y' as never) ? selectOutputs(p, ['Y']) : p;
      runPipeline(
        outputs,
        { limits: DEFAULT_LIMITS, extentHints: {}, tileOverrides: {} },
        {
          instruments: [
            {
              afterPass(pass, _before, after) {
                const printed = printProgram(after);
                const again = checkSource(printed, `${path} after ${pass.name}`);
                expect(
                  again.diagnostics.map((d) => `${d.code} ${d.message}`),
                  printed,
                ).toEqual([]);
                expect(irKey(again.programs[0]), `${pass.name}:\n${printed}`).toBe(irKey(after));
              },
            },
          ],
        },
      );
    }
  });

  test('print → parse → check gives the same IR, and printing is a fixed point', () => {
    for (const p of first.programs) {
      const printed = printProgram(p);
      const again = checkSource(printed, `${path} (printed)`);
      expect(
        again.diagnostics.map((d) => `${d.code} ${d.message}`),
        printed,
      ).toEqual([]);
      expect(again.programs).toHaveLength(1);
      expect(irKey(again.programs[0]), printed).toBe(irKey(p));
      expect(printProgram(again.programs[0])).toBe(printed);
    }
  });
});

describe('extents unified through an input', () => {
  const spec = `attention documents {
  input Q[p, e]
  input K[m, e]
  input Doc[n]: i32
  SAME[p, m] = Doc[p] == Doc[m]
  S[p, m] = Q[p, e] * K[m, e]   where SAME[p, m]
  output S
}`;
  const [program] = checkSource(spec, 'documents.attn').programs;

  test('are recorded as consts, so the printed IR says P = N and M = N', () => {
    expect(printProgram(program)).toContain('const P = N');
    expect(printProgram(program)).toContain('const M = N');
  });

  test('are checked when the kernel runs', async () => {
    const { bind } = await import('../../compiler/bind.ts');
    const ok = bind(program, {
      Q: { dtype: 'f32', shape: [4, 2] },
      K: { dtype: 'f32', shape: [4, 2] },
      Doc: { dtype: 'i32', shape: [4] },
    });
    expect(ok.ok).toBe(true);
    const bad = bind(program, {
      Q: { dtype: 'f32', shape: [4, 2] },
      K: { dtype: 'f32', shape: [5, 2] },
      Doc: { dtype: 'i32', shape: [4] },
    });
    expect(bad.ok ? [] : bad.diagnostics.map((d) => d.code)).toEqual(['E603']);
  });
});
