/**
 * stdlib/agent.attn (Agent Attention: two chained softmax cascades) against its float64
 * reference (test/reference/agent.ts), on the CPU interpreter before and after the optimizer
 * and on WebGPU. Nothing is masked, so no row is empty.
 */
import { afterAll, expect, test } from 'vitest';
import { interpret, tensor, type CompiledSpec } from '../../index.ts';
import { assertAllClose } from '../helpers/allclose.ts';
import { createRng } from '../helpers/rng.ts';
import { agentPooledReference, agentReference } from '../reference/agent.ts';
import type { Dims2d } from '../reference/grid_dilated2d.ts';
import {
  describeEquivalence,
  expectPasses,
  loadSpec,
  TOLERANCE,
  type Case,
} from './mask-harness.ts';

const FILE = 'stdlib/agent.attn';
const agent = {
  default: loadSpec(FILE, 'agent'),
  'tiles m=8 a=4 p=8': loadSpec(FILE, 'agent', { tiles: { m: 8, a: 4, p: 8 } }),
};
const pooled = {
  default: loadSpec(FILE, 'agent_pooled'),
  'tiles m=8 x=4': loadSpec(FILE, 'agent_pooled', { tiles: { m: 8, x: 4 } }),
};

type Dims1d = { B: number; H: number; P: number; M: number; A: number; E: number; F: number };
const AGENT_SHAPES: readonly Dims1d[] = [
  { B: 1, H: 2, P: 13, M: 17, A: 5, E: 8, F: 4 },
  { B: 2, H: 2, P: 40, M: 37, A: 9, E: 8, F: 8 },
  { B: 1, H: 1, P: 1, M: 31, A: 4, E: 8, F: 4 }, // P = 1
  { B: 1, H: 2, P: 7, M: 1, A: 3, E: 4, F: 4 }, // M = 1
  { B: 1, H: 1, P: 5, M: 5, A: 1, E: 4, F: 4 }, // one agent: every query gets its VA
];

const agentCases = (): Case[] =>
  AGENT_SHAPES.map((d, i) => {
    const rng = createRng(500 + i);
    const r = (n: number) => Float32Array.from(rng.randnArray(n));
    const [q, k, v, ag] = [
      r(d.B * d.H * d.P * d.E),
      r(d.B * d.H * d.M * d.E),
      r(d.B * d.H * d.M * d.F),
      r(d.B * d.H * d.A * d.E),
    ];
    return {
      label: `B${d.B} H${d.H} P${d.P} M${d.M} A${d.A} E${d.E} F${d.F}`,
      inputs: {
        Q: tensor('f32', [d.B, d.H, d.P, d.E], q),
        K: tensor('f32', [d.B, d.H, d.M, d.E], k),
        V: tensor('f32', [d.B, d.H, d.M, d.F], v),
        AG: tensor('f32', [d.B, d.H, d.A, d.E], ag),
      },
      expected: agentReference(q, k, v, ag, d),
    };
  });

type PooledDims = Dims2d & { AY: number; AX: number };
const POOLED_SHAPES: readonly PooledDims[] = [
  { B: 1, H: 2, Y: 6, X: 6, E: 8, F: 4, AY: 2, AX: 3 },
  { B: 2, H: 2, Y: 5, X: 7, E: 4, F: 8, AY: 3, AX: 3 }, // overlapping adaptive-pool bins
  { B: 1, H: 1, Y: 3, X: 2, E: 4, F: 4, AY: 4, AX: 3 }, // more agent rows than image rows
  { B: 1, H: 1, Y: 9, X: 11, E: 4, F: 4, AY: 4, AX: 8 }, // 32 agents: one agent tile
  { B: 1, H: 2, Y: 1, X: 1, E: 4, F: 4, AY: 1, AX: 1 }, // P = M = 1
];

function pooledCase(d: PooledDims, seed: number): Case {
  const rng = createRng(seed);
  const r = (n: number, s = 1) => Float32Array.from(rng.randnArray(n, s));
  const N = d.Y * d.X;
  const A = d.AY * d.AX;
  const t = {
    q: r(d.B * d.H * N * d.E),
    k: r(d.B * d.H * N * d.E),
    v: r(d.B * d.H * N * d.F),
    ba: r(d.H * A * N, 0.5),
    bq: r(d.H * N * A, 0.5),
    wd: r(d.H * d.F * 9, 0.3),
    bd: r(d.H * d.F, 0.3),
  };
  const img = [d.B, d.H, d.Y, d.X];
  return {
    label: `B${d.B} H${d.H} ${d.Y}×${d.X} E${d.E} F${d.F} agents ${d.AY}×${d.AX}`,
    inputs: {
      Q: tensor('f32', [...img, d.E], t.q),
      K: tensor('f32', [...img, d.E], t.k),
      V: tensor('f32', [...img, d.F], t.v),
      BA: tensor('f32', [d.H, d.AY, d.AX, d.Y, d.X], t.ba),
      BQ: tensor('f32', [d.H, d.Y, d.X, d.AY, d.AX], t.bq),
      WD: tensor('f32', [d.H, d.F, 3, 3], t.wd),
      BD: tensor('f32', [d.H, d.F], t.bd),
    },
    expected: agentPooledReference(t, { ...d, I: 3, J: 3 }),
  };
}

const summary: string[] = [];
afterAll(() => console.log(`agent vs float64 reference:\n  ${summary.join('\n  ')}`));

/**
 * Every case on the default tiles, and a few again on small tiles, where block skipping
 * matters (each WebGPU run costs about a second on lavapipe).
 */
function describeTiles(
  title: string,
  variants: Readonly<Record<string, CompiledSpec>>,
  cases: () => Case[],
  again: (i: number) => boolean = (i) => i < 3,
): void {
  const [[, first], ...rest] = Object.entries(variants);
  describeEquivalence(title, { default: first }, cases, summary);
  for (const [name, spec] of rest)
    describeEquivalence(
      `${title} · ${name}`,
      { [name]: spec },
      () => cases().filter((_, i) => again(i)),
      summary,
    );
}

test('the optimizer fuses both cascades: the aggregation and the broadcast', () => {
  for (const spec of [...Object.values(agent), ...Object.values(pooled)]) {
    expectPasses(spec, ['tile', 'fuse', 'split-kv'], ['block-sparsity', 'head-grouping']);
    expect(spec.scheduled.schedule.fused).toEqual(['VA', spec.name === 'agent' ? 'O' : 'OA']);
  }
});

test('with one agent every query of a head gets the same row', () => {
  const c = agentCases()[4];
  for (let p = 1; p < 5; p++)
    for (let f = 0; f < 4; f++) expect(c.expected[p * 4 + f]).toBeCloseTo(c.expected[f], 12);
});

// The paper's 7 × 7 agents span two agent tiles of 32: the pooling filter over y, x must not
// become a tile filter of the broadcast (a block-sparsity bug, fixed in 6b1c8a9).
test('agent_pooled with 7 × 7 agents after the optimizer', () => {
  const c = pooledCase({ B: 1, H: 1, Y: 14, X: 14, E: 4, F: 4, AY: 7, AX: 7 }, 599);
  const result = interpret(pooled.default.scheduled, c.inputs);
  if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('; '));
  assertAllClose(result.outputs.O.data, c.expected, TOLERANCE, 'scheduled O');
});

test('agent_pooled with 7 × 7 agents on the checked program', () => {
  const c = pooledCase({ B: 1, H: 1, Y: 14, X: 14, E: 4, F: 4, AY: 7, AX: 7 }, 599);
  const result = interpret(pooled.default.program, c.inputs);
  if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('; '));
  assertAllClose(result.outputs.O.data, c.expected, TOLERANCE, 'cpu O');
});

describeTiles('agent', agent, agentCases);
describeTiles('agent_pooled', pooled, () => POOLED_SHAPES.map((d, i) => pooledCase(d, 550 + i)));
