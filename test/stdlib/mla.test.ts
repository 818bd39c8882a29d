/**
 * stdlib/mla.attn three ways: the float64 references of test/reference/mla.ts (`mla` against
 * un-absorbed MLA, so the absorption identity is checked too), the CPU interpreter on the
 * checked and on the scheduled IR, and WebGPU. Small widths stand in for DeepSeek's
 * C = 128, D = 64, R = 512; keys are R + D wide and values R wide, as in the real model.
 */
import { describe, expect, test } from 'vitest';
import { tensor } from '../../index.ts';
import { createRng } from '../helpers/rng.ts';
import { StdlibFile, type Case } from './three-ways.ts';
import { mlaLatentReference, mlaReference, type MlaDims } from '../reference/mla.ts';

const stdlib = new StdlibFile('stdlib/mla.attn');
const note = (block: string, pass: string) => stdlib.note(block, pass);
const threeWays = (block: string, output: string, cases: Case[]) =>
  stdlib.threeWays(block, output, cases);

const SHAPES: readonly (MlaDims & { causal: boolean })[] = [
  { B: 1, H: 4, P: 13, M: 17, C: 4, D: 2, R: 8, F: 4, causal: true },
  { B: 2, H: 2, P: 1, M: 37, C: 8, D: 4, R: 16, F: 8, causal: true }, // decode
  { B: 1, H: 2, P: 9, M: 4, C: 4, D: 2, R: 8, F: 6, causal: true }, // rows p < 5 see nothing
  { B: 1, H: 1, P: 3, M: 1, C: 2, D: 2, R: 4, F: 3, causal: false }, // M = 1
  { B: 1, H: 2, P: 5, M: 11, C: 4, D: 2, R: 37, F: 4, causal: false }, // R over two tiles of 32
];

/** Rows (b, h, p) that see no key under bottom-right causality: p < P − M. */
function emptyRows(d: MlaDims & { causal: boolean }): number[] {
  const rows: number[] = [];
  if (d.causal) for (let r = 0; r < d.B * d.H * d.P; r++) if (r % d.P < d.P - d.M) rows.push(r);
  return rows;
}

const label = (d: MlaDims & { causal: boolean }) =>
  `B${d.B} H${d.H} P${d.P} M${d.M} C${d.C} D${d.D} R${d.R} F${d.F} causal=${d.causal}`;

function mlaCases(): Case[] {
  return SHAPES.map((d, i) => {
    const rng = createRng(800 + i);
    const randn = (n: number, s = 1) => Float32Array.from(rng.randnArray(n, s));
    const inp = {
      QN: randn(d.B * d.H * d.P * d.C),
      QR: randn(d.B * d.H * d.P * d.D),
      // Projections scaled by 1/sqrt(R) keep the up-projected keys and values O(1).
      WUK: randn(d.H * d.C * d.R, 1 / Math.sqrt(d.R)),
      CKV: randn(d.B * d.M * d.R),
      KR: randn(d.B * d.M * d.D),
      WUV: randn(d.H * d.F * d.R, 1 / Math.sqrt(d.R)),
    };
    return {
      label: label(d),
      inputs: {
        QN: tensor('f32', [d.B, d.H, d.P, d.C], inp.QN),
        QR: tensor('f32', [d.B, d.H, d.P, d.D], inp.QR),
        WUK: tensor('f32', [d.H, d.C, d.R], inp.WUK),
        CKV: tensor('f32', [d.B, d.M, d.R], inp.CKV),
        KR: tensor('f32', [d.B, d.M, d.D], inp.KR),
        WUV: tensor('f32', [d.H, d.F, d.R], inp.WUV),
      },
      params: { causal: d.causal },
      expected: mlaReference(inp, d, { causal: d.causal }),
      emptyRows: emptyRows(d),
      width: d.F,
    };
  });
}

function latentCases(): Case[] {
  return SHAPES.map((d, i) => {
    const rng = createRng(900 + i);
    const randn = (n: number, s = 1) => Float32Array.from(rng.randnArray(n, s));
    const inp = {
      QA: randn(d.B * d.H * d.P * d.R, 1 / Math.sqrt(d.R)),
      QR: randn(d.B * d.H * d.P * d.D),
      CKV: randn(d.B * d.M * d.R),
      KR: randn(d.B * d.M * d.D),
    };
    // The default scale is DeepSeek's 1/sqrt(128 + 64); every other case sets one.
    const scale = i % 2 === 0 ? 1 / Math.sqrt(192) : 0.4;
    return {
      label: `${label(d)} scale=${scale.toFixed(3)}`,
      inputs: {
        QA: tensor('f32', [d.B, d.H, d.P, d.R], inp.QA),
        QR: tensor('f32', [d.B, d.H, d.P, d.D], inp.QR),
        CKV: tensor('f32', [d.B, d.M, d.R], inp.CKV),
        KR: tensor('f32', [d.B, d.M, d.D], inp.KR),
      },
      params: { causal: d.causal, ...(i % 2 === 0 ? {} : { scale }) },
      expected: mlaLatentReference(inp, d, { causal: d.causal, scale }),
      emptyRows: emptyRows(d),
      width: d.R,
    };
  });
}

describe('mla: absorb, attend over the latent, up-project', () => {
  test('passes: the attention over the latent is fused; the up-projection is not an attention', () => {
    // `O = sum[r] OL * WUV` has the shape `sum[key] W * V`, but OL is a reduction (the
    // attention's output), not element-wise weights, so only `OL` is tiled and fused.
    expect(note('mla', 'tile')).toMatchObject({ applied: true, message: 'partitions `m`' });
    expect(note('mla', 'fuse')).toMatchObject({
      applied: true,
      message: 'fuses `OL` (online softmax)',
    });
  });
  threeWays('mla', 'O', mlaCases());
});

describe('mla_latent: the kernel, K and V aliasing the latent', () => {
  test('passes: fused (online softmax); head grouping declines (the latent has no head)', () => {
    expect(note('mla_latent', 'fuse')).toMatchObject({
      applied: true,
      message: 'fuses `OL` (online softmax)',
    });
    expect(note('mla_latent', 'block-sparsity').applied).toBe(true);
    expect(note('mla_latent', 'head-grouping')).toMatchObject({
      applied: false,
      message: '`CKV` is not read at a grouped head (`hq / G`)',
    });
    expect(note('mla_latent', 'split-kv').applied).toBe(true);
  });
  threeWays('mla_latent', 'OL', latentCases());
});
