/**
 * Float64 reference for stdlib/sigmoid.attn, written from the formula:
 *
 *   O[b, h, p, f] = Σ_{m visible} sigmoid(scale · Q_p·K_m + bias) V[m, f],   bias = −log(M) by default,
 *
 * with no normalisation across keys; a row with no visible key is 0. Also the generic loop
 * nest the other max-free normalisers (test/reference/softplus_l1.ts) use.
 *
 * Layouts: Q [B, H, P, E], K [B, H, M, E], V [B, H, M, F]; the result is [B, H, P, F].
 */
export interface AttnDims {
  readonly B: number;
  readonly H: number;
  readonly P: number;
  readonly M: number;
  readonly E: number;
  readonly F: number;
}

/** Bottom-right aligned causal visibility: query p sees key m iff m ≤ p + M − P. */
export const causalVisible = (d: AttnDims, p: number, m: number): boolean => m <= p + d.M - d.P;

/**
 * O[b, h, p, :] = Σ_m w_m V[m, :] where `weights` turns the row's scaled dot products
 * `scale · Q_p·K_m` of the visible keys (`kept[m]`) into weights; invisible keys weigh nothing.
 */
export function weightedRows(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: AttnDims,
  opts: {
    readonly scale: number;
    readonly causal: boolean;
    readonly weights: (s: Float64Array, kept: Uint8Array, p: number) => Float64Array;
  },
): Float64Array {
  const { B, H, P, M, E, F } = d;
  const out = new Float64Array(B * H * P * F);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let p = 0; p < P; p++) {
        const s = new Float64Array(M);
        const kept = new Uint8Array(M);
        for (let m = 0; m < M; m++) {
          kept[m] = !opts.causal || causalVisible(d, p, m) ? 1 : 0;
          let dot = 0;
          for (let e = 0; e < E; e++)
            dot += q[((b * H + h) * P + p) * E + e] * k[((b * H + h) * M + m) * E + e];
          s[m] = opts.scale * dot;
        }
        const w = opts.weights(s, kept, p);
        const o = ((b * H + h) * P + p) * F;
        for (let m = 0; m < M; m++) {
          if (!kept[m]) continue;
          for (let f = 0; f < F; f++) out[o + f] += w[m] * v[((b * H + h) * M + m) * F + f];
        }
      }
  return out;
}

export function sigmoidReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: AttnDims,
  opts: { causal: boolean; scale?: number; bias?: number },
): Float64Array {
  const bias = opts.bias ?? -Math.log(d.M);
  return weightedRows(q, k, v, d, {
    scale: opts.scale ?? 1 / Math.sqrt(d.E),
    causal: opts.causal,
    weights: (s) => s.map((x) => 1 / (1 + Math.exp(-(x + bias)))),
  });
}
