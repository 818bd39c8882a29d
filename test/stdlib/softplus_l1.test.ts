/**
 * stdlib/softplus_l1.attn (LSSA, LSSAR, Power-Softmax, ReLU attention) three ways: the float64
 * references written from the formulas (test/reference/softplus_l1.ts), the CPU interpreter on
 * the checked IR and on the IR after the passes, and the WebGPU kernels. Shapes include primes
 * (not multiples of the 32-key tile), P = 1, M = 1, and causal P > M, whose first P − M rows see
 * no key and must be exactly 0.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import { compile, createKernel, interpret, tensor, type CompiledSpec } from '../../index.ts';
import { assertAllClose, type CloseReport } from '../helpers/allclose.ts';
import { getTestDevice } from '../helpers/gpu.ts';
import { createRng } from '../helpers/rng.ts';
import type { AttnDims } from '../reference/sigmoid.ts';
import {
  powerSoftmaxReference,
  reluAttentionReference,
  softplusL1Reference,
  softplusL1ReweightReference,
} from '../reference/softplus_l1.ts';

/** f32 kernels against a float64 reference: the outputs are convex combinations of V rows. */
const TOLERANCE = { atol: 2e-5, rtol: 2e-4 };

const SHAPES: readonly AttnDims[] = [
  { B: 1, H: 2, P: 13, M: 13, E: 8, F: 4 },
  { B: 2, H: 2, P: 17, M: 37, E: 16, F: 8 }, // two key tiles, the second ragged
  { B: 1, H: 3, P: 1, M: 31, E: 8, F: 8 }, // a decode step
  { B: 1, H: 1, P: 5, M: 1, E: 4, F: 3 }, // one key
  { B: 1, H: 2, P: 9, M: 4, E: 4, F: 6 }, // causal rows p < 5 see no key
];

type Reference = (
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  d: AttnDims,
  params: Record<string, number | boolean>,
) => Float64Array;

/** Per block: the param settings tried (each with causal on and off) and the reference. */
const BLOCKS: readonly {
  name: string;
  settings: Record<string, number | boolean>[];
  reference: Reference;
}[] = [
  {
    name: 'softplus_l1',
    settings: [{}, { base: 512 }],
    reference: (q, k, v, d, o) =>
      softplusL1Reference(q, k, v, d, { causal: o.causal as boolean, base: o.base as number }),
  },
  {
    name: 'softplus_l1_reweight',
    settings: [{}, { power: 3, scale: 0.5 }],
    reference: (q, k, v, d, o) =>
      softplusL1ReweightReference(q, k, v, d, {
        causal: o.causal as boolean,
        power: o.power as number,
        scale: o.scale as number,
      }),
  },
  {
    name: 'power_softmax',
    settings: [{}, { power: 2 }],
    reference: (q, k, v, d, o) =>
      powerSoftmaxReference(q, k, v, d, { causal: o.causal as boolean, power: o.power as number }),
  },
  {
    name: 'relu_attention',
    settings: [{}, { squared: true }],
    reference: (q, k, v, d, o) =>
      reluAttentionReference(q, k, v, d, {
        causal: o.causal as boolean,
        squared: o.squared as boolean,
      }),
  },
];

const source = readFileSync(new URL('../../stdlib/softplus_l1.attn', import.meta.url), 'utf8');
const compiled = compile(source, { fileName: 'stdlib/softplus_l1.attn' });
if (!compiled.ok) throw new Error(compiled.diagnostics.map((d) => d.message).join('; '));
const specs = new Map<string, CompiledSpec>(compiled.specs.map((s) => [s.name, s]));

const label = (d: AttnDims) => `B${d.B} H${d.H} P${d.P} M${d.M} E${d.E} F${d.F}`;
const summary: string[] = [];
afterAll(() =>
  console.log(
    `softplus_l1.attn vs float64 reference (max abs / max rel):\n  ${summary.join('\n  ')}`,
  ),
);

test('the file has exactly the four blocks the tests cover', () => {
  expect([...specs.keys()].sort()).toEqual(BLOCKS.map((b) => b.name).sort());
});

for (const block of BLOCKS) {
  describe(block.name, () => {
    const spec = specs.get(block.name)!;
    const errors: Record<string, CloseReport[]> = { cpu: [], scheduled: [], webgpu: [] };
    afterAll(() => {
      const parts = Object.entries(errors).map(([k, rs]) => {
        const abs = Math.max(0, ...rs.map((r) => r.maxAbs));
        const rel = Math.max(0, ...rs.map((r) => r.maxRel));
        return `${k} ${abs.toExponential(1)} / ${rel.toExponential(1)}`;
      });
      summary.push(`${block.name.padEnd(22)} ${parts.join('   ')}`);
    });

    test('the optimizer fuses a weighted sum (no softmax: no max to track) and skips causal tiles', () => {
      const note = (pass: string) => spec.notes.find((n) => n.pass === pass);
      expect(note('tile')?.applied).toBe(true);
      expect(note('fuse')?.applied).toBe(true);
      expect(note('fuse')?.message).toContain('no softmax');
      expect(note('block-sparsity')?.applied).toBe(true);
      expect(spec.scheduled.schedule.fused).toEqual(['O']);
    });

    const cases = SHAPES.flatMap((d, i) =>
      block.settings.flatMap((setting, j) =>
        [false, true].map((causal) => ({ d, seed: 10 * i + j, params: { ...setting, causal } })),
      ),
    );
    for (const { d, seed, params } of cases) {
      const rng = createRng(200 + seed);
      const q = Float32Array.from(rng.randnArray(d.B * d.H * d.P * d.E));
      const k = Float32Array.from(rng.randnArray(d.B * d.H * d.M * d.E));
      const v = Float32Array.from(rng.randnArray(d.B * d.H * d.M * d.F));
      const inputs = {
        Q: tensor('f32', [d.B, d.H, d.P, d.E], q),
        K: tensor('f32', [d.B, d.H, d.M, d.E], k),
        V: tensor('f32', [d.B, d.H, d.M, d.F], v),
      };
      const expected = block.reference(q, k, v, d, params);
      const hidden = params.causal ? Math.max(0, d.P - d.M) : 0;
      const name = `${label(d)} ${JSON.stringify(params)}`;
      const check = (out: Float32Array, which: string) => {
        errors[which].push(assertAllClose(out, expected, TOLERANCE, `${which} ${name}`));
        for (let b = 0; b < d.B * d.H; b++)
          for (let p = 0; p < hidden; p++)
            for (let f = 0; f < d.F; f++) expect(out[(b * d.P + p) * d.F + f]).toBe(0);
      };
      test(`cpu ${name}`, () => {
        for (const [which, program] of [
          ['cpu', spec.program],
          ['scheduled', spec.scheduled],
        ] as const) {
          const r = interpret(program, inputs, { params });
          if (!r.ok) throw new Error(r.diagnostics.map((x) => x.message).join('; '));
          check(r.outputs.O.data as Float32Array, which);
        }
      });
      test(`webgpu ${name}`, async () => {
        const kernel = createKernel(await getTestDevice(), spec.wgsl);
        const r = await kernel.run(inputs, { params });
        kernel.destroy();
        if (!r.ok) throw new Error(r.message);
        check(r.outputs.O.data as Float32Array, 'webgpu');
      });
    }
  });
}
