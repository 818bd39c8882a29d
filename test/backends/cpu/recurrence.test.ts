import { describe, expect, it } from 'vitest';
import type { Affine } from '../../../compiler/ir.ts';
import { tensor } from '../../../compiler/tensor.ts';
import { assertAllClose } from '../../helpers/allclose.ts';
import {
  A,
  add,
  bool,
  call,
  cmp,
  div,
  eq,
  icmp,
  input,
  intConst,
  lit,
  mul,
  or,
  param,
  paramDecl,
  program,
  read,
  rec,
  subtract,
} from '../../helpers/ir-build.ts';
import { createRng } from '../../helpers/rng.ts';
import { build, run } from './harness.ts';

const TOL = { atol: 1e-6, rtol: 1e-5 };
const rng = createRng(99);
const m = A.index('m');
const next = (x: string) => A.add(A.index(x), A.constant(1));

describe('recurrences', () => {
  const [B, M] = [2, 6];
  const x = Float32Array.from(rng.randnArray(B * M));
  const X = (b: number, i: number) => x[b * M + i];

  it('running max and cumulative sum along an axis; the final value is read at the extent', () => {
    const p = program({
      inputs: [input('X', ['b', 'm'])],
      body: [
        rec(
          'RM',
          ['b', 'm'],
          1,
          lit(-Infinity),
          call('max', read('RM', 'b', 'm'), read('X', 'b', 'm')),
        ),
        rec('CS', ['b', 'm'], 1, lit(0), add(read('CS', 'b', 'm'), read('X', 'b', 'm'))),
        eq('Total', ['b'], read('CS', 'b', 'M')),
      ],
      outputs: ['RM', 'CS', 'Total'],
    });
    const r = run(p, { X: tensor('f32', [B, M], x) });
    expect(r.raw('RM').shape).toEqual([B, M + 1]);
    const prefix = (f: (acc: number, v: number) => number, init: number) =>
      build([B, M + 1], (b, s) => {
        let acc = init;
        for (let i = 0; i < s; i++) acc = f(acc, X(b, i));
        return acc;
      });
    expect([...r.raw('RM').values]).toEqual(prefix(Math.max, -Infinity));
    const sums = prefix((a, v) => a + v, 0);
    assertAllClose(r.raw('CS').values, sums, TOL);
    assertAllClose(r.out('Total'), [sums[M], sums[2 * M + 1]], TOL);
  });

  it('a filter that skips steps carries the previous value over', () => {
    const even = icmp('==', A.mod(m, A.constant(2)), 0);
    const p = program({
      inputs: [input('X', ['b', 'm'])],
      body: [
        rec('CE', ['b', 'm'], 1, lit(0), add(read('CE', 'b', 'm'), read('X', 'b', 'm')), {
          filter: even,
        }),
        rec('CP', ['b', 'm'], 1, lit(0), add(read('CP', 'b', 'm'), read('X', 'b', 'm')), {
          filter: cmp('>', read('X', 'b', 'm'), lit(0)),
        }),
      ],
      outputs: ['CE', 'CP'],
    });
    const r = run(p, { X: tensor('f32', [B, M], x) });
    const prefix = (keep: (b: number, i: number) => boolean) =>
      build([B, M + 1], (b, s) => {
        let acc = 0;
        for (let i = 0; i < s; i++) if (keep(b, i)) acc += X(b, i);
        return acc;
      });
    assertAllClose(
      r.raw('CE').values,
      prefix((_, i) => i % 2 === 0),
      TOL,
    );
    assertAllClose(
      r.raw('CP').values,
      prefix((b, i) => X(b, i) > 0),
      TOL,
    );
  });

  it('an absent body carries over; an absent init stays absent', () => {
    const p = program({
      inputs: [input('X', ['b', 'm'])],
      body: [
        // X[b, m + 1] is out of bounds at the last step.
        rec('C', ['b', 'm'], 1, lit(0), add(read('C', 'b', 'm'), read('X', 'b', next('m')))),
        // X[b - 1, 0] is out of bounds for b = 0.
        rec(
          'R',
          ['b', 'm'],
          1,
          read('X', A.sub(A.index('b'), A.constant(1)), 0),
          add(read('R', 'b', 'm'), lit(1)),
        ),
      ],
      outputs: ['C', 'R'],
    });
    const r = run(p, { X: tensor('f32', [B, M], x) });
    const c = r.raw('C').values;
    expect(c[M]).toBe(c[M - 1]);
    expect(r.present('R')).toEqual(build([B, M + 1], (b) => b));
    expect(r.raw('R').values[M + 1 + M]).toBe(X(0, 0) + M);
  });

  it('a boolean recurrence ("seen a positive value")', () => {
    const p = program({
      inputs: [input('X', ['b', 'm'])],
      body: [
        rec(
          'F',
          ['b', 'm'],
          1,
          bool(false),
          or(read('F', 'b', 'm'), cmp('>', read('X', 'b', 'm'), lit(0))),
        ),
      ],
      outputs: ['F'],
    });
    const expected = build([B, M + 1], (b, s) =>
      Array.from({ length: s }, (_, i) => X(b, i)).some((v) => v > 0) ? 1 : 0,
    );
    expect(run(p, { X: tensor('f32', [B, M], x) }).out('F')).toEqual(expected);
  });

  it('a reduction inside the step (state ← W · state); a step whose filter rejects all carries', () => {
    const [T, E] = [5, 3];
    const w = Float32Array.from(rng.randnArray(E * E, 0.5));
    const x0 = Float32Array.from(rng.randnArray(E));
    const step = (target: string) => mul(read('W', 'e', 'g'), read(target, 't', 'g'));
    const evenStep = icmp('==', A.mod(A.index('t'), A.constant(2)), 0);
    const p = program({
      inputs: [input('W', ['e', 'g']), input('X0', ['e'])],
      consts: [intConst('T', T)],
      body: [
        rec('ST', ['t', 'e'], 0, read('X0', 'e'), step('ST'), { over: ['g'] }),
        rec('SO', ['t', 'e'], 0, read('X0', 'e'), step('SO'), { over: ['g'], filter: evenStep }),
      ],
      outputs: ['ST', 'SO'],
    });
    const r = run(p, { W: tensor('f32', [E, E], w), X0: tensor('f32', [E], x0) });
    const expected = (skipOdd: boolean) => {
      const out: number[] = [...x0];
      let s = [...x0];
      for (let t = 0; t < T; t++) {
        if (!skipOdd || t % 2 === 0)
          s = s.map((_, e) => s.reduce((acc, v, g) => acc + w[e * E + g] * v, 0));
        out.push(...s);
      }
      return out;
    };
    assertAllClose(r.raw('ST').values, expected(false), TOL);
    assertAllClose(r.raw('SO').values, expected(true), TOL);
  });

  it('causal linear attention with decay: recurrent form = quadratic form', () => {
    const [T, E, F] = [7, 3, 2];
    const q = Float32Array.from(rng.randnArray(T * E));
    const k = Float32Array.from(rng.randnArray(T * E));
    const v = Float32Array.from(rng.randnArray(T * F));
    // init KV[0, e, f] = 0;  KV[t + 1, e, f] = lam * KV[t, e, f] + K[t, e] * V[t, f]
    // O[t, f] = Q[t, e] * KV[t + 1, e, f]
    const p = program({
      inputs: [input('Q', ['t', 'e']), input('K', ['t', 'e']), input('V', ['t', 'f'])],
      params: [paramDecl('lam', 'f32', lit(0.9))],
      body: [
        rec(
          'KV',
          ['t', 'e', 'f'],
          0,
          lit(0),
          add(
            mul(param('lam'), read('KV', 't', 'e', 'f')),
            mul(read('K', 't', 'e'), read('V', 't', 'f')),
          ),
        ),
        eq('O', ['t', 'f'], mul(read('Q', 't', 'e'), read('KV', next('t'), 'e', 'f')), {
          over: ['e'],
        }),
      ],
      outputs: ['O'],
    });
    const inputs = {
      Q: tensor('f32', [T, E], q),
      K: tensor('f32', [T, E], k),
      V: tensor('f32', [T, F], v),
    };
    const expected = build([T, F], (t, f) => {
      let s = 0;
      for (let j = 0; j <= t; j++) {
        let dot = 0;
        for (let e = 0; e < E; e++) dot += q[t * E + e] * k[j * E + e];
        s += 0.9 ** (t - j) * dot * v[j * F + f];
      }
      return s;
    });
    assertAllClose(run(p, inputs).out('O'), expected, TOL);
  });

  it('prefix softmax by the FuseMax 1-pass recurrence (Aaren) = direct prefix softmax', () => {
    const [N, F] = [6, 2];
    const s = Float32Array.from(rng.randnArray(2 * N, 2));
    const v = Float32Array.from(rng.randnArray(2 * N * F));
    const rm = (at: Affine | string) => read('RM', 'b', at);
    const p = program({
      inputs: [input('S', ['b', 'm']), input('V', ['b', 'm', 'f'])],
      body: [
        rec('RM', ['b', 'm'], 1, lit(-Infinity), call('max', rm('m'), read('S', 'b', 'm'))),
        rec(
          'RD',
          ['b', 'm'],
          1,
          lit(0),
          add(
            mul(read('RD', 'b', 'm'), call('exp', subtract(rm('m'), rm(next('m'))))),
            call('exp', subtract(read('S', 'b', 'm'), rm(next('m')))),
          ),
        ),
        rec(
          'RN',
          ['b', 'm', 'f'],
          1,
          lit(0),
          add(
            mul(read('RN', 'b', 'm', 'f'), call('exp', subtract(rm('m'), rm(next('m'))))),
            mul(
              call('exp', subtract(read('S', 'b', 'm'), rm(next('m')))),
              read('V', 'b', 'm', 'f'),
            ),
          ),
        ),
        eq('O', ['b', 't', 'f'], div(read('RN', 'b', next('t'), 'f'), read('RD', 'b', next('t')))),
      ],
      consts: [intConst('T', 'M')],
      outputs: ['O'],
    });
    const r = run(p, { S: tensor('f32', [2, N], s), V: tensor('f32', [2, N, F], v) });
    const expected = build([2, N, F], (b, t, f) => {
      const row = Array.from(s.subarray(b * N, b * N + t + 1));
      const mx = Math.max(...row);
      const ws = row.map((z) => Math.exp(z - mx));
      const total = ws.reduce((a, c) => a + c, 0);
      return ws.reduce((a, wgt, j) => a + (wgt / total) * v[(b * N + j) * F + f], 0);
    });
    assertAllClose(r.out('O'), expected, TOL);
  });
});
