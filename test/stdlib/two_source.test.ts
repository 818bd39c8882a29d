/**
 * stdlib/two_source.attn three ways: both blocks (piecewise concatenation and explicit merge of
 * two partial softmaxes) against the one float64 reference of test/reference/two_source.ts, on
 * the CPU interpreter (checked and scheduled IR) and WebGPU. Shapes include prefixes longer than
 * a key tile (32), suffix rows that see none of the suffix, P = 1, A = N = 1 and odd primes.
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
import type { Program } from '../../compiler/ir.ts';
import { assertAllClose, type CloseReport } from '../helpers/allclose.ts';
import { getTestDevice } from '../helpers/gpu.ts';
import { createRng } from '../helpers/rng.ts';
import { twoSourceReference, type TwoSourceDims } from '../reference/two_source.ts';

const FILE = 'stdlib/two_source.attn';
const SOURCE = readFileSync(new URL(`../../${FILE}`, import.meta.url), 'utf8');
const TOL = { atol: 2e-5, rtol: 2e-4 };

const specs = new Map<string, CompiledSpec>();
function spec(block: string): CompiledSpec {
  if (!specs.has(block)) {
    const r = compile(SOURCE, { fileName: FILE, attention: block });
    if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('; '));
    specs.set(block, r.specs[0]);
  }
  return specs.get(block)!;
}
const note = (block: string, pass: string) => spec(block).notes.find((n) => n.pass === pass)!;

interface Case {
  readonly label: string;
  readonly inputs: Record<string, HostTensor>;
  readonly params: Record<string, number | boolean>;
  readonly expected: Float64Array;
}

const SHAPES: readonly (TwoSourceDims & { causal: boolean })[] = [
  { B: 2, H: 2, P: 5, A: 7, N: 11, E: 8, F: 4, causal: true },
  { B: 1, H: 2, P: 1, A: 37, N: 13, E: 8, F: 8, causal: true }, // decode; prefix > one tile
  { B: 2, H: 1, P: 9, A: 3, N: 4, E: 4, F: 6, causal: true }, // rows p < 5 see only the prefix
  { B: 1, H: 1, P: 3, A: 1, N: 1, E: 4, F: 3, causal: false },
  { B: 2, H: 2, P: 13, A: 40, N: 17, E: 8, F: 8, causal: false }, // prefix > one tile
];

const CASES: Case[] = SHAPES.map((d, i) => {
  const rng = createRng(1000 + i);
  const randn = (n: number) => Float32Array.from(rng.randnArray(n));
  const inp = {
    Q: randn(d.B * d.H * d.P * d.E),
    KP: randn(d.H * d.A * d.E),
    VP: randn(d.H * d.A * d.F),
    KS: randn(d.B * d.H * d.N * d.E),
    VS: randn(d.B * d.H * d.N * d.F),
  };
  return {
    label: `B${d.B} H${d.H} P${d.P} A${d.A} N${d.N} E${d.E} F${d.F} causal=${d.causal}`,
    inputs: {
      Q: tensor('f32', [d.B, d.H, d.P, d.E], inp.Q),
      KP: tensor('f32', [d.H, d.A, d.E], inp.KP),
      VP: tensor('f32', [d.H, d.A, d.F], inp.VP),
      KS: tensor('f32', [d.B, d.H, d.N, d.E], inp.KS),
      VS: tensor('f32', [d.B, d.H, d.N, d.F], inp.VS),
    },
    params: { causal: d.causal },
    expected: twoSourceReference(inp, d, { causal: d.causal }),
  };
});

const report: string[] = [];
afterAll(() =>
  console.log(`${FILE} vs float64 reference (max abs / max rel):\n  ${report.join('\n  ')}`),
);
const worst = (rs: CloseReport[]) =>
  rs.length === 0
    ? 'none'
    : `${rs.reduce((a, r) => Math.max(a, r.maxAbs), 0).toExponential(1)} / ${rs.reduce((a, r) => Math.max(a, r.maxRel), 0).toExponential(1)}`;

function threeWays(block: string) {
  const errs = { cpu: [] as CloseReport[], webgpu: [] as CloseReport[] };
  afterAll(() =>
    report.push(`${block.padEnd(16)} cpu ${worst(errs.cpu)}   webgpu ${worst(errs.webgpu)}`),
  );
  const onCpu = (p: Program, c: Case) => {
    const result = interpret(p, c.inputs, { params: c.params });
    if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('; '));
    errs.cpu.push(assertAllClose(result.outputs.O.data as Float32Array, c.expected, TOL, 'cpu O'));
  };
  for (const c of CASES) {
    test(`cpu ${c.label}`, () => onCpu(spec(block).program, c));
    test(`cpu scheduled ${c.label}`, () => onCpu(spec(block).scheduled, c));
    test(`webgpu ${c.label}`, async () => {
      const kernel = createKernel(await getTestDevice(), spec(block).wgsl);
      const result = await kernel.run(c.inputs, { params: c.params });
      kernel.destroy();
      if (!result.ok) throw new Error(result.message);
      const data = result.outputs.O.data as Float32Array;
      errs.webgpu.push(assertAllClose(data, c.expected, TOL, 'webgpu O'));
    });
  }
}

describe('two_source: piecewise concatenation of the two key/value sources', () => {
  test('passes: tiled, fused (online softmax), tiles skipped by affine bounds', () => {
    expect(note('two_source', 'tile')).toMatchObject({ applied: true, message: 'partitions `m`' });
    expect(note('two_source', 'fuse')).toMatchObject({
      applied: true,
      message: 'fuses `O` (online softmax)',
    });
    expect(note('two_source', 'block-sparsity')).toMatchObject({ applied: true });
  });
  threeWays('two_source');
});

describe('two_source_merge: the exact merge of two partial softmaxes', () => {
  test('passes: a partial softmax (max, sum, numerator) is not an attention the passes know', () => {
    // N1 = sum[a] E1 * VP has weights E1 that D1 also reads, so no attention is recognised.
    expect(note('two_source_merge', 'tile')).toMatchObject({
      applied: false,
      message: 'no attention `O = sum[m] W * V` with computed weights `W`',
    });
    expect(note('two_source_merge', 'fuse')).toMatchObject({
      applied: false,
      message: '`D1` is not a product of weights and values',
    });
  });
  threeWays('two_source_merge');
});
