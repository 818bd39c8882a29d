/**
 * Float64 references for stdlib/selective_temperature.attn, written from the header's formulas
 * with the generic softmax loop of test/reference/variants.ts (one head per key/value head):
 *
 *   selective_temperature: s = Tau[b, h, p] · scale · Q_p·K_m, values TauV[b, h, m] · V[m, :]
 *   cosine_attention:      s = scale · Q_p·K_m / (|Q_p| |K_m|)
 */
import { softmaxAttention, causalKeep, type Dims } from './variants.ts';
import type { AttnDims } from './sigmoid.ts';

const asDims = (d: AttnDims): Dims => ({ ...d, HQ: d.H, HK: d.H });

export function selectiveTemperatureReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  tau: ArrayLike<number>,
  tauV: ArrayLike<number>,
  d: AttnDims,
  opts: { causal: boolean; scale?: number },
): Float64Array {
  const { B, H, P, M, F } = d;
  const scale = opts.scale ?? 1 / Math.sqrt(d.E);
  // The value scale multiplies V before the weighted sum (it is outside the softmax).
  const scaledV = Float64Array.from(
    { length: B * H * M * F },
    (_, i) => tauV[Math.floor(i / F)] * v[i],
  );
  return softmaxAttention(q, k, scaledV, asDims(d), {
    score: (dot, b, h, p) => tau[(b * H + h) * P + p] * scale * dot,
    keep: opts.causal ? causalKeep(asDims(d)) : undefined,
  });
}

export function cosineAttentionReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: AttnDims,
  opts: { causal: boolean; scale?: number },
): Float64Array {
  const { H, P, M, E } = d;
  const scale = opts.scale ?? 10;
  const norm = (x: ArrayLike<number>, row: number) => {
    let s = 0;
    for (let e = 0; e < E; e++) s += x[row * E + e] ** 2;
    return Math.sqrt(s);
  };
  return softmaxAttention(q, k, v, asDims(d), {
    score: (dot, b, h, p, m) =>
      (scale * dot) / (norm(q, (b * H + h) * P + p) * norm(k, (b * H + h) * M + m)),
    keep: opts.causal ? causalKeep(asDims(d)) : undefined,
  });
}
