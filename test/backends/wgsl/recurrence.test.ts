/**
 * Recurrences (ir.ts, "Recurrences"): the per-point sequential kernel and the single-workgroup
 * kernel used when a step reads other points, against float64 loops written from the fold.
 */
import { describe, expect, it } from 'vitest';
import { tensor } from '../../../compiler/tensor.ts';
import { compileWgsl } from '../../../backends/wgsl/compile.ts';
import * as B from '../../helpers/ir-build.ts';
import { assertAllClose } from '../../helpers/allclose.ts';
import { createRng } from '../../helpers/rng.ts';
import { randomTensor, run } from './harness.ts';

const { A } = B;
const T = { timeout: 60_000 };
const i = A.index('i');

describe('recurrences', () => {
  it('a prefix sum, a filtered running max, and an absent init that stays absent', T, async () => {
    const rng = createRng(11);
    const [I, S] = [3, 6];
    const x = randomTensor(rng, [I, S]);
    const keep = Array.from({ length: I * S }, () => (rng.next() < 0.6 ? 1 : 0));
    const p = B.program({
      inputs: [B.input('X', ['i', 's']), B.input('Keep', ['i', 's'], 'bool')],
      body: [
        B.rec('C', ['i', 's'], 1, B.lit(0), B.add(B.read('C', 'i', 's'), B.read('X', 'i', 's'))),
        B.rec(
          'R',
          ['i', 's'],
          1,
          B.lit(-100),
          B.call('max', B.read('R', 'i', 's'), B.read('X', 'i', 's')),
          { filter: B.read('Keep', 'i', 's') },
        ),
        B.rec(
          'D',
          ['i', 's'],
          1,
          B.read('X', A.sub(i, A.constant(1)), 0),
          B.add(B.read('D', 'i', 's'), B.read('X', 'i', 's')),
        ),
      ],
      outputs: ['C', 'R', 'D'],
    });
    const out = await run(p, { X: x.t, Keep: tensor('bool', [I, S], keep) });
    const C = new Float64Array(I * (S + 1));
    const R = new Float64Array(I * (S + 1));
    const D = new Float64Array(I * (S + 1));
    for (let r = 0; r < I; r++) {
      R[r * (S + 1)] = -100;
      D[r * (S + 1)] = r > 0 ? x.v[(r - 1) * S] : 0;
      for (let k = 0; k < S; k++) {
        const at = r * (S + 1) + k;
        C[at + 1] = C[at] + x.v[r * S + k];
        R[at + 1] = keep[r * S + k] ? Math.max(R[at], x.v[r * S + k]) : R[at];
        D[at + 1] = r > 0 ? D[at] + x.v[r * S + k] : 0; // row 0: absent throughout, written as 0
      }
    }
    assertAllClose(out.C, C, { atol: 1e-5, rtol: 1e-5 });
    expect([...out.R]).toEqual([...R].map(Math.fround));
    assertAllClose(out.D, D, { atol: 1e-5, rtol: 1e-5 });
  });

  it(
    'a step that reads its neighbour runs as one workgroup with a barrier per step',
    T,
    async () => {
      const rng = createRng(12);
      const [I, S] = [150, 5]; // more points than one workgroup has invocations
      const x = randomTensor(rng, [I]);
      const p = B.program({
        inputs: [B.input('X', ['i']), B.input('Steps', ['s'])],
        body: [
          B.rec(
            'U',
            ['i', 's'],
            1,
            B.read('X', 'i'),
            B.add(
              B.read('U', 'i', 's'),
              B.mul(B.lit(0.5), B.read('U', A.sub(i, A.constant(1)), 's')),
            ),
          ),
        ],
        outputs: ['U'],
      });
      expect(compileWgsl(p).plan.kernels[0].dispatch).toEqual({ kind: 'single' });
      const out = await run(p, { X: x.t, Steps: tensor('f32', [S], new Float32Array(S)) });
      let u = [...x.v];
      const ref = new Float64Array(I * (S + 1));
      for (let k = 0; k <= S; k++) {
        u.forEach((v, r) => (ref[r * (S + 1) + k] = v));
        // U[0, s] reads U[-1, s], absent: the body is absent and the step carries.
        u = u.map((v, r) => (r === 0 ? v : v + 0.5 * u[r - 1]));
      }
      assertAllClose(out.U, ref, { atol: 1e-5, rtol: 1e-5 });
    },
  );

  it(
    'a recurrence with a reducer (a gated linear RNN); a step whose filter admits nothing carries',
    T,
    async () => {
      const rng = createRng(13);
      const F = 4;
      const w = randomTensor(rng, [F, F], 0.5);
      const h0 = randomTensor(rng, [F]);
      const gate = [1, -1, 0.5, 2];
      const e = A.index('e');
      const p = B.program({
        inputs: [B.input('W', ['f', 'e']), B.input('H0', ['f']), B.input('Gate', ['s'])],
        body: [
          B.rec(
            'H',
            ['s', 'f'],
            0,
            B.read('H0', 'f'),
            B.mul(B.mul(B.read('W', 'f', 'e'), B.read('H', 's', e)), B.read('Gate', 's')),
            {
              over: ['e'],
              filter: B.cmp('>', B.read('Gate', 's'), B.lit(0)),
            },
          ),
        ],
        outputs: ['H'],
      });
      const out = await run(p, { W: w.t, H0: h0.t, Gate: tensor('f32', [4], gate) });
      let h = [...h0.v];
      const ref: number[] = [...h];
      for (const g of gate) {
        if (g > 0) h = h.map((_, f) => h.reduce((acc, hv, k) => acc + w.v[f * F + k] * hv * g, 0));
        ref.push(...h);
      }
      assertAllClose(out.H, ref, { atol: 1e-5, rtol: 1e-5 });
    },
  );
});
