import { describe, expect, it } from 'vitest';
import { tensor } from '../../../compiler/tensor.ts';
import {
  A,
  eq,
  icmp,
  input,
  int,
  intConst,
  lit,
  mul,
  or,
  param,
  paramDecl,
  program,
  read,
  select,
  subtract,
} from '../../helpers/ir-build.ts';
import { build, f32, run } from './harness.ts';

const i = A.index('i');
const c = A.constant;
const xs = [10, 11, 12, 13, 14, 15, 16];
const X = () => tensor('f32', [xs.length], xs);
/** X[i] for i in range, else undefined (absent). */
const at = (n: number) => (n >= 0 && n < xs.length ? xs[n] : undefined);

/** A program `Y[i] = X[<subscript>]` over i in [0, I), plus its expected presence and values. */
function gather(
  subscript: ReturnType<typeof A.add>,
  params = {},
  extra: Parameters<typeof program>[0]['params'] = [],
) {
  const p = program({
    inputs: [input('X', ['i'])],
    params: extra,
    body: [eq('Y', ['i'], read('X', subscript))],
    outputs: ['Y'],
  });
  const r = run(p, { X: X() }, { params });
  return { present: r.present('Y'), out: r.out('Y') };
}

function expectGather(result: { present: number[]; out: number[] }, f: (i: number) => number) {
  const expected = xs.map((_, n) => at(f(n)));
  expect(result.present).toEqual(expected.map((v) => (v === undefined ? 0 : 1)));
  expect(result.out).toEqual(expected.map((v) => v ?? 0));
}

describe('subscripts', () => {
  it('reads past either edge are absent (X[i + 1], X[i - 2])', () => {
    expectGather(gather(A.add(i, c(1))), (n) => n + 1);
    expectGather(gather(A.sub(i, c(2))), (n) => n - 2);
  });

  it('a finite difference is absent at the edge and written as 0', () => {
    const p = program({
      inputs: [input('X', ['i'])],
      body: [eq('D', ['i'], subtract(read('X', A.add(i, c(1))), read('X', 'i')))],
      outputs: ['D'],
    });
    const r = run(p, { X: X() });
    expect(r.present('D')).toEqual([1, 1, 1, 1, 1, 1, 0]);
    expect(r.out('D')).toEqual([1, 1, 1, 1, 1, 1, 0]);
  });

  it('floor division and floor modulo of negative numbers (Python rounding)', () => {
    const shifted = A.sub(i, c(3));
    expectGather(gather(A.floorDiv(shifted, c(2))), (n) => Math.floor((n - 3) / 2));
    expectGather(gather(A.mod(shifted, c(4))), (n) => (((n - 3) % 4) + 4) % 4);
  });

  it('division and modulo by an i32 param; a zero divisor reads absent', () => {
    const d = [paramDecl('D', 'i32', lit(2))];
    expectGather(gather(A.floorDiv(i, A.symbol('D')), {}, d), (n) => Math.floor(n / 2));
    expectGather(gather(A.mod(i, A.symbol('D')), { D: 3 }, d), (n) => n % 3);
    expectGather(gather(A.floorDiv(i, A.symbol('D')), { D: 0 }, d), () => -1);
    expectGather(gather(A.mod(i, A.symbol('D')), { D: -2 }, d), () => -1);
  });

  it('clamped windows with min and max', () => {
    const I1 = A.sub(A.symbol('I'), c(1));
    expectGather(gather(A.min([A.add(i, c(2)), I1])), (n) => Math.min(n + 2, xs.length - 1));
    expectGather(gather(A.max([A.sub(i, c(2)), c(0)])), (n) => Math.max(n - 2, 0));
  });

  it('a product of indices and symbols (flattening r * C + c)', () => {
    const p = program({
      inputs: [input('Flat', ['n'])],
      consts: [intConst('R', 2), intConst('C', 3)],
      body: [
        eq('Y', ['r', 'c'], read('Flat', A.add(A.mul(A.index('r'), A.symbol('C')), A.index('c')))),
      ],
      outputs: ['Y'],
    });
    expect(A.asAtom(A.mul(A.index('r'), A.symbol('C')))?.kind).toBe('mul');
    const flat = [1, 2, 3, 4, 5, 6];
    expect(run(p, { Flat: tensor('f32', [6], flat) }).out('Y')).toEqual(flat);
  });

  it('an i32 tensor as a subscript (gather), out-of-range entries read absent', () => {
    const idx = Int32Array.from([2, -1, 0, 3, 1]);
    const p = program({
      inputs: [input('X', ['i', 'e']), input('Idx', ['j'], 'i32')],
      body: [eq('G', ['j', 'e'], read('X', A.read('Idx', [A.index('j')]), 'e'))],
      outputs: ['G'],
    });
    const x = build([3, 2], (r, e) => 10 * r + e);
    const r = run(p, { X: tensor('f32', [3, 2], x), Idx: tensor('i32', [5], idx) });
    const expected = build([5, 2], (j, e) => (idx[j] >= 0 && idx[j] < 3 ? x[idx[j] * 2 + e] : NaN));
    expect(r.present('G')).toEqual(expected.map((v) => (Number.isNaN(v) ? 0 : 1)));
    expect(r.out('G')).toEqual(expected.map((v) => (Number.isNaN(v) ? 0 : v)));
  });

  it('an index used as a value (ALiBi-like slope * (m - p))', () => {
    const p = program({
      inputs: [input('Q', ['p']), input('K', ['m'])],
      params: [paramDecl('slope', 'f32', lit(-0.5))],
      body: [eq('Bias', ['p', 'm'], mul(param('slope'), int(A.sub(A.index('m'), A.index('p')))))],
      outputs: ['Bias'],
    });
    const inputs = { Q: tensor('f32', [3], [0, 0, 0]), K: tensor('f32', [4], [0, 0, 0, 0]) };
    expect(run(p, inputs).out('Bias')).toEqual(f32(build([3, 4], (p_, m) => -0.5 * (m - p_))));
    expect(run(p, inputs, { params: { slope: 2 } }).out('Bias')).toEqual(
      build([3, 4], (p_, m) => 2 * (m - p_)),
    );
  });

  it('select needs only the operand it picks', () => {
    const last = A.sub(A.symbol('I'), c(1));
    const p = program({
      inputs: [input('X', ['i'])],
      body: [
        // At the last i the unchosen X[i + 1] is out of bounds: still present.
        eq('Y', ['i'], select(icmp('<', 'i', last), read('X', A.add(i, c(1))), lit(-7))),
        // Here the chosen operand X[i + 5] is out of bounds at the last i: absent.
        eq('Z', ['i'], select(icmp('<', 'i', last), lit(1), read('X', A.add(i, c(5))))),
      ],
      outputs: ['Y', 'Z'],
    });
    const r = run(p, { X: X() });
    expect(r.out('Y')).toEqual([11, 12, 13, 14, 15, 16, -7]);
    expect(r.present('Z')).toEqual([1, 1, 1, 1, 1, 1, 0]);
  });

  it('|| with an absent operand is absent, so the filter is false (ir.ts: strict element-wise)', () => {
    const p = program({
      inputs: [input('X', ['i']), input('Mask', ['j'], 'bool')],
      body: [
        eq('Y', ['i'], read('X', 'i'), {
          filter: or(icmp('<', 'i', 2), read('Mask', A.sub(i, c(2)))),
        }),
      ],
      outputs: ['Y'],
    });
    const r = run(p, { X: X(), Mask: tensor('bool', [3], [1, 0, 1]) });
    // i = 0, 1: Mask[i - 2] is out of bounds, so the filter is absent → false despite i < 2.
    expect(r.present('Y')).toEqual([0, 0, 1, 0, 1, 0, 0]);
  });
});
