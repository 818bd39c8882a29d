/**
 * Float64 reference for stdlib/gla.attn, written from the token-by-token recurrence of gated
 * linear attention (no chunks, no log-space cumulative gates):
 *
 *   ST_0 = 0,   ST_{t+1}[e, f] = Alpha[t, e] · ST_t[e, f] + K[t, e] · V[t, f]
 *   O[t, f] = Σ_e Q[t, e] · ST_{t+1}[e, f]
 *
 * Layouts: Q, K, Alpha [B, H, T, E], V [B, H, T, F]; the result is [B, H, T, F].
 */
import type { CausalDims } from './linear_decay_causal.ts';

export function glaReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  alpha: ArrayLike<number>,
  d: CausalDims,
): Float64Array {
  const { B, H, T, E, F } = d;
  const out = new Float64Array(B * H * T * F);
  const st = new Float64Array(E * F);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      st.fill(0);
      for (let t = 0; t < T; t++) {
        const x = ((b * H + h) * T + t) * E;
        const y = ((b * H + h) * T + t) * F;
        for (let e = 0; e < E; e++)
          for (let f = 0; f < F; f++)
            st[e * F + f] = alpha[x + e] * st[e * F + f] + k[x + e] * v[y + f];
        for (let f = 0; f < F; f++) {
          let o = 0;
          for (let e = 0; e < E; e++) o += q[x + e] * st[e * F + f];
          out[y + f] = o;
        }
      }
    }
  return out;
}
