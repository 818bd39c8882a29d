/**
 * The element-wise functions of the WGSL prelude against their definitions in
 * compiler/scalar.ts (the meaning the interpreter uses), over ordinary, large, tiny and special
 * inputs.
 */
import { describe, expect, it } from 'vitest';
import { ELEMENTWISE_FUNCTIONS, type ElementwiseFn } from '../../../compiler/ir.ts';
import { applyArithmetic, applyFunction } from '../../../compiler/scalar.ts';
import { tensor } from '../../../compiler/tensor.ts';
import * as B from '../../helpers/ir-build.ts';
import { assertAllClose } from '../../helpers/allclose.ts';
import { run } from './harness.ts';

const T = { timeout: 60_000 };

const XS = [
  -100, -30, -10.5, -3, -2, -1, -0.5, -1e-4, -1e-30, 0, 1e-30, 1e-4, 0.5, 1, 2, 3, 7.25, 30, 88,
  100,
];
const PAIRS: [number, number][] = [
  [2, 3],
  [-2, 3],
  [-2, 2],
  [-8, 1 / 3],
  [0, 2],
  [0, -1],
  [0, 0],
  [4, 0.5],
  [1.5, -2],
  [-1.5, -3],
  [10, 10],
  [-3, 7],
];

/** Where f32 evaluation of `fn` at `x` can be compared with the float64 definition. */
function tolerance(fn: ElementwiseFn): { atol: number; rtol: number } {
  return fn === 'pow' || fn === 'exp' ? { atol: 1e-30, rtol: 2e-5 } : { atol: 1e-6, rtol: 2e-6 };
}

describe('element-wise functions match compiler/scalar.ts', () => {
  const unary = (Object.keys(ELEMENTWISE_FUNCTIONS) as ElementwiseFn[]).filter(
    (f) => ELEMENTWISE_FUNCTIONS[f] === 1,
  );

  it.each(unary)('%s', T, async (fn) => {
    const p = B.program({
      inputs: [B.input('X', ['i'])],
      body: [B.eq('Y', ['i'], B.call(fn, B.read('X', 'i')))],
      outputs: ['Y'],
    });
    const xs = XS.map(Math.fround);
    const { Y } = await run(p, { X: tensor('f32', [xs.length], xs) });
    const ref = xs.map((x) => Math.fround(applyFunction(fn, x)));
    // exp overflows f32 above ~88.7 on both sides; compare where the reference is finite.
    const finite = ref.map((r, k) => (Number.isFinite(r) ? k : -1)).filter((k) => k >= 0);
    assertAllClose(
      finite.map((k) => Y[k]),
      finite.map((k) => ref[k]),
      tolerance(fn),
      fn,
    );
    for (let k = 0; k < ref.length; k++)
      if (!Number.isFinite(ref[k]) && !Number.isNaN(ref[k])) expect(Y[k]).toBe(ref[k]);
  });

  it.each(['min', 'max', 'pow'] as const)('%s', T, async (fn) => {
    const p = B.program({
      inputs: [B.input('X', ['i']), B.input('Z', ['i'])],
      body: [B.eq('Y', ['i'], B.call(fn, B.read('X', 'i'), B.read('Z', 'i')))],
      outputs: ['Y'],
    });
    const xs = PAIRS.map(([x]) => Math.fround(x));
    const zs = PAIRS.map(([, z]) => Math.fround(z));
    const { Y } = await run(p, {
      X: tensor('f32', [xs.length], xs),
      Z: tensor('f32', [zs.length], zs),
    });
    const ref = xs.map((x, k) => Math.fround(applyFunction(fn, x, zs[k])));
    expect(ref.map((r, k) => (Number.isNaN(r) ? Number.isNaN(Y[k]) : true))).not.toContain(false);
    const ok = ref.map((r, k) => (Number.isFinite(r) ? k : -1)).filter((k) => k >= 0);
    assertAllClose(
      ok.map((k) => Y[k]),
      ok.map((k) => ref[k]),
      tolerance(fn),
      fn,
    );
    for (let k = 0; k < ref.length; k++)
      if (ref[k] === Infinity || ref[k] === -Infinity) expect(Y[k]).toBe(ref[k]);
  });

  it('arithmetic, infinite literals and int conversion', T, async () => {
    const p = B.program({
      inputs: [B.input('X', ['i'])],
      body: [
        B.eq('Y', ['i'], B.add(B.mul(B.read('X', 'i'), B.lit(3)), B.div(B.int('i'), B.lit(4)))),
        B.eq(
          'Big',
          ['i'],
          B.select(B.cmp('<', B.read('X', 'i'), B.lit(Infinity)), B.lit(-Infinity), B.lit(1)),
        ),
      ],
      outputs: ['Y', 'Big'],
    });
    const xs = [1.5, -2, 0.25];
    const out = await run(p, { X: tensor('f32', [3], xs) });
    expect([...out.Y]).toEqual(xs.map((x, k) => Math.fround(applyArithmetic('+', x * 3, k / 4))));
    expect([...out.Big]).toEqual([-Infinity, -Infinity, -Infinity]);
  });
});
