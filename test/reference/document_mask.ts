/**
 * Float64 references for stdlib/document_mask.attn, one visibility rule per block, from the
 * file's header. Labels are per (batch, token), row-major [B, N].
 */
import { softmaxAttention, type Dims } from './variants.ts';

type Keep = (b: number, h: number, p: number, m: number) => boolean;

/** document_mask: same document, not padding (id < 0), and causal when asked. */
export const documentKeep =
  (d: Dims, seg: ArrayLike<number>, causal: boolean): Keep =>
  (b, _h, p, m) => {
    const sp = seg[b * d.M + p];
    const sm = seg[b * d.M + m];
    return sp === sm && sm >= 0 && (!causal || m <= p);
  };

/** chunk_mask: p' = p + M - P and m in the same chunk, and causal when asked. */
export const chunkKeep =
  (d: Dims, chunk: number, causal: boolean): Keep =>
  (_b, _h, p, m) => {
    const pos = p + d.M - d.P;
    return Math.floor(pos / chunk) === Math.floor(m / chunk) && (!causal || m <= pos);
  };

/** frame_causal: causal, plus every token of a visual query's own frame (Frame >= 0). */
export const frameCausalKeep =
  (d: Dims, frame: ArrayLike<number>): Keep =>
  (b, _h, p, m) => {
    const fp = frame[b * d.M + p];
    return m <= p || (fp >= 0 && fp === frame[b * d.M + m]);
  };

/** pine: causal, plus whole other documents (Doc > 0) for a document token. */
export const pineKeep =
  (d: Dims, doc: ArrayLike<number>): Keep =>
  (b, _h, p, m) => {
    const dp = doc[b * d.M + p];
    const dm = doc[b * d.M + m];
    return m <= p || (dp > 0 && dm > 0 && dp !== dm);
  };

/** Scaled dot-product softmax attention restricted to `keep`. */
export function maskedReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: Dims,
  keep: Keep,
): Float64Array {
  const scale = 1 / Math.sqrt(d.E);
  return softmaxAttention(q, k, v, d, { score: (dot) => scale * dot, keep });
}
