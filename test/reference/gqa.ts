/**
 * Float64 reference for stdlib/gqa.attn `gqa_diffkv` (Sigma's DiffQKV), written from its header:
 * keys and values have their own head counts and widths,
 *
 *   GK = HQ / HK,  GV = HQ / HV
 *   O[b, hq, p, :] = Σ_m softmax_m(scale · Q[b, hq, p, :]·K[b, hq / GK, m, :]) V[b, hq / GV, m, :]
 *
 * with bottom-right causality (key m visible to query p iff m <= p + M − P) when asked; a row
 * that sees no key is 0. `gqa` itself is `gqaReference` of ./variants.ts.
 */
export interface DiffKvDims {
  readonly B: number;
  readonly HQ: number;
  readonly HK: number;
  readonly HV: number;
  readonly P: number;
  readonly M: number;
  readonly E: number;
  readonly F: number;
}

export function diffKvReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: DiffKvDims,
  opts: { causal: boolean; scale?: number },
): Float64Array {
  const { B, HQ, HK, HV, P, M, E, F } = d;
  const GK = Math.floor(HQ / HK);
  const GV = Math.floor(HQ / HV);
  const scale = opts.scale ?? 1 / Math.sqrt(E);
  const out = new Float64Array(B * HQ * P * F);
  for (let b = 0; b < B; b++)
    for (let hq = 0; hq < HQ; hq++) {
      const hk = Math.floor(hq / GK);
      const hv = Math.floor(hq / GV);
      for (let p = 0; p < P; p++) {
        const visible: number[] = [];
        for (let m = 0; m < M; m++) if (!opts.causal || m <= p + M - P) visible.push(m);
        if (visible.length === 0) continue;
        const s = visible.map((m) => {
          let dot = 0;
          for (let e = 0; e < E; e++)
            dot += q[((b * HQ + hq) * P + p) * E + e] * k[((b * HK + hk) * M + m) * E + e];
          return scale * dot;
        });
        const max = Math.max(...s);
        const w = s.map((x) => Math.exp(x - max));
        const sum = w.reduce((a, x) => a + x, 0);
        const o = ((b * HQ + hq) * P + p) * F;
        visible.forEach((m, i) => {
          for (let f = 0; f < F; f++)
            out[o + f] += (w[i] / sum) * v[((b * HV + hv) * M + m) * F + f];
        });
      }
    }
  return out;
}
