/**
 * Float64 reference for stdlib/linear_decay_causal.attn, written from the quadratic (parallel)
 * form of retention / TransNormer / Lightning Attention, with no chunks:
 *
 *   O[b, h, t, f] = Σ_{s ≤ t} Lam[h]^(t − s) (Q[b, h, t, :]·K[b, h, s, :]) V[b, h, s, f].
 *
 * Layouts: Q, K [B, H, T, E], V [B, H, T, F], Lam [H]; the result is [B, H, T, F].
 */
export interface CausalDims {
  readonly B: number;
  readonly H: number;
  readonly T: number;
  readonly E: number;
  readonly F: number;
}

export function linearDecayCausalReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  lam: ArrayLike<number>,
  d: CausalDims,
): Float64Array {
  const { B, H, T, E, F } = d;
  const out = new Float64Array(B * H * T * F);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let t = 0; t < T; t++) {
        const o = ((b * H + h) * T + t) * F;
        for (let s = 0; s <= t; s++) {
          let dot = 0;
          for (let e = 0; e < E; e++)
            dot += q[((b * H + h) * T + t) * E + e] * k[((b * H + h) * T + s) * E + e];
          const w = Math.pow(lam[h], t - s) * dot;
          for (let f = 0; f < F; f++) out[o + f] += w * v[((b * H + h) * T + s) * F + f];
        }
      }
  return out;
}
