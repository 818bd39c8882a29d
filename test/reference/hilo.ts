/**
 * Float64 reference for stdlib/hilo.attn, from its header: heads h < hifi attend within
 * S × S windows (clipped at the border), heads h >= hifi attend to the S × S averages of K and
 * V over the whole windows (⌊Y/S⌋ × ⌊X/S⌋ of them). Layout [b, h, y, x, feature].
 */
import { attention2d, type Dims2d } from './grid_dilated2d.ts';

export function hiloReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: Dims2d,
  opts: { S: number; hifi: number },
): Float64Array {
  const { B, H, Y, X, E, F } = d;
  const { S, hifi } = opts;
  const scale = 1 / Math.sqrt(E);
  const N = Y * X;
  const out = new Float64Array(B * H * N * F);

  // Hi-Fi: window attention on every head, of which only the heads h < hifi are kept.
  const windowed = attention2d(
    q,
    k,
    v,
    d,
    (y, x, my, mx) =>
      Math.floor(y / S) === Math.floor(my / S) && Math.floor(x / S) === Math.floor(mx / S),
  );

  const WY = Math.floor(Y / S);
  const WX = Math.floor(X / S);
  const W = WY * WX;
  const pooled = (src: ArrayLike<number>, D: number, b: number, h: number) => {
    const out = new Float64Array(W * D);
    for (let wy = 0; wy < WY; wy++)
      for (let wx = 0; wx < WX; wx++)
        for (let i = 0; i < S; i++)
          for (let j = 0; j < S; j++) {
            const at = (((b * H + h) * Y + wy * S + i) * X + wx * S + j) * D;
            for (let c = 0; c < D; c++) out[(wy * WX + wx) * D + c] += src[at + c] / (S * S);
          }
    return out;
  };

  const w = new Float64Array(W);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const rows = (b * H + h) * N;
      if (h < hifi) {
        out.set(windowed.subarray(rows * F, (rows + N) * F), rows * F);
        continue;
      }
      // Lo-Fi: every query against the pooled keys and values of this (b, h).
      const kp = pooled(k, E, b, h);
      const vp = pooled(v, F, b, h);
      for (let p = 0; p < N; p++) {
        let max = -Infinity;
        for (let n = 0; n < W; n++) {
          let dot = 0;
          for (let e = 0; e < E; e++) dot += q[(rows + p) * E + e] * kp[n * E + e];
          w[n] = scale * dot;
          max = Math.max(max, w[n]);
        }
        let sum = 0;
        for (let n = 0; n < W; n++) sum += w[n] = Math.exp(w[n] - max);
        for (let n = 0; n < W; n++)
          for (let f = 0; f < F; f++) out[(rows + p) * F + f] += (w[n] / sum) * vp[n * F + f];
      }
    }
  return out;
}
