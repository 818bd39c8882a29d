/**
 * Float64 references for stdlib/window2d.attn, from the file's header: softmax attention over a
 * 2-D key grid, Q[B, H, PY, PX, E], K[B, H, MY, MX, E], V[B, H, MY, MX, F], row-major.
 */
export interface Dims2d {
  readonly B: number;
  readonly H: number;
  readonly PY: number;
  readonly PX: number;
  readonly MY: number;
  readonly MX: number;
  readonly E: number;
  readonly F: number;
}

export type Keep2d = (py: number, px: number, my: number, mx: number) => boolean;

const floorDiv = (a: number, b: number) => Math.floor(a / b);

/** window2d: the same (shifted) window in both axes. */
export const windowKeep =
  (window: number, shift: number): Keep2d =>
  (py, px, my, mx) =>
    floorDiv(py - shift, window) === floorDiv(my - shift, window) &&
    floorDiv(px - shift, window) === floorDiv(mx - shift, window);

/** halo2d: the query's block widened by `halo` on every side. */
export const haloKeep =
  (block: number, halo: number): Keep2d =>
  (py, px, my, mx) => {
    const y0 = floorDiv(py, block) * block;
    const x0 = floorDiv(px, block) * block;
    return my >= y0 - halo && my < y0 + block + halo && mx >= x0 - halo && mx < x0 + block + halo;
  };

/** O[b, h, py, px, f]; a query that sees no key gives a zero row. */
export function window2dReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: Dims2d,
  keep: Keep2d,
): Float64Array {
  const { B, H, PY, PX, MY, MX, E, F } = d;
  const out = new Float64Array(B * H * PY * PX * F);
  const s = new Float64Array(MY * MX);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let py = 0; py < PY; py++)
        for (let px = 0; px < PX; px++) {
          const qRow = (((b * H + h) * PY + py) * PX + px) * E;
          let max = -Infinity;
          for (let my = 0; my < MY; my++)
            for (let mx = 0; mx < MX; mx++) {
              const j = my * MX + mx;
              if (!keep(py, px, my, mx)) {
                s[j] = NaN;
                continue;
              }
              const kRow = ((b * H + h) * MY * MX + j) * E;
              let dot = 0;
              for (let e = 0; e < E; e++) dot += q[qRow + e] * k[kRow + e];
              s[j] = dot / Math.sqrt(E);
              max = Math.max(max, s[j]);
            }
          let sum = 0;
          for (let j = 0; j < MY * MX; j++)
            if (!Number.isNaN(s[j])) sum += s[j] = Math.exp(s[j] - max);
          if (sum === 0) continue;
          const o = (((b * H + h) * PY + py) * PX + px) * F;
          for (let j = 0; j < MY * MX; j++) {
            if (Number.isNaN(s[j])) continue;
            const vRow = ((b * H + h) * MY * MX + j) * F;
            for (let f = 0; f < F; f++) out[o + f] += (s[j] / sum) * v[vRow + f];
          }
        }
  return out;
}
