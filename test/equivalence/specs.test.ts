/**
 * Equivalence, three ways, for every spec in stdlib/ and examples/: a naive float64 reference
 * written from the variant's formula (test/reference/variants.ts), the CPU interpreter, and the
 * WebGPU kernels on Dawn. Seeded random inputs, several shapes per spec, including extents that
 * are 1, primes, P ≠ M, and shapes with fully masked rows. Reports and bounds the max abs and
 * max rel error of each backend against the reference.
 */
import { readdirSync, readFileSync } from 'node:fs';
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
import { createRng } from '../helpers/rng.ts';
import {
  alibiReference,
  causalLinearReference,
  gqaReference,
  relposTableReference,
  slidingWindowReference,
  softcapReference,
  type Dims,
} from '../reference/variants.ts';

interface Case {
  readonly label: string;
  readonly inputs: Record<string, HostTensor>;
  readonly params?: Record<string, number | boolean>;
  readonly expected: Float64Array;
}

interface SpecTable {
  readonly file: string;
  readonly attention: string;
  readonly cases: () => Case[];
}

/** f32 kernels against a float64 reference: values are O(1) softmax averages. */
const TOLERANCE = { atol: 2e-5, rtol: 2e-4 };

const SHAPES: readonly Dims[] = [
  { B: 1, HQ: 2, HK: 1, P: 5, M: 7, E: 8, F: 4 }, // GQA, P < M
  { B: 2, HQ: 4, HK: 2, P: 13, M: 13, E: 16, F: 16 }, // self-attention, a prime length
  { B: 1, HQ: 3, HK: 3, P: 1, M: 31, E: 8, F: 8 }, // a decode step
  { B: 1, HQ: 2, HK: 2, P: 9, M: 4, E: 4, F: 6 }, // P > M: causal rows p < 5 see no key
];

function qkv(d: Dims, seed: number) {
  const rng = createRng(seed);
  const q = Float32Array.from(rng.randnArray(d.B * d.HQ * d.P * d.E));
  const k = Float32Array.from(rng.randnArray(d.B * d.HK * d.M * d.E));
  const v = Float32Array.from(rng.randnArray(d.B * d.HK * d.M * d.F));
  return {
    q,
    k,
    v,
    rng,
    inputs: {
      Q: tensor('f32', [d.B, d.HQ, d.P, d.E], q),
      K: tensor('f32', [d.B, d.HK, d.M, d.E], k),
      V: tensor('f32', [d.B, d.HK, d.M, d.F], v),
    },
  };
}

const label = (d: Dims) => `B${d.B} HQ${d.HQ} HK${d.HK} P${d.P} M${d.M} E${d.E} F${d.F}`;
const mhaShapes = SHAPES.map((d) => ({ ...d, HK: d.HQ }));

const TABLE: readonly SpecTable[] = [
  {
    file: 'stdlib/mha.attn',
    attention: 'mha',
    cases: () =>
      mhaShapes.flatMap((d, i) =>
        [false, true].map((causal) => {
          const { q, k, v, inputs } = qkv(d, 10 + i);
          return {
            label: `${label(d)} causal=${causal}`,
            inputs,
            params: { causal },
            expected: gqaReference(q, k, v, d, { causal }),
          };
        }),
      ),
  },
  {
    file: 'stdlib/gqa.attn',
    attention: 'gqa',
    cases: () =>
      SHAPES.flatMap((d, i) =>
        [false, true].map((causal) => {
          const { q, k, v, inputs } = qkv(d, 20 + i);
          return {
            label: `${label(d)} causal=${causal}`,
            inputs,
            params: { causal, scale: 0.3 },
            expected: gqaReference(q, k, v, d, { causal, scale: 0.3 }),
          };
        }),
      ),
  },
  {
    file: 'stdlib/softcap.attn',
    attention: 'softcap',
    cases: () =>
      SHAPES.map((d, i) => {
        const { q, k, v, inputs } = qkv(d, 30 + i);
        return {
          label: `${label(d)} cap=2`,
          inputs,
          params: { cap: 2 },
          expected: softcapReference(q, k, v, d, { cap: 2, causal: true }),
        };
      }),
  },
  {
    file: 'examples/gqa_softcap.attn',
    attention: 'gqa_softcap',
    // The example's filter is `m <= p` (top-left), the reference's bottom-right: use P = M.
    cases: () =>
      SHAPES.filter((d) => d.P === d.M).map((d, i) => {
        const { q, k, v, inputs } = qkv(d, 40 + i);
        return {
          label: label(d),
          inputs,
          expected: softcapReference(q, k, v, d, { cap: 50, causal: true }),
        };
      }),
  },
  {
    file: 'stdlib/sliding_window.attn',
    attention: 'sliding_window',
    cases: () =>
      SHAPES.flatMap((d, i) =>
        [1, 3, 100].map((window) => {
          const { q, k, v, inputs } = qkv(d, 50 + i);
          return {
            label: `${label(d)} window=${window}`,
            inputs,
            params: { window },
            expected: slidingWindowReference(q, k, v, d, window),
          };
        }),
      ),
  },
  {
    file: 'stdlib/relpos_bias.attn',
    attention: 'alibi',
    cases: () =>
      mhaShapes.map((d, i) => {
        const { q, k, v, inputs } = qkv(d, 60 + i);
        const slopes = Float32Array.from({ length: d.HQ }, (_, h) => 2 ** ((-8 * (h + 1)) / d.HQ));
        return {
          label: label(d),
          inputs: { ...inputs, Slope: tensor('f32', [d.HQ], slopes) },
          expected: alibiReference(q, k, v, d, slopes),
        };
      }),
  },
  {
    file: 'stdlib/relpos_bias.attn',
    attention: 'relpos_table',
    cases: () =>
      mhaShapes.map((d, i) => {
        const { q, k, v, rng, inputs } = qkv(d, 70 + i);
        // A table shorter than 2M - 1 leaves far keys outside it: those scores are absent.
        const R = Math.max(1, 2 * d.M - 3);
        const table = Float32Array.from(rng.randnArray(d.HQ * R, 0.5));
        return {
          label: `${label(d)} R=${R}`,
          inputs: { ...inputs, Table: tensor('f32', [d.HQ, R], table) },
          expected: relposTableReference(q, k, v, d, table, R),
        };
      }),
  },
  {
    file: 'examples/causal_linear.attn',
    attention: 'causal_linear',
    cases: () =>
      [
        { B: 1, H: 2, T: 7, E: 4, F: 3 },
        { B: 2, H: 1, T: 16, E: 8, F: 8 },
        { B: 1, H: 1, T: 1, E: 2, F: 5 },
      ].map((d, i) => {
        const rng = createRng(80 + i);
        const q = Float32Array.from(rng.randnArray(d.B * d.H * d.T * d.E));
        const k = Float32Array.from(rng.randnArray(d.B * d.H * d.T * d.E));
        const v = Float32Array.from(rng.randnArray(d.B * d.H * d.T * d.F));
        return {
          label: `B${d.B} H${d.H} T${d.T} E${d.E} F${d.F}`,
          inputs: {
            Q: tensor('f32', [d.B, d.H, d.T, d.E], q),
            K: tensor('f32', [d.B, d.H, d.T, d.E], k),
            V: tensor('f32', [d.B, d.H, d.T, d.F], v),
          },
          expected: causalLinearReference(q, k, v, d),
        };
      }),
  },
];

/** Blocks whose reference is elsewhere: the ONNX spec is judged by the ONNX vectors. */
const JUDGED_ELSEWHERE = new Set([
  'onnx_attention',
  'onnx_attention_bool_mask',
  'onnx_attention_no_mask',
]);

const specs = new Map<string, CompiledSpec>();
function specOf(file: string, attention: string): CompiledSpec {
  const key = `${file}:${attention}`;
  if (!specs.has(key)) {
    const result = compile(readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8'), {
      fileName: file,
      attention,
    });
    if (!result.ok)
      throw new Error(
        `${file} does not compile: ${result.diagnostics.map((d) => d.message).join('; ')}`,
      );
    specs.set(key, result.specs[0]);
  }
  return specs.get(key)!;
}

const report: string[] = [];
afterAll(() =>
  console.log(`equivalence vs float64 reference (max abs / max rel):\n  ${report.join('\n  ')}`),
);
const worst = (rs: CloseReport[]) =>
  rs.reduce(
    (a, r) => ({ maxAbs: Math.max(a.maxAbs, r.maxAbs), maxRel: Math.max(a.maxRel, r.maxRel) }),
    { maxAbs: 0, maxRel: 0 },
  );

test('every attention block of stdlib/ and examples/ is tested against a reference', () => {
  const blocks = ['stdlib', 'examples'].flatMap((dir) =>
    readdirSync(new URL(`../../${dir}/`, import.meta.url))
      .filter((f) => f.endsWith('.attn'))
      .flatMap((f) => {
        const text = readFileSync(new URL(`../../${dir}/${f}`, import.meta.url), 'utf8');
        const names = [...text.matchAll(/^attention\s+(\w+)/gm)].map((m) => m[1]);
        return names.map((name) => ({ file: `${dir}/${f}`, name, only: names.length === 1 }));
      }),
  );
  // Here, or in a spec's own test file in test/stdlib, which compiles the block by name or,
  // when the file holds one block, the file.
  const stdlibTests = readdirSync(new URL('../stdlib/', import.meta.url))
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => readFileSync(new URL(`../stdlib/${f}`, import.meta.url), 'utf8'))
    .join('\n');
  const covered = (b: { file: string; name: string; only: boolean }) =>
    TABLE.some((t) => t.attention === b.name) ||
    JUDGED_ELSEWHERE.has(b.name) ||
    stdlibTests.includes(`'${b.name}'`) ||
    (b.only && stdlibTests.includes(`${b.file}'`));
  expect(blocks.filter((b) => !covered(b)).map((b) => b.name)).toEqual([]);
});

for (const entry of TABLE) {
  describe(`${entry.file} · ${entry.attention}`, () => {
    const cases = entry.cases();
    const cpu: CloseReport[] = [];
    const gpu: CloseReport[] = [];
    afterAll(() => {
      const c = worst(cpu);
      const g = worst(gpu);
      report.push(
        `${entry.attention.padEnd(16)} cpu ${c.maxAbs.toExponential(1)} / ${c.maxRel.toExponential(1)}   webgpu ${g.maxAbs.toExponential(1)} / ${g.maxRel.toExponential(1)}`,
      );
    });
    // Compatibility-mode smoke test: the same kernels on Dawn's OpenGL ES backend (no f16, no
    // subgroups), which some browsers are limited to. One shape per spec keeps it quick.
    test(`webgpu compat (OpenGL ES) ${cases[0].label}`, async () => {
      const kernel = createKernel(
        await getTestDevice('opengles'),
        specOf(entry.file, entry.attention).wgsl,
      );
      const result = await kernel.run(cases[0].inputs, { params: cases[0].params });
      kernel.destroy();
      if (!result.ok) throw new Error(result.message);
      assertAllClose(
        result.outputs.O.data as Float32Array,
        cases[0].expected,
        TOLERANCE,
        'compat O',
      );
    });
    for (const c of cases) {
      test(`cpu ${c.label}`, () => {
        const result = interpret(specOf(entry.file, entry.attention).program, c.inputs, {
          params: c.params,
        });
        if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('; '));
        cpu.push(
          assertAllClose(result.outputs.O.data as Float32Array, c.expected, TOLERANCE, 'cpu O'),
        );
      });
      test(`webgpu ${c.label}`, async () => {
        const kernel = createKernel(
          await getTestDevice(),
          specOf(entry.file, entry.attention).wgsl,
        );
        const result = await kernel.run(c.inputs, { params: c.params });
        kernel.destroy();
        if (!result.ok) throw new Error(result.message);
        gpu.push(
          assertAllClose(result.outputs.O.data as Float32Array, c.expected, TOLERANCE, 'webgpu O'),
        );
      });
    }
  });
}
