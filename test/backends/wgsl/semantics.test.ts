/**
 * The absent-value and integer rules of compiler/ir.ts on the GPU, each against a reference
 * computed by hand or in float64 from the rule itself.
 */
import { describe, expect, it } from 'vitest';
import { f16ToF32, f32ToF16, tensor } from '../../../compiler/tensor.ts';
import * as B from '../../helpers/ir-build.ts';
import { assertAllClose } from '../../helpers/allclose.ts';
import { createRng } from '../../helpers/rng.ts';
import { getTestDevice, testBackend } from '../../helpers/gpu.ts';
import { randomTensor, run } from './harness.ts';

const { A } = B;
const T = { timeout: 60_000 };
const i = A.index('i');

describe('absent values', () => {
  it('an out-of-bounds affine read is absent: written as 0, skipped by reductions', T, async () => {
    const X = [-5, -3, -8, -2, -7];
    const Kern = [1, 10, 100];
    const p = B.program({
      inputs: [B.input('X', ['i']), B.input('Kern', ['j'])],
      body: [
        B.eq('Y', ['i'], B.read('X', A.add(i, A.constant(1)))),
        // If the absent Y[4] counted as 0, the max would be 0.
        B.eq('MY', [], B.read('Y', 'i'), { reduce: 'max', over: ['i'] }),
        // A convolution whose window falls off both ends: those terms are skipped.
        B.eq(
          'W',
          ['i'],
          B.mul(B.read('X', A.sub(A.add(i, A.index('j')), A.constant(1))), B.read('Kern', 'j')),
          { over: ['j'] },
        ),
      ],
      outputs: ['Y', 'MY', 'W'],
    });
    const out = await run(p, { X: tensor('f32', [5], X), Kern: tensor('f32', [3], Kern) });
    expect([...out.Y]).toEqual([-3, -8, -2, -7, 0]);
    expect([...out.MY]).toEqual([-2]);
    const conv = X.map((_, r) =>
      [0, 1, 2].reduce(
        (a, j) => (r + j - 1 >= 0 && r + j - 1 < 5 ? a + X[r + j - 1] * Kern[j] : a),
        0,
      ),
    );
    expect([...out.W]).toEqual(conv);
  });

  it(
    'a bool mask filters points; a reduction whose filter admits nothing is absent',
    T,
    async () => {
      const X = [1, 2, 3, 4, 5, 6];
      const mask = [1, 0, 1, 0, 0, 0];
      const p = B.program({
        inputs: [B.input('X', ['i', 'j']), B.input('Mask', ['i', 'j'], 'bool')],
        body: [
          B.eq('Y', ['i', 'j'], B.read('X', 'i', 'j'), { filter: B.read('Mask', 'i', 'j') }),
          B.eq('Z', ['i'], B.read('X', 'i', 'j'), {
            over: ['j'],
            filter: B.read('Mask', 'i', 'j'),
          }),
          // Reading the mask out of bounds (j + 1 = J) is a false filter.
          B.eq('N', ['i', 'j'], B.read('X', 'i', 'j'), {
            filter: B.not(B.read('Mask', 'i', A.add(A.index('j'), A.constant(1)))),
          }),
          // Absent Z[1] makes this absent too, while 0 + 1 would be 1.
          B.eq('Z1', ['i'], B.add(B.read('Z', 'i'), B.lit(1))),
        ],
        outputs: ['Y', 'Z', 'N', 'Z1'],
      });
      const out = await run(p, { X: tensor('f32', [2, 3], X), Mask: tensor('bool', [2, 3], mask) });
      expect([...out.Y]).toEqual([1, 0, 3, 0, 0, 0]);
      expect([...out.Z]).toEqual([4, 0]);
      expect([...out.N]).toEqual([1, 0, 0, 4, 5, 0]);
      expect([...out.Z1]).toEqual([5, 0]);
    },
  );

  it('a boolean intermediate (stored as 0/1) used as a filter and returned', T, async () => {
    const p = B.program({
      inputs: [B.input('X', ['i', 'j'])],
      body: [
        B.eq('Pos', ['i', 'j'], B.cmp('>', B.read('X', 'i', 'j'), B.lit(0))),
        B.eq('Y', ['i'], B.read('X', 'i', 'j'), { over: ['j'], filter: B.read('Pos', 'i', 'j') }),
      ],
      outputs: ['Pos', 'Y'],
    });
    const out = await run(p, { X: tensor('f32', [2, 3], [1, -2, 3, -4, -5, -6]) });
    expect([...out.Pos]).toEqual([1, 0, 1, 0, 0, 0]);
    expect([...out.Y]).toEqual([4, 0]);
  });

  it('rank-0 inputs and outputs (no indices, no uniforms)', T, async () => {
    const p = B.program({
      inputs: [B.input('X', [])],
      body: [B.eq('Y', [], B.call('exp', B.read('X')))],
      outputs: ['Y'],
    });
    expect([...(await run(p, { X: tensor('f32', [], [0]) })).Y]).toEqual([1]);
  });

  it('select needs only the operand it picks', T, async () => {
    const p = B.program({
      inputs: [B.input('X', ['i'])],
      body: [
        B.eq(
          'Y',
          ['i'],
          B.select(
            B.icmp('<', A.add(i, A.constant(1)), A.symbol('I')),
            B.read('X', A.add(i, A.constant(1))),
            B.lit(-1),
          ),
        ),
      ],
      outputs: ['Y'],
    });
    const out = await run(p, { X: tensor('f32', [4], [10, 20, 30, 40]) });
    expect([...out.Y]).toEqual([20, 30, 40, -1]);
  });

  it('a tensor defined piecewise over disjoint filters', T, async () => {
    const p = B.program({
      inputs: [B.input('X', ['i'])],
      body: [
        B.eq('Y', ['i'], B.read('X', 'i'), { filter: B.icmp('<', 'i', 2) }),
        B.eq('Y', ['i'], B.neg(B.read('X', 'i')), { filter: B.icmp('>=', 'i', 3) }),
      ],
      outputs: ['Y'],
    });
    const out = await run(p, { X: tensor('f32', [5], [1, 2, 3, 4, 5]) });
    expect([...out.Y]).toEqual([1, 2, 0, -4, -5]);
  });
});

describe('integers', () => {
  it('an i32 tensor in a filter (sequence lengths) and as a gather index', T, async () => {
    const rng = createRng(7);
    const x = randomTensor(rng, [3, 4]);
    const len = [2, 0, 4];
    const idx = [2, -1, 0, 5];
    const p = B.program({
      inputs: [
        B.input('X', ['b', 'm']),
        B.input('Len', ['b'], 'i32'),
        B.input('Idx', ['g'], 'i32'),
      ],
      body: [
        B.eq('S', ['b'], B.read('X', 'b', 'm'), {
          over: ['m'],
          filter: B.icmp('<', 'm', A.read('Len', [A.index('b')])),
        }),
        B.eq('G', ['g', 'm'], B.read('X', A.read('Idx', [A.index('g')]), 'm')),
      ],
      outputs: ['S', 'G'],
    });
    const out = await run(p, {
      X: x.t,
      Len: tensor('i32', [3], len),
      Idx: tensor('i32', [4], idx),
    });
    const rowSum = (b: number, n: number) => x.v.slice(b * 4, b * 4 + n).reduce((a, v) => a + v, 0);
    // Len[1] = 0 admits no m: absent, written as 0.
    assertAllClose(out.S, [rowSum(0, 2), 0, rowSum(2, 4)], { atol: 1e-6, rtol: 1e-6 });
    const gathered = idx.flatMap((r) =>
      r >= 0 && r < 3 ? [...x.v.slice(r * 4, r * 4 + 4)] : [0, 0, 0, 0],
    );
    expect([...out.G]).toEqual(gathered);
  });

  it('floor division and modulo of negative numbers; a zero divisor is absent', T, async () => {
    const num = A.sub(i, A.constant(5));
    const p = B.program({
      inputs: [B.input('X', ['i'])],
      params: [B.paramDecl('d', 'i32', B.lit(0))],
      body: [
        B.eq('Q', ['i'], B.int(A.floorDiv(num, A.constant(3)))),
        B.eq('R', ['i'], B.int(A.mod(num, A.constant(3)))),
        B.eq('QD', ['i'], B.int(A.floorDiv(num, A.symbol('d')))),
        B.eq('RD', ['i'], B.add(B.int(A.mod(num, A.symbol('d'))), B.lit(100))),
      ],
      outputs: ['Q', 'R', 'QD', 'RD'],
    });
    const X = tensor('f32', [9], new Float32Array(9));
    const values = Array.from({ length: 9 }, (_, k) => k - 5);
    const out = await run(p, { X }, { d: 2 });
    expect([...out.Q]).toEqual(values.map((v) => Math.floor(v / 3)));
    expect([...out.R]).toEqual(values.map((v) => v - 3 * Math.floor(v / 3)));
    expect([...out.QD]).toEqual(values.map((v) => Math.floor(v / 2)));
    const zero = await run(p, { X });
    expect([...zero.QD]).toEqual(values.map(() => 0));
    expect([...zero.RD]).toEqual(values.map(() => 0));
  });
});

describe('params, consts and storage types', () => {
  const program = B.program({
    inputs: [B.input('X', ['i'])],
    params: [
      B.paramDecl('scale', 'f32', B.lit(2)),
      B.paramDecl('on', 'bool', B.bool(true)),
      B.paramDecl('n', 'i32', B.int(A.sub(A.symbol('I'), A.constant(1)))),
    ],
    consts: [
      { name: 'keep', type: 'bool', value: B.icmp('>', 'I', 2), origin: { start: 0, end: 0 } },
    ],
    body: [
      B.eq(
        'Y',
        ['i'],
        B.select(B.param('on'), B.mul(B.read('X', 'i'), B.param('scale')), B.read('X', 'i')),
        {
          filter: B.and(B.icmp('<', 'i', A.symbol('n')), B.boolConst('keep')),
        },
      ),
    ],
    outputs: ['Y'],
  });
  const X = tensor('f32', [4], [1, 2, 3, 4]);

  it('f32, bool and i32 params with their defaults', T, async () => {
    expect([...(await run(program, { X })).Y]).toEqual([2, 4, 6, 0]);
  });

  it('params overridden per run', T, async () => {
    expect([...(await run(program, { X }, { scale: 0.5, on: true, n: 2 })).Y]).toEqual([
      0.5, 1, 0, 0,
    ]);
    expect([...(await run(program, { X }, { on: false, n: 4 })).Y]).toEqual([1, 2, 3, 4]);
  });

  it('an f16 input, stored as f16 and widened to f32', T, async () => {
    const rng = createRng(8);
    const raw = Array.from({ length: 12 }, () => rng.randn() * 4);
    const halves = Uint16Array.from(raw, f32ToF16);
    const values = Array.from(halves, f16ToF32);
    const p = B.program({
      inputs: [B.input('H', ['i', 'j'], 'f16'), B.input('W', ['j'])],
      body: [B.eq('Y', ['i'], B.mul(B.read('H', 'i', 'j'), B.read('W', 'j')), { over: ['j'] })],
      outputs: ['Y'],
    });
    const W = tensor('f32', [4], [1, -2, 0.5, 3]);
    const ref = [0, 1, 2].map((r) =>
      [0, 1, 2, 3].reduce((a, j) => a + values[r * 4 + j] * W.data[j], 0),
    );
    const inputs = { H: tensor('f16', [3, 4], halves), W };
    assertAllClose((await run(p, inputs, {}, { f16: false })).Y, ref, { atol: 1e-5, rtol: 1e-6 });
    // f16 storage needs shader-f16: lavapipe (the default test backend) has it, compat mode not.
    const device = await getTestDevice();
    expect(device.features.has('shader-f16')).toBe(testBackend() === 'vulkan');
    if (!device.features.has('shader-f16')) return;
    assertAllClose((await run(p, inputs, {}, { f16: true })).Y, ref, { atol: 1e-5, rtol: 1e-6 });
    // An f32 tensor for an f16 input is rounded to f16 on upload (a quarter ulp off rounds back).
    const asF32 = {
      H: tensor(
        'f32',
        [3, 4],
        values.map((v) => v * (1 + 2 ** -13)),
      ),
      W,
    };
    assertAllClose((await run(p, asF32, {}, { f16: true })).Y, ref, { atol: 1e-5, rtol: 1e-6 });
  });
});
