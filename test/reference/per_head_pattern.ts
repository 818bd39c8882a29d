/**
 * Float64 references for stdlib/per_head_pattern.attn, one visibility rule per block, from the
 * file's header. p' = p + M - P throughout; `/` on integers is floor division.
 */
import type { Dims } from './variants.ts';

export { maskedReference } from './document_mask.ts';

type Keep = (b: number, h: number, p: number, m: number) => boolean;

const pos = (d: Dims, p: number) => p + d.M - d.P;
const floorMod = (a: number, n: number) => ((a % n) + n) % n;

/** duo_attention: retrieval K/V heads see all earlier keys, streaming ones sinks + window. */
export const duoKeep =
  (d: Dims, full: ArrayLike<number>, sinks: number, window: number): Keep =>
  (_b, hq, p, m) => {
    const hk = Math.floor(hq / Math.floor(d.HQ / d.HK));
    const pp = pos(d, p);
    return m <= pp && (full[hk] !== 0 || m < sinks || pp - m < window);
  };

/** moa: sinks plus a band of real width Alpha[hq] + Beta[hq] * M. */
export const moaKeep =
  (d: Dims, alpha: ArrayLike<number>, beta: ArrayLike<number>, sinks: number): Keep =>
  (_b, hq, p, m) => {
    const pp = pos(d, p);
    return m <= pp && (m < sinks || pp - m < alpha[hq] + beta[hq] * d.M);
  };

/** s2_attention: `local` neighbouring blocks plus every `stride`-th block, offset per head. */
export const s2Keep =
  (d: Dims, block: number, local: number, stride: number): Keep =>
  (_b, hq, p, m) => {
    const pp = pos(d, p);
    const kb = Math.floor(m / block);
    const step = Math.max(1, Math.floor(stride / d.HQ));
    return m <= pp && (Math.floor(pp / block) - kb < local || (kb + hq * step + 1) % stride === 0);
  };

/** longlora: groups of `group`; the second half of the heads in the sequence rolled by -group/2. */
export const longloraKeep =
  (d: Dims, group: number, causal: boolean): Keep =>
  (_b, hq, p, m) => {
    const pp = pos(d, p);
    if (hq < Math.floor(d.HQ / 2))
      return Math.floor(pp / group) === Math.floor(m / group) && (!causal || m <= pp);
    const roll = (x: number) => floorMod(x - Math.floor(group / 2), d.M);
    return (
      Math.floor(roll(pp) / group) === Math.floor(roll(m) / group) &&
      (!causal || roll(m) <= roll(pp))
    );
  };
