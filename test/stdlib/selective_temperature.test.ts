/**
 * stdlib/selective_temperature.attn (Selective Attention's query and value temperatures, and
 * scaled cosine attention) three ways: the float64 references written from the formulas
 * (test/reference/selective_temperature.ts), the CPU interpreter on the checked IR and on the IR
 * after the passes, and the WebGPU kernels. Shapes include primes (not multiples of the 32-key
 * tile), P = 1, M = 1, and causal P > M, whose first P − M rows see no key and must be exactly 0.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import {
  compile,
  createKernel,
  interpret,
  tensor,
  type CompiledSpec,
  type HostTensor,
} from '../../index.ts';
import { assertAllClose, type CloseReport } from '../helpers/allclose.ts';
import { getTestDevice } from '../helpers/gpu.ts';
import { createRng, type Rng } from '../helpers/rng.ts';
import type { AttnDims } from '../reference/sigmoid.ts';
import {
  cosineAttentionReference,
  selectiveTemperatureReference,
} from '../reference/selective_temperature.ts';

/** f32 kernels against a float64 reference: softmax averages of O(1) values. */
const TOLERANCE = { atol: 2e-5, rtol: 2e-4 };

const SHAPES: readonly AttnDims[] = [
  { B: 1, H: 2, P: 13, M: 13, E: 8, F: 4 },
  { B: 2, H: 2, P: 17, M: 37, E: 16, F: 8 }, // two key tiles, the second ragged
  { B: 1, H: 3, P: 1, M: 31, E: 8, F: 8 }, // a decode step
  { B: 1, H: 1, P: 5, M: 1, E: 4, F: 3 }, // one key
  { B: 1, H: 2, P: 9, M: 4, E: 4, F: 6 }, // causal rows p < 5 see no key
];

interface Made {
  readonly inputs: Record<string, HostTensor>;
  readonly expected: Float64Array;
}

/** Per block: how to build inputs and the reference for one shape and param setting. */
const BLOCKS: readonly {
  name: string;
  settings: { scale?: number }[];
  make: (
    rng: Rng,
    d: AttnDims,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    causal: boolean,
    scale?: number,
  ) => Made;
}[] = [
  {
    name: 'selective_temperature',
    settings: [{}, { scale: 0.6 }],
    make: (rng, d, q, k, v, causal, scale) => {
      // Inverse temperatures around 1 (sharper and flatter rows); value scales in (0, 1.5).
      const tau = Float32Array.from(rng.uniformArray(d.B * d.H * d.P, 0.25, 3));
      const tauV = Float32Array.from(rng.uniformArray(d.B * d.H * d.M, 0, 1.5));
      return {
        inputs: {
          Tau: tensor('f32', [d.B, d.H, d.P], tau),
          TauV: tensor('f32', [d.B, d.H, d.M], tauV),
        },
        expected: selectiveTemperatureReference(q, k, v, tau, tauV, d, { causal, scale }),
      };
    },
  },
  {
    name: 'cosine_attention',
    settings: [{}, { scale: 2.5 }],
    make: (_rng, d, q, k, v, causal, scale) => ({
      inputs: {},
      expected: cosineAttentionReference(q, k, v, d, { causal, scale }),
    }),
  },
];

const source = readFileSync(
  new URL('../../stdlib/selective_temperature.attn', import.meta.url),
  'utf8',
);
const compiled = compile(source, { fileName: 'stdlib/selective_temperature.attn' });
if (!compiled.ok) throw new Error(compiled.diagnostics.map((d) => d.message).join('; '));
const specs = new Map<string, CompiledSpec>(compiled.specs.map((s) => [s.name, s]));

const label = (d: AttnDims) => `B${d.B} H${d.H} P${d.P} M${d.M} E${d.E} F${d.F}`;
const summary: string[] = [];
afterAll(() =>
  console.log(
    `selective_temperature.attn vs float64 reference (max abs / max rel):\n  ${summary.join('\n  ')}`,
  ),
);

test('the file has exactly the blocks the tests cover', () => {
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

    test('the optimizer fuses one online softmax and skips causal tiles', () => {
      const note = (pass: string) => spec.notes.find((n) => n.pass === pass);
      expect(note('tile')?.applied).toBe(true);
      expect(note('fuse')?.applied).toBe(true);
      expect(note('fuse')?.message).toContain('online softmax');
      expect(note('block-sparsity')?.applied).toBe(true);
      expect(spec.scheduled.schedule.fused).toEqual(['O']);
    });

    const cases = SHAPES.flatMap((d, i) =>
      block.settings.flatMap((setting, j) =>
        [false, true].map((causal) => ({ d, seed: 10 * i + j, params: { ...setting, causal } })),
      ),
    );
    for (const { d, seed, params } of cases) {
      const rng = createRng(300 + seed);
      const q = Float32Array.from(rng.randnArray(d.B * d.H * d.P * d.E));
      const k = Float32Array.from(rng.randnArray(d.B * d.H * d.M * d.E));
      const v = Float32Array.from(rng.randnArray(d.B * d.H * d.M * d.F));
      const made = block.make(rng, d, q, k, v, params.causal, params.scale);
      const inputs = {
        Q: tensor('f32', [d.B, d.H, d.P, d.E], q),
        K: tensor('f32', [d.B, d.H, d.M, d.E], k),
        V: tensor('f32', [d.B, d.H, d.M, d.F], v),
        ...made.inputs,
      };
      const hidden = params.causal ? Math.max(0, d.P - d.M) : 0;
      const name = `${label(d)} ${JSON.stringify(params)}`;
      const check = (out: Float32Array, which: string) => {
        errors[which].push(assertAllClose(out, made.expected, TOLERANCE, `${which} ${name}`));
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
