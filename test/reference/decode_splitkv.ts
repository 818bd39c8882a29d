/**
 * Float64 reference for stdlib/decode_splitkv.attn, written from its header: sequence b holds
 * Len[b] keys and its P queries are the last P positions, so key m is visible to query p iff
 * m <= p + Len[b] − P. Without `phi` the weights are softmax (the row max subtracted); with
 * `phi` they are FlashDecoding++'s exp(S − phi) / Σ exp(S − phi), computed as written. A row
 * that sees no key is 0.
 */
import type { Dims } from './variants.ts';

export function decodeReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  len: ArrayLike<number>,
  d: Dims,
  opts: { scale?: number; phi?: number } = {},
): Float64Array {
  const { B, HQ, HK, P, M, E, F } = d;
  const G = Math.floor(HQ / HK);
  const scale = opts.scale ?? 1 / Math.sqrt(E);
  const out = new Float64Array(B * HQ * P * F);
  for (let b = 0; b < B; b++)
    for (let hq = 0; hq < HQ; hq++) {
      const hk = Math.floor(hq / G);
      for (let p = 0; p < P; p++) {
        const keys: number[] = [];
        for (let m = 0; m < M; m++) if (m <= p + len[b] - P) keys.push(m);
        if (keys.length === 0) continue;
        const s = keys.map((m) => {
          let dot = 0;
          for (let e = 0; e < E; e++)
            dot += q[((b * HQ + hq) * P + p) * E + e] * k[((b * HK + hk) * M + m) * E + e];
          return scale * dot;
        });
        const shift = opts.phi ?? Math.max(...s);
        const w = s.map((x) => Math.exp(x - shift));
        const sum = w.reduce((a, x) => a + x, 0);
        const o = ((b * HQ + hq) * P + p) * F;
        keys.forEach((m, i) => {
          for (let f = 0; f < F; f++)
            out[o + f] += (w[i] / sum) * v[((b * HK + hk) * M + m) * F + f];
        });
      }
    }
  return out;
}
