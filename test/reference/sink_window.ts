/**
 * Float64 reference for stdlib/sink_window.attn, from its header: with p' = p + M - P, key m is
 * visible to query p iff m <= p' and (m < sinks or p' - m < window).
 */
import { softmaxAttention, type Dims } from './variants.ts';

export const sinkWindowKeep =
  (d: Dims, sinks: number, window: number) => (_b: number, _h: number, p: number, m: number) => {
    const pos = p + d.M - d.P;
    return m <= pos && (m < sinks || pos - m < window);
  };

export function sinkWindowReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: Dims,
  sinks: number,
  window: number,
): Float64Array {
  const scale = 1 / Math.sqrt(d.E);
  return softmaxAttention(q, k, v, d, {
    score: (dot) => scale * dot,
    keep: sinkWindowKeep(d, sinks, window),
  });
}
