import { describe, expect, it } from 'vitest';
import { interpret } from '../../../backends/cpu/interpret.ts';
import { tensor, type HostTensor } from '../../../compiler/tensor.ts';
import { assertAllClose, formatReport } from '../../helpers/allclose.ts';
import { createRng } from '../../helpers/rng.ts';
import {
  referenceAttention,
  type AttentionDims,
  type AttentionOptions,
} from '../../reference/attention.ts';
import { attentionInputs, attentionProgram, type AttentionVariant } from './programs.ts';

/** Outputs are f32; the interpreter computes in float64, so only the final rounding differs. */
const TOL = { atol: 1e-6, rtol: 1e-5 };

function run(
  variant: AttentionVariant,
  d: AttentionDims,
  seed: number,
  extra: Record<string, HostTensor> = {},
  opts: AttentionOptions = {},
  params = {},
) {
  const rng = createRng(seed);
  const c = attentionInputs(d, rng);
  const result = interpret(attentionProgram(variant), { ...c.inputs, ...extra }, { params });
  if (!result.ok) throw new Error(result.diagnostics.map((x) => x.message).join('\n'));
  const expected = referenceAttention(c.q, c.k, c.v, d, { causal: variant.causal, ...opts });
  return { actual: result.outputs.O.data as Float32Array, expected, result };
}

const SMALL: AttentionDims = { B: 2, HQ: 4, HK: 2, P: 5, M: 7, E: 3, F: 2 };

describe('softmax attention vs test/reference', () => {
  it('plain (MHA, HQ = HK)', () => {
    const { actual, expected } = run({}, { ...SMALL, HK: 4 }, 1);
    assertAllClose(actual, expected, TOL);
  });

  it('causal GQA via hq / G with G = HQ / HK', () => {
    const { actual, expected, result } = run({ causal: true }, SMALL, 2);
    assertAllClose(actual, expected, TOL);
    // Causal: S is absent above the diagonal; p = 0 keeps exactly one key.
    const s = result.ok ? result.tensors.get('S')! : undefined;
    expect(s?.present[1]).toBe(0);
    expect(s?.present[0]).toBe(1);
  });

  it('MQA (HK = 1), prime extents', () => {
    const { actual, expected } = run(
      { causal: true },
      { B: 1, HQ: 3, HK: 1, P: 11, M: 13, E: 5, F: 3 },
      3,
    );
    assertAllClose(actual, expected, TOL);
  });

  it('softcap param: default and override', () => {
    const d = SMALL;
    const byDefault = run({ softcap: true }, d, 4, {}, { softcap: 50 });
    assertAllClose(byDefault.actual, byDefault.expected, TOL);
    const overridden = run({ softcap: true }, d, 4, {}, { softcap: 0.5 }, { cap: 0.5 });
    assertAllClose(overridden.actual, overridden.expected, TOL);
    // A small cap changes the result, so the override really was used.
    expect(overridden.actual).not.toEqual(byDefault.actual);
  });

  it('ALiBi: an index difference used as a value', () => {
    const slopes = Float32Array.from([0.5, 0.25, 0.125, 0.0625]);
    const { actual, expected } = run(
      { alibi: true, causal: true },
      SMALL,
      5,
      { Slope: tensor('f32', [4], slopes) },
      { alibiSlopes: slopes },
    );
    assertAllClose(actual, expected, TOL);
  });

  it('i32 key lengths read in a filter; a zero length gives a zero row, not NaN', () => {
    const lens = Int32Array.from([0, 4]);
    const { actual, expected, result } = run(
      { keyLengths: true },
      SMALL,
      6,
      { Len: tensor('i32', [2], lens) },
      { keyLengths: lens },
    );
    assertAllClose(actual, expected, TOL);
    const batch0 = actual.subarray(0, SMALL.HQ * SMALL.P * SMALL.F);
    expect(batch0.every((x) => x === 0)).toBe(true);
    expect(actual.some(Number.isNaN)).toBe(false);
    // The fully masked rows: max is -inf (present), the sum is the empty sum 0.
    const gm = result.ok ? result.tensors.get('GM')! : undefined;
    expect(gm?.values[0]).toBe(-Infinity);
    expect(gm?.present[0]).toBe(1);
    expect(result.ok && result.tensors.get('SD')!.values[0]).toBe(0);
  });

  it('bool mask tensor, with fully masked rows', () => {
    const d = SMALL;
    const rng = createRng(77);
    const mask = Uint8Array.from({ length: d.B * d.P * d.M }, () => (rng.next() < 0.5 ? 1 : 0));
    for (let m = 0; m < d.M; m++) mask[(1 * d.P + 2) * d.M + m] = 0; // row (b = 1, p = 2) fully masked
    const keep = (b: number, _hq: number, p: number, m: number) =>
      mask[(b * d.P + p) * d.M + m] === 1;
    const { actual, expected } = run(
      { mask: true, causal: true },
      d,
      7,
      { Mask: tensor('bool', [d.B, d.P, d.M], mask) },
      { mask: keep },
    );
    assertAllClose(actual, expected, TOL);
    expect(actual.some(Number.isNaN)).toBe(false);
  });

  it('B=1, H=4, L=S=256, E=F=64 causal runs in a couple of seconds', () => {
    const d: AttentionDims = { B: 1, HQ: 4, HK: 4, P: 256, M: 256, E: 64, F: 64 };
    const rng = createRng(8);
    const c = attentionInputs(d, rng);
    const program = attentionProgram({ causal: true });
    const start = performance.now();
    const result = interpret(program, c.inputs);
    const ms = performance.now() - start;
    if (!result.ok) throw new Error('interpret failed');
    const report = assertAllClose(
      result.outputs.O.data as Float32Array,
      referenceAttention(c.q, c.k, c.v, d, { causal: true }),
      TOL,
    );
    console.log(`attention 1x4x256x256x64: ${ms.toFixed(0)} ms; ${formatReport(report)}`);
    expect(ms).toBeLessThan(10_000);
  });
});
