/**
 * Differential test: random small programs (random subscripts with offsets, floor division,
 * modulo, min/max, products and gathers; filters; selects; reductions; recurrences; boolean
 * intermediates) run through the interpreter and through the naive evaluator of
 * `test/reference/ir-eval.ts`. Presence must match exactly and values bit for bit up to
 * rounding (both compute in float64 in the same order).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verifyProgram } from '../../../compiler/ir-verify.ts';
import { interpret } from '../../../backends/cpu/interpret.ts';
import { randomCase } from '../../helpers/random-programs.ts';
import { evaluateNaive } from '../../reference/ir-eval.ts';

describe('interpreter vs naive evaluator on random programs', () => {
  it('agree on presence and values', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const { program, inputs } = randomCase(seed);
        expect(verifyProgram(program), `seed ${seed}`).toEqual([]);
        const fast = interpret(program, inputs);
        if (!fast.ok)
          throw new Error(`refused: ${fast.diagnostics.map((d) => d.message).join('; ')}`);
        const naive = evaluateNaive(program, inputs);
        for (const [name, t] of naive) {
          const got = fast.tensors.get(name)!;
          t.values.forEach((v, n) => {
            const expected = v === undefined ? undefined : typeof v === 'boolean' ? Number(v) : v;
            const actual = got.present[n] === 1 ? got.values[n] : undefined;
            const same =
              Object.is(actual, expected) ||
              actual === expected ||
              (actual !== undefined &&
                expected !== undefined &&
                Math.abs(actual - expected) <= 1e-12 * Math.abs(expected));
            if (!same)
              throw new Error(`seed ${seed}: ${name}[${n}] is ${actual}, naive ${expected}`);
          });
        }
      }),
      { numRuns: 300 },
    );
  });
});
