/**
 * Float64 reference for stdlib/grid_dilated2d.attn, from its header. Tokens form a Y × X
 * image stored row-major ([b, h, y, x, e] is [b, h, p, e] with p = X·y + x), so the 1-D
 * `softmaxAttention` serves with P = M = Y·X and the 2-D visibility below.
 */
import { softmaxAttention } from './variants.ts';

export interface Dims2d {
  readonly B: number;
  readonly H: number;
  readonly Y: number;
  readonly X: number;
  readonly E: number;
  readonly F: number;
}

/** Whether the token at (y, x) sees the key at (my, mx). */
export type Keep2d = (y: number, x: number, my: number, mx: number) => boolean;

/** O[b, h, y, x, :] = Σ_(my, mx) softmax(scale · Q·K) V over the keys `keep` admits. */
export function attention2d(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: Dims2d,
  keep: Keep2d,
  scale = 1 / Math.sqrt(d.E),
): Float64Array {
  const N = d.Y * d.X;
  return softmaxAttention(
    q,
    k,
    v,
    { B: d.B, HQ: d.H, HK: d.H, P: N, M: N, E: d.E, F: d.F },
    {
      score: (dot) => scale * dot,
      keep: (_b, _h, p, m) => keep(Math.floor(p / d.X), p % d.X, Math.floor(m / d.X), m % d.X),
    },
  );
}

/** MaxViT grid: equal offsets inside cells of ceil(Y / grid) × ceil(X / grid) tokens. */
export const gridKeep =
  (d: Dims2d, grid: number): Keep2d =>
  (y, x, my, mx) => {
    const cy = Math.ceil(d.Y / grid);
    const cx = Math.ceil(d.X / grid);
    return y % cy === my % cy && x % cx === mx % cx;
  };

/** CrossFormer LDA: equal residues modulo the sampling interval on both axes. */
export const dilatedKeep =
  (interval: number): Keep2d =>
  (y, x, my, mx) =>
    y % interval === my % interval && x % interval === mx % interval;
