/**
 * Softmax attention in plain float64 loops, written from the formula and independent of the
 * compiler and interpreter (Halide's "C++ reference loops" style):
 *
 *   s[m]   = scale · Σ_e Q[b, hq, p, e] · K[b, hk, m, e]       hk = floor(hq / (HQ / HK))  (GQA)
 *   s[m]   = cap · tanh(s[m] / cap)                            (optional soft-capping)
 *   s[m]  += slope[hq] · (m - p)                               (optional ALiBi bias)
 *   keep m where (m <= p if causal) and m < keyLen[b] and mask(b, hq, p, m)
 *   O[b, hq, p, f] = Σ_m softmax(s)[m] · V[b, hk, m, f]          (0 when no m is kept)
 *
 * Tensors are row-major: Q [B, HQ, P, E], K [B, HK, M, E], V [B, HK, M, F], O [B, HQ, P, F].
 */
export interface AttentionDims {
  readonly B: number;
  readonly HQ: number;
  readonly HK: number;
  readonly P: number;
  readonly M: number;
  readonly E: number;
  readonly F: number;
}

export interface AttentionOptions {
  /** Multiplies the raw scores; defaults to 1 / sqrt(E). */
  readonly scale?: number;
  readonly causal?: boolean;
  readonly softcap?: number;
  /** Per query head ALiBi slope. */
  readonly alibiSlopes?: ArrayLike<number>;
  /** Per batch number of valid keys. */
  readonly keyLengths?: ArrayLike<number>;
  /** Extra mask: keep (b, hq, p, m) when true. */
  readonly mask?: (b: number, hq: number, p: number, m: number) => boolean;
}

export function referenceAttention(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: AttentionDims,
  opts: AttentionOptions = {},
): Float64Array {
  const { B, HQ, HK, P, M, E, F } = d;
  if (HQ % HK !== 0) throw new Error('HQ must be a multiple of HK');
  const group = HQ / HK;
  const scale = opts.scale ?? 1 / Math.sqrt(E);
  const out = new Float64Array(B * HQ * P * F);
  const scores = new Float64Array(M);
  const keep = new Array<boolean>(M);
  for (let b = 0; b < B; b++) {
    for (let hq = 0; hq < HQ; hq++) {
      const hk = Math.floor(hq / group);
      for (let p = 0; p < P; p++) {
        let rowMax = -Infinity;
        for (let m = 0; m < M; m++) {
          keep[m] =
            (!opts.causal || m <= p) &&
            (opts.keyLengths === undefined || m < opts.keyLengths[b]) &&
            (opts.mask === undefined || opts.mask(b, hq, p, m));
          if (!keep[m]) continue;
          let dot = 0;
          for (let e = 0; e < E; e++) {
            dot += q[((b * HQ + hq) * P + p) * E + e] * k[((b * HK + hk) * M + m) * E + e];
          }
          let s = dot * scale;
          if (opts.softcap !== undefined) s = opts.softcap * Math.tanh(s / opts.softcap);
          if (opts.alibiSlopes !== undefined) s += opts.alibiSlopes[hq] * (m - p);
          scores[m] = s;
          rowMax = Math.max(rowMax, s);
        }
        let denom = 0;
        for (let m = 0; m < M; m++) {
          if (!keep[m]) continue;
          scores[m] = Math.exp(scores[m] - rowMax);
          denom += scores[m];
        }
        const o = ((b * HQ + hq) * P + p) * F;
        if (denom === 0) continue; // fully masked row: the output row stays 0
        for (let m = 0; m < M; m++) {
          if (!keep[m]) continue;
          const weight = scores[m] / denom;
          for (let f = 0; f < F; f++) out[o + f] += weight * v[((b * HK + hk) * M + m) * F + f];
        }
      }
    }
  }
  return out;
}
