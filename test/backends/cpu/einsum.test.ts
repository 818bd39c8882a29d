import { describe, expect, it } from 'vitest';
import { tensor } from '../../../compiler/tensor.ts';
import { assertAllClose } from '../../helpers/allclose.ts';
import {
  A,
  and,
  bool,
  call,
  eq,
  icmp,
  input,
  lit,
  mul,
  not,
  or,
  program,
  read,
  select,
} from '../../helpers/ir-build.ts';
import { createRng } from '../../helpers/rng.ts';
import { build, f32, run } from './harness.ts';

const TOL = { atol: 1e-6, rtol: 1e-6 };
const rng = createRng(2024);
const randomF32 = (shape: number[]) =>
  tensor('f32', shape, Float32Array.from(rng.randnArray(shape.reduce((a, b) => a * b, 1))));

describe('einsum equations', () => {
  it('matrix product with an implicit sum', () => {
    const [I, K, J] = [3, 4, 5];
    const a = randomF32([I, K]);
    const b = randomF32([K, J]);
    const p = program({
      inputs: [input('A', ['i', 'k']), input('B', ['k', 'j'])],
      body: [eq('C', ['i', 'j'], mul(read('A', 'i', 'k'), read('B', 'k', 'j')), { over: ['k'] })],
      outputs: ['C'],
    });
    const expected = build([I, J], (i, j) => {
      let s = 0;
      for (let k = 0; k < K; k++) s += a.data[i * K + k] * b.data[k * J + j];
      return s;
    });
    assertAllClose(run(p, { A: a, B: b }).out('C'), expected, TOL);
  });

  it('max, min and sum over one and several indices, in any order, down to a scalar', () => {
    const [I, J, K] = [3, 4, 5];
    const x = randomF32([I, J, K]);
    const X = (i: number, j: number, k: number) => x.data[(i * J + j) * K + k];
    const p = program({
      inputs: [input('X', ['i', 'j', 'k'])],
      body: [
        eq('MX', ['i'], read('X', 'i', 'j', 'k'), { reduce: 'max', over: ['j', 'k'] }),
        eq('MN', ['i', 'k'], read('X', 'i', 'j', 'k'), { reduce: 'min', over: ['j'] }),
        eq('SM', [], read('X', 'i', 'j', 'k'), { reduce: 'sum', over: ['k', 'i', 'j'] }),
        eq('MK', ['k'], read('X', 'i', 'j', 'k'), { reduce: 'max', over: ['j', 'i'] }),
      ],
      outputs: ['MX', 'MN', 'SM', 'MK'],
    });
    const r = run(p, { X: x });
    const range = (n: number) => [...Array(n).keys()];
    const all = (f: (i: number, j: number, k: number) => boolean) =>
      range(I).flatMap((i) =>
        range(J).flatMap((j) =>
          range(K)
            .filter((k) => f(i, j, k))
            .map((k) => X(i, j, k)),
        ),
      );
    expect(r.out('MX')).toEqual(f32(range(I).map((i) => Math.max(...all((a) => a === i)))));
    expect(r.out('MN')).toEqual(
      f32(build([I, K], (i, k) => Math.min(...all((a, _, c) => a === i && c === k)))),
    );
    expect(r.out('MK')).toEqual(f32(range(K).map((k) => Math.max(...all((_, __, c) => c === k)))));
    expect(r.raw('SM').shape).toEqual([]);
    assertAllClose(r.out('SM'), [all(() => true).reduce((a, b) => a + b, 0)], TOL);
  });

  it('element-wise filters: affine compare, bool mask, &&, ||, !, and % in a comparison', () => {
    const [I, J] = [4, 5];
    const x = randomF32([I, J]);
    const mask = Uint8Array.from({ length: I * J }, () => (rng.next() < 0.5 ? 1 : 0));
    const filter = and(or(read('Mask', 'i', 'j'), icmp('<', 'j', 2)), not(icmp('==', 'i', 'j')));
    const parity = icmp('==', A.mod(A.add(A.index('i'), A.index('j')), A.constant(2)), 0);
    const p = program({
      inputs: [input('X', ['i', 'j']), input('Mask', ['i', 'j'], 'bool')],
      body: [
        eq('Y', ['i', 'j'], read('X', 'i', 'j'), { filter }),
        eq('Z', ['i', 'j'], read('X', 'i', 'j'), { filter: parity }),
      ],
      outputs: ['Y', 'Z'],
    });
    const r = run(p, { X: x, Mask: tensor('bool', [I, J], mask) });
    const keepY = build([I, J], (i, j) => ((mask[i * J + j] === 1 || j < 2) && i !== j ? 1 : 0));
    const keepZ = build([I, J], (i, j) => ((i + j) % 2 === 0 ? 1 : 0));
    expect(r.present('Y')).toEqual(keepY);
    expect(r.out('Y')).toEqual(keepY.map((k, n) => (k ? x.data[n] : 0)));
    expect(r.out('Z')).toEqual(keepZ.map((k, n) => (k ? x.data[n] : 0)));
  });

  it('a filter over several reduced indices', () => {
    const [I, J, K] = [2, 4, 4];
    const x = randomF32([I, J, K]);
    const p = program({
      inputs: [input('X', ['i', 'j', 'k'])],
      body: [
        eq('U', ['i'], read('X', 'i', 'j', 'k'), { over: ['j', 'k'], filter: icmp('<', 'j', 'k') }),
      ],
      outputs: ['U'],
    });
    const expected = [0, 1].map((i) => {
      let s = 0;
      for (let j = 0; j < J; j++) for (let k = j + 1; k < K; k++) s += x.data[(i * J + j) * K + k];
      return s;
    });
    assertAllClose(run(p, { X: x }).out('U'), expected, TOL);
  });

  it('empty reductions: identity when the operands are absent, absent when the filter rejects all', () => {
    const x = randomF32([3, 3]);
    const p = program({
      inputs: [input('X', ['i', 'j'])],
      body: [
        // Row 0 of Y is entirely absent (filter j < i), so W[0] reduces nothing present.
        eq('Y', ['i', 'j'], read('X', 'i', 'j'), { filter: icmp('<', 'j', 'i') }),
        eq('W', ['i'], read('Y', 'i', 'j'), { reduce: 'max', over: ['j'] }),
        eq('WS', ['i'], read('Y', 'i', 'j'), { reduce: 'sum', over: ['j'] }),
        eq('WN', ['i'], read('Y', 'i', 'j'), { reduce: 'min', over: ['j'] }),
        // The filter itself rejects every j of row 0: that point is absent.
        eq('V', ['i'], read('X', 'i', 'j'), {
          reduce: 'max',
          over: ['j'],
          filter: icmp('<', 'j', 'i'),
        }),
      ],
      outputs: ['W', 'V'],
    });
    const r = run(p, { X: x });
    expect(r.raw('W').values[0]).toBe(-Infinity);
    expect(r.raw('WN').values[0]).toBe(Infinity);
    expect(r.raw('WS').values[0]).toBe(0);
    expect(r.present('W')).toEqual([1, 1, 1]);
    expect(r.present('V')).toEqual([0, 1, 1]);
    expect(r.out('V')).toEqual(f32([0, x.data[3], Math.max(x.data[6], x.data[7])]));
  });

  it('a boolean intermediate used as a mask, and output as 1/0', () => {
    const x = randomF32([3, 3]);
    const p = program({
      inputs: [input('X', ['p', 'm'])],
      body: [
        eq('Causal', ['p', 'm'], icmp('<=', 'm', 'p')),
        eq('Y', ['p', 'm'], read('X', 'p', 'm'), { filter: read('Causal', 'p', 'm') }),
        eq('C2', ['p', 'm'], select(read('Causal', 'p', 'm'), bool(false), bool(true))),
      ],
      outputs: ['Causal', 'Y', 'C2'],
    });
    const r = run(p, { X: x });
    const causal = build([3, 3], (p_, m) => (m <= p_ ? 1 : 0));
    expect(r.out('Causal')).toEqual(causal);
    expect(r.out('C2')).toEqual(causal.map((c) => 1 - c));
    expect(r.out('Y')).toEqual(causal.map((c, n) => (c ? x.data[n] : 0)));
  });

  it('element-wise functions follow their formulas', () => {
    const xs = [-3, -0.5, 0, 0.75, 2];
    const x = tensor('f32', [5], xs);
    const p = program({
      inputs: [input('X', ['i'])],
      body: [
        eq('SG', ['i'], call('sigmoid', read('X', 'i'))),
        eq('SP', ['i'], call('softplus', read('X', 'i'))),
        eq('PW', ['i'], call('pow', call('abs', read('X', 'i')), lit(1.5))),
        eq('SN', ['i'], call('sign', read('X', 'i'))),
        eq('RL', ['i'], call('relu', read('X', 'i'))),
      ],
      outputs: ['SG', 'SP', 'PW', 'SN', 'RL'],
    });
    const r = run(p, { X: x });
    assertAllClose(
      r.out('SG'),
      xs.map((v) => 1 / (1 + Math.exp(-v))),
      TOL,
    );
    assertAllClose(
      r.out('SP'),
      xs.map((v) => Math.log(1 + Math.exp(v))),
      TOL,
    );
    assertAllClose(
      r.out('PW'),
      xs.map((v) => Math.abs(v) ** 1.5),
      TOL,
    );
    expect(r.out('SN')).toEqual([-1, -1, 0, 1, 1]);
    expect(r.out('RL')).toEqual([0, 0, 0, 0.75, 2]);
  });
});
