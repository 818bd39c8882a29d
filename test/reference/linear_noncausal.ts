/**
 * Float64 reference for stdlib/linear_noncausal.attn, written from the quadratic form (not the
 * KᵀV-first order the spec uses), so the two contraction orders check each other:
 *
 *   O[b, h, p, f] = Σ_m (φ(Q_p)·φ(K_m)) V[m, f] / (Σ_m φ(Q_p)·φ(K_m) + eps),
 *
 * with φ(x) = elu(x) + 1, or relu(x).
 *
 * Layouts: Q [B, H, P, E], K [B, H, M, E], V [B, H, M, F]; the result is [B, H, P, F].
 */
export interface LinearDims {
  readonly B: number;
  readonly H: number;
  readonly P: number;
  readonly M: number;
  readonly E: number;
  readonly F: number;
}

/** elu(x) + 1: x + 1 above 0, e^x below (continuous at 0, always positive). */
export const eluPlusOne = (x: number): number => (x > 0 ? x + 1 : Math.exp(x));

export function linearNoncausalReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: LinearDims,
  opts: { relu?: boolean; eps?: number } = {},
): Float64Array {
  const { B, H, P, M, E, F } = d;
  const phi = opts.relu ? (x: number) => Math.max(x, 0) : eluPlusOne;
  const eps = opts.eps ?? 1e-6;
  const out = new Float64Array(B * H * P * F);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let p = 0; p < P; p++) {
        const qo = ((b * H + h) * P + p) * E;
        const o = ((b * H + h) * P + p) * F;
        let den = 0;
        for (let m = 0; m < M; m++) {
          const ko = ((b * H + h) * M + m) * E;
          let w = 0;
          for (let e = 0; e < E; e++) w += phi(q[qo + e]) * phi(k[ko + e]);
          den += w;
          for (let f = 0; f < F; f++) out[o + f] += w * v[((b * H + h) * M + m) * F + f];
        }
        for (let f = 0; f < F; f++) out[o + f] /= den + eps;
      }
  return out;
}
