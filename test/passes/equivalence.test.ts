/**
 * Every pass proves itself (DESIGN §2): the CPU interpreter runs the IR before and after each
 * pass of the pipeline, on seeded random inputs, and the outputs agree. Over every shipped spec
 * and every ONNX conformance case, and (property-based) over random extents, tile sizes and
 * masks. Each pass also verifies (ir-verify.ts) and is idempotent: a second run returns its
 * input object.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { interpret, type HostTensor, type Program } from '../../index.ts';
import { checkSource } from '../../compiler/front-end.ts';
import { verifyProgram } from '../../compiler/ir-verify.ts';
import { DEFAULT_LIMITS, type PassContext } from '../../compiler/passes/pass.ts';
import { runPipeline } from '../../compiler/passes/pipeline.ts';
import { selectOutputs } from '../../compiler/select-outputs.ts';
import { chooseExtents, randomInputs } from '../../cli/random-inputs.ts';
import { compareClose } from '../helpers/allclose.ts';
import { shippedSpecs } from '../helpers/specs.ts';
import { loadCase } from '../conformance/onnx-adapter.ts';
import { readdirSync, readFileSync } from 'node:fs';

const ctx = (tiles: Record<string, number> = {}): PassContext => ({
  limits: DEFAULT_LIMITS,
  extentHints: {},
  tileOverrides: tiles,
});

/** float64 on both sides; only the order of additions differs (the online rescaling). */
const TOLERANCE = { atol: 1e-10, rtol: 1e-9 };

function run(
  program: Program,
  inputs: Record<string, HostTensor>,
  params: Record<string, number | boolean> = {},
) {
  const r = interpret(program, inputs, { params });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('; '));
  return r.tensors;
}

/** Runs the pipeline, interpreting after every pass; fails on the first pass that changes an output. */
function expectPassesPreserve(
  program: Program,
  inputs: Record<string, HostTensor>,
  params: Record<string, number | boolean> = {},
  tiles: Record<string, number> = {},
): string[] {
  const reference = run(program, inputs, params);
  const applied: string[] = [];
  runPipeline(program, ctx(tiles), {
    instruments: [
      {
        afterPass(pass, before, after) {
          expect(verifyProgram(after), `${pass.name} leaves valid IR`).toEqual([]);
          expect(pass.run(after, ctx(tiles)), `${pass.name} is idempotent`).toBe(after);
          if (after === before) return;
          applied.push(pass.name);
          const got = run(after, inputs, params);
          for (const o of program.outputs) {
            const want = reference.get(o)!;
            const have = got.get(o)!;
            expect(Array.from(have.present), `${o} presence after ${pass.name}`).toEqual(
              Array.from(want.present),
            );
            const report = compareClose(have.values, want.values, TOLERANCE);
            expect(report.badCount, `${o} after ${pass.name}: max abs ${report.maxAbs}`).toBe(0);
          }
        },
      },
    ],
  });
  return applied;
}

function inputsFor(program: Program, dims: Record<string, number>, seed: number) {
  const extents = chooseExtents(
    program,
    new Map(Object.entries(dims).map(([k, v]) => [k, String(v)])),
  );
  return randomInputs(program, extents, seed);
}

/**
 * Smaller extents where the defaults make the interpreter slow: agent_pooled's depthwise
 * convolution runs over I × J taps at every (y, x), and its keys are the whole Y × X grid.
 */
const DIMS: Readonly<Record<string, Record<string, number>>> = {
  agent_pooled: { y: 6, x: 5, i: 3, j: 3 },
};

describe.each(shippedSpecs())('$path', ({ path, text }) => {
  for (const program of checkSource(text, path).programs) {
    // The ONNX block lists every qk_matmul_output mode; ask for the attention output only.
    const selected = program.outputs.includes('Y' as never)
      ? selectOutputs(program, ['Y'])
      : program;
    // Which passes apply is each spec's own test (test/stdlib); here: whatever applies is exact.
    test(`${program.name}: interpreting after each pass gives the same outputs`, () => {
      expectPassesPreserve(selected, inputsFor(selected, DIMS[program.name] ?? {}, 7));
    });
  }
});

describe('ONNX conformance cases, Y only', () => {
  const spec = readFileSync(new URL('../../stdlib/onnx_attention.attn', import.meta.url), 'utf8');
  const programs = new Map(
    checkSource(spec, 'onnx_attention.attn').programs.map((p) => [p.name, selectOutputs(p, ['Y'])]),
  );
  const files = readdirSync(
    new URL('../conformance/onnx-attention/cases/', import.meta.url),
  ).filter((f) => f.endsWith('.json'));
  test.each(files)('%s', (file) => {
    const c = loadCase(file);
    expectPassesPreserve(programs.get(c.block)!, c.inputs, c.params);
  });
});

describe('property: random extents, tile sizes and masks', () => {
  const specs = new Map(
    shippedSpecs()
      .filter((s) => /mha|gqa|softcap|sliding|relpos/.test(s.path))
      .flatMap((s) => checkSource(s.text, s.path).programs.map((p) => [p.name, p] as const)),
  );
  test('the pipeline preserves every output', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...specs.keys()),
        fc.record({
          p: fc.integer({ min: 1, max: 9 }),
          m: fc.integer({ min: 1, max: 13 }),
          tile: fc.integer({ min: 1, max: 8 }),
          causal: fc.boolean(),
          seed: fc.nat(),
        }),
        (name, { p, m, tile, causal, seed }) => {
          const program = specs.get(name)!;
          const dims = {
            p,
            m,
            e: 3,
            f: 2,
            ...(program.indices.some((i) => i.name === 'hq') ? { hq: 2, hk: 1 } : { h: 2 }),
          };
          const params: Record<string, boolean> = program.params.some((x) => x.name === 'causal')
            ? { causal }
            : {};
          expectPassesPreserve(program, inputsFor(program, dims, seed), params, {
            m: tile,
            p: tile,
          });
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 40) },
    );
  });
});
