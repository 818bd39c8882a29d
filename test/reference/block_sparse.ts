/**
 * Float64 references for stdlib/block_sparse.attn, from the file's header. Tables are row-major:
 * BM[B, HQ, R, C], Vert[B, HQ, M], Slash[B, HQ, M].
 */
import type { Dims } from './variants.ts';

export { maskedReference } from './document_mask.ts';

type Keep = (b: number, h: number, p: number, m: number) => boolean;

/** block_sparse: the (p / bq, m / bk) block is on (and exists), and causal when asked. */
export const blockSparseKeep =
  (
    d: Dims,
    bm: ArrayLike<number>,
    R: number,
    C: number,
    blockQ: number,
    blockK: number,
    causal: boolean,
  ): Keep =>
  (b, h, p, m) => {
    const r = Math.floor(p / blockQ);
    const c = Math.floor(m / blockK);
    if (r >= R || c >= C) return false;
    return bm[((b * d.HQ + h) * R + r) * C + c] !== 0 && (!causal || m <= p + d.M - d.P);
  };

/** vertical_slash: causal, and the key's column or the pair's diagonal p' - m is kept. */
export const verticalSlashKeep =
  (d: Dims, vert: ArrayLike<number>, slash: ArrayLike<number>): Keep =>
  (b, h, p, m) => {
    const offset = p + d.M - d.P - m;
    if (offset < 0) return false;
    const row = (b * d.HQ + h) * d.M;
    return vert[row + m] !== 0 || slash[row + offset] !== 0;
  };
