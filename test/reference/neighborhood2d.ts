/**
 * Float64 reference for stdlib/neighborhood2d.attn, written from NATTEN's reference mask
 * (natten/cuda/reference/mask.hpp) rather than from the clamp in the spec, so the two forms
 * check each other: a coordinate is split into its dilation group (coordinate % D) and its
 * position in the group (coordinate / D); the window of KW positions starts at
 *   max(c − L, 0) + (c + R ≥ NG) · (NG − R − c − 1),   L = ⌊KW/2⌋, R = KW − 1 − L,
 * around the leader c of the query's stride group, NG being the group's length. NATTEN
 * requires NG ≥ KW; below that the spec's window is the whole dilation group, and so is this.
 */
import { attention2d, type Dims2d } from './grid_dilated2d.ts';
import { softmaxAttention } from './variants.ts';

export interface NaOptions {
  readonly kernel: number;
  readonly dilation: number;
  readonly stride: number;
}

/** Whether key coordinate `k` is a neighbour of query coordinate `q` on an axis of length `n`. */
export function isNeighbour(q: number, k: number, n: number, o: NaOptions): boolean {
  const { kernel, dilation, stride } = o;
  const group = q % dilation;
  if (k % dilation !== group) return false;
  // qkv_fix_dilation: how many coordinates of the axis fall in this dilation group.
  const length =
    Math.floor(n / dilation) + 1 - Math.floor((group + dilation - (n % dilation)) / dilation);
  if (length < kernel) return true;
  const j = Math.floor(q / dilation);
  const left = Math.floor(kernel / 2);
  const right = kernel - 1 - left;
  const leader = Math.min(Math.floor(j / stride) * stride + Math.floor(stride / 2), length - 1);
  const start =
    Math.max(leader - left, 0) + (leader + right >= length ? length - right - leader - 1 : 0);
  const kj = Math.floor(k / dilation);
  return kj >= start && kj < start + kernel;
}

/** neighborhood1d: Q, K, V in [b, h, n, feature] with P = M = N. */
export function neighborhood1dReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: { B: number; H: number; N: number; E: number; F: number },
  o: NaOptions,
): Float64Array {
  const scale = 1 / Math.sqrt(d.E);
  return softmaxAttention(
    q,
    k,
    v,
    { B: d.B, HQ: d.H, HK: d.H, P: d.N, M: d.N, E: d.E, F: d.F },
    { score: (dot) => scale * dot, keep: (_b, _h, p, m) => isNeighbour(p, m, d.N, o) },
  );
}

/** neighborhood2d: a KW × KW window, the 1-D rule on rows and on columns. */
export function neighborhood2dReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: Dims2d,
  o: NaOptions,
): Float64Array {
  return attention2d(
    q,
    k,
    v,
    d,
    (y, x, my, mx) => isNeighbour(y, my, d.Y, o) && isNeighbour(x, mx, d.X, o),
  );
}
