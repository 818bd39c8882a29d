/**
 * Float64 reference for stdlib/attn_stats.attn, written from its header: softmax attention O,
 * the row log-sum-exp LSE (−∞ for a row that sees no key) and H2O's accumulated attention
 * ACC[b, h, m] = Σ_p A[b, h, p, m], the column sums of the normalised weights. Bottom-right
 * causality when asked: key m visible to query p iff m <= p + M − P.
 */
export interface StatsDims {
  readonly B: number;
  readonly H: number;
  readonly P: number;
  readonly M: number;
  readonly E: number;
  readonly F: number;
}

export function attnStatsReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: StatsDims,
  opts: { causal: boolean; scale?: number },
): { O: Float64Array; LSE: Float64Array; ACC: Float64Array } {
  const { B, H, P, M, E, F } = d;
  const scale = opts.scale ?? 1 / Math.sqrt(E);
  const O = new Float64Array(B * H * P * F);
  const LSE = new Float64Array(B * H * P).fill(-Infinity);
  const ACC = new Float64Array(B * H * M);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let p = 0; p < P; p++) {
        const row = (b * H + h) * P + p;
        const keys: number[] = [];
        for (let m = 0; m < M; m++) if (!opts.causal || m <= p + M - P) keys.push(m);
        if (keys.length === 0) continue;
        const s = keys.map((m) => {
          let dot = 0;
          for (let e = 0; e < E; e++) dot += q[row * E + e] * k[((b * H + h) * M + m) * E + e];
          return scale * dot;
        });
        const max = Math.max(...s);
        const sum = s.reduce((a, x) => a + Math.exp(x - max), 0);
        LSE[row] = max + Math.log(sum);
        keys.forEach((m, i) => {
          const a = Math.exp(s[i] - max) / sum;
          ACC[(b * H + h) * M + m] += a;
          for (let f = 0; f < F; f++) O[row * F + f] += a * v[((b * H + h) * M + m) * F + f];
        });
      }
  return { O, LSE, ACC };
}
