/**
 * WGSL backend vs float64 references written from the math: einsum contractions, reductions and
 * softmax attention (causal, fully masked rows, grouped-query heads).
 */
import { describe, expect, it } from 'vitest';
import { tensor } from '../../../compiler/tensor.ts';
import * as B from '../../helpers/ir-build.ts';
import { assertAllClose } from '../../helpers/allclose.ts';
import { createRng } from '../../helpers/rng.ts';
import { offset, randomTensor, run } from './harness.ts';

const { A } = B;
const T = { timeout: 60_000 };

describe('contractions and reductions', () => {
  it('matmul-like einsum with an implicit sum', T, async () => {
    const rng = createRng(1);
    const [I, K, J] = [7, 13, 5];
    const a = randomTensor(rng, [I, K]);
    const b = randomTensor(rng, [K, J]);
    const p = B.program({
      inputs: [B.input('X', ['i', 'k']), B.input('W', ['k', 'j'])],
      body: [
        B.eq('C', ['i', 'j'], B.mul(B.read('X', 'i', 'k'), B.read('W', 'k', 'j')), { over: ['k'] }),
      ],
      outputs: ['C'],
    });
    const { C } = await run(p, { X: a.t, W: b.t });
    const ref = new Float64Array(I * J);
    for (let i = 0; i < I; i++)
      for (let j = 0; j < J; j++)
        for (let k = 0; k < K; k++) ref[i * J + j] += a.v[i * K + k] * b.v[k * J + j];
    assertAllClose(C, ref, { atol: 1e-5, rtol: 1e-5 });
  });

  it('max, min and sum reductions, several outputs, a rank-0 output', T, async () => {
    const rng = createRng(2);
    const [I, J] = [11, 17];
    const x = randomTensor(rng, [I, J], 3);
    const row = (f: (acc: number, v: number) => number, init: number) =>
      Float64Array.from({ length: I }, (_, i) => x.v.slice(i * J, (i + 1) * J).reduce(f, init));
    const p = B.program({
      inputs: [B.input('X', ['i', 'j'])],
      body: [
        B.eq('MX', ['i'], B.read('X', 'i', 'j'), { reduce: 'max', over: ['j'] }),
        B.eq('MN', ['i'], B.read('X', 'i', 'j'), { reduce: 'min', over: ['j'] }),
        B.eq('SM', ['i'], B.read('X', 'i', 'j'), { reduce: 'sum', over: ['j'] }),
        B.eq('ALL', [], B.read('X', 'i', 'j'), { reduce: 'sum', over: ['i', 'j'] }),
      ],
      outputs: ['MX', 'MN', 'SM', 'ALL'],
    });
    const out = await run(p, { X: x.t });
    expect([...out.MX]).toEqual([...row((a, v) => Math.max(a, v), -Infinity)].map(Math.fround));
    expect([...out.MN]).toEqual([...row((a, v) => Math.min(a, v), Infinity)].map(Math.fround));
    assertAllClose(
      out.SM,
      row((a, v) => a + v, 0),
      { atol: 1e-5, rtol: 1e-5 },
    );
    assertAllClose(out.ALL, [x.v.reduce((a, v) => a + v, 0)], { atol: 1e-4, rtol: 1e-5 });
  });
});

/** The unfused softmax cascade of VARIANTS.md §1.0, with `kv` the K/V head of a query head. */
function attention(opts: {
  filter?: ReturnType<typeof B.icmp>;
  kv?: Parameters<typeof B.sub>[0];
  consts?: ReturnType<typeof B.intConst>[];
  mask?: boolean;
}) {
  const kv = opts.kv ?? 'h';
  const scores = B.mul(
    B.mul(B.read('Q', 'b', 'h', 'p', 'e'), B.read('K', 'b', kv, 'm', 'e')),
    B.call('rsqrt', B.int('E')),
  );
  const filter = opts.mask ? B.read('Mask', 'b', 'p', 'm') : opts.filter;
  return B.program({
    inputs: [
      B.input('Q', ['b', 'h', 'p', 'e']),
      B.input('K', ['b', opts.kv ? 'hk' : 'h', 'm', 'e']),
      B.input('V', ['b', opts.kv ? 'hk' : 'h', 'm', 'f']),
      ...(opts.mask ? [B.input('Mask', ['b', 'p', 'm'], 'bool')] : []),
    ],
    consts: opts.consts,
    body: [
      B.eq('S', ['b', 'h', 'p', 'm'], scores, { over: ['e'], ...(filter ? { filter } : {}) }),
      B.eq('GM', ['b', 'h', 'p'], B.read('S', 'b', 'h', 'p', 'm'), { reduce: 'max', over: ['m'] }),
      B.eq(
        'SN',
        ['b', 'h', 'p', 'm'],
        B.call('exp', B.subtract(B.read('S', 'b', 'h', 'p', 'm'), B.read('GM', 'b', 'h', 'p'))),
      ),
      B.eq('SD', ['b', 'h', 'p'], B.read('SN', 'b', 'h', 'p', 'm'), { over: ['m'] }),
      B.eq(
        'AW',
        ['b', 'h', 'p', 'm'],
        B.div(B.read('SN', 'b', 'h', 'p', 'm'), B.read('SD', 'b', 'h', 'p')),
      ),
      B.eq(
        'O',
        ['b', 'h', 'p', 'f'],
        B.mul(B.read('AW', 'b', 'h', 'p', 'm'), B.read('V', 'b', kv, 'm', 'f')),
        { over: ['m'] },
      ),
    ],
    outputs: ['O'],
  });
}

interface AttentionCase {
  Bn: number;
  H: number;
  HK: number;
  P: number;
  M: number;
  E: number;
  F: number;
  keep: (b: number, p: number, m: number) => boolean;
}

/** softmax(QKᵀ/√E) V over the kept keys; a row with no kept key is all zeros. */
function attentionReference(
  c: AttentionCase,
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
): Float64Array {
  const { Bn, H, HK, P, M, E, F } = c;
  const out = new Float64Array(Bn * H * P * F);
  for (let b = 0; b < Bn; b++)
    for (let h = 0; h < H; h++) {
      const hk = Math.floor(h / (H / HK));
      for (let p = 0; p < P; p++) {
        const kept: [number, number][] = [];
        for (let m = 0; m < M; m++) {
          if (!c.keep(b, p, m)) continue;
          let dot = 0;
          for (let e = 0; e < E; e++)
            dot += q[offset([Bn, H, P, E], b, h, p, e)] * k[offset([Bn, HK, M, E], b, hk, m, e)];
          kept.push([dot / Math.sqrt(E), m]);
        }
        if (kept.length === 0) continue;
        const mx = Math.max(...kept.map(([x]) => x));
        const denom = kept.reduce((acc, [x]) => acc + Math.exp(x - mx), 0);
        for (const [x, m] of kept)
          for (let f = 0; f < F; f++)
            out[offset([Bn, H, P, F], b, h, p, f)] +=
              (Math.exp(x - mx) / denom) * v[offset([Bn, HK, M, F], b, hk, m, f)];
      }
    }
  return out;
}

describe('softmax attention', () => {
  it('causal filter, P != M', T, async () => {
    const rng = createRng(3);
    const c: AttentionCase = {
      Bn: 2,
      H: 3,
      HK: 3,
      P: 5,
      M: 7,
      E: 4,
      F: 3,
      keep: (_b, p, m) => m <= p,
    };
    const [q, k, v] = [
      [c.Bn, c.H, c.P, c.E],
      [c.Bn, c.H, c.M, c.E],
      [c.Bn, c.H, c.M, c.F],
    ].map((s) => randomTensor(rng, s));
    const { O } = await run(attention({ filter: B.icmp('<=', 'm', 'p') }), {
      Q: q.t,
      K: k.t,
      V: v.t,
    });
    assertAllClose(O, attentionReference(c, q.v, k.v, v.v), { atol: 2e-6, rtol: 1e-5 });
  });

  it('a fully masked row gives exact zeros, not NaN (filter and bool mask)', T, async () => {
    const rng = createRng(4);
    // The filter m <= p - 2 masks rows p = 0 and 1 completely.
    const c: AttentionCase = {
      Bn: 1,
      H: 2,
      HK: 2,
      P: 4,
      M: 4,
      E: 3,
      F: 2,
      keep: (_b, p, m) => m <= p - 2,
    };
    const [q, k, v] = [
      [1, 2, 4, 3],
      [1, 2, 4, 3],
      [1, 2, 4, 2],
    ].map((s) => randomTensor(rng, s));
    const filtered = await run(
      attention({ filter: B.icmp('<=', 'm', A.sub(A.index('p'), A.constant(2))) }),
      { Q: q.t, K: k.t, V: v.t },
    );
    const ref = attentionReference(c, q.v, k.v, v.v);
    assertAllClose(filtered.O, ref, { atol: 2e-6, rtol: 1e-5 });
    expect([...filtered.O.slice(0, 4)]).toEqual([0, 0, 0, 0]);

    const maskBits = Array.from({ length: 16 }, (_, i) =>
      Math.floor(i / 4) === 2 ? 0 : (i * 7) % 3 !== 0 ? 1 : 0,
    );
    maskBits[12] = 1; // row 3 keeps at least one key
    const masked = await run(attention({ mask: true }), {
      Q: q.t,
      K: k.t,
      V: v.t,
      Mask: tensor('bool', [1, 4, 4], maskBits),
    });
    const maskRef = attentionReference(
      { ...c, keep: (_b, p, m) => maskBits[p * 4 + m] === 1 },
      q.v,
      k.v,
      v.v,
    );
    assertAllClose(masked.O, maskRef, { atol: 2e-6, rtol: 1e-5 });
    for (const h of [0, 1])
      expect([
        ...masked.O.slice(offset([1, 2, 4, 2], 0, h, 2, 0), offset([1, 2, 4, 2], 0, h, 3, 0)),
      ]).toEqual([0, 0]);
    expect(masked.O.every((x) => !Number.isNaN(x))).toBe(true);
  });

  it('grouped-query attention reads K/V at hq / G', T, async () => {
    const rng = createRng(5);
    const c: AttentionCase = {
      Bn: 1,
      H: 6,
      HK: 2,
      P: 3,
      M: 5,
      E: 4,
      F: 2,
      keep: (_b, p, m) => m <= p + 1,
    };
    const [q, k, v] = [
      [1, 6, 3, 4],
      [1, 2, 5, 4],
      [1, 2, 5, 2],
    ].map((s) => randomTensor(rng, s));
    const G = B.intConst('G', A.floorDiv(A.symbol('H'), A.symbol('HK')));
    const p = attention({
      kv: A.floorDiv(A.index('h'), A.symbol('G')),
      consts: [G],
      filter: B.icmp('<=', 'm', A.add(A.index('p'), A.constant(1))),
    });
    const { O } = await run(p, { Q: q.t, K: k.t, V: v.t });
    assertAllClose(O, attentionReference(c, q.v, k.v, v.v), { atol: 2e-6, rtol: 1e-5 });
  });
});
