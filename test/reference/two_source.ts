/**
 * Float64 reference for both blocks of stdlib/two_source.attn, written from its header: one
 * softmax over the union of a shared prefix (KP, VP: every prefix key visible) and the
 * sequence's suffix (KS, VS: suffix key n visible to query p iff n <= p + N − P when causal).
 * It loops over the two sources as one key list; it neither concatenates tensors nor merges
 * partial softmaxes, the two things the blocks do.
 */
export interface TwoSourceDims {
  readonly B: number;
  readonly H: number;
  readonly P: number;
  /** prefix length */
  readonly A: number;
  /** suffix length */
  readonly N: number;
  readonly E: number;
  readonly F: number;
}

export function twoSourceReference(
  inp: {
    Q: ArrayLike<number>;
    KP: ArrayLike<number>;
    VP: ArrayLike<number>;
    KS: ArrayLike<number>;
    VS: ArrayLike<number>;
  },
  d: TwoSourceDims,
  opts: { causal: boolean; scale?: number },
): Float64Array {
  const { B, H, P, A, N, E, F } = d;
  const scale = opts.scale ?? 1 / Math.sqrt(E);
  const out = new Float64Array(B * H * P * F);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let p = 0; p < P; p++) {
        const row = (b * H + h) * P + p;
        // Every visible key as (offset of its key row, offset of its value row).
        const keys: { k: number; v: number }[] = [];
        for (let a = 0; a < A; a++) keys.push({ k: (h * A + a) * E, v: (h * A + a) * F });
        for (let n = 0; n < N; n++)
          if (!opts.causal || n <= p + N - P)
            keys.push({ k: ((b * H + h) * N + n) * E, v: ((b * H + h) * N + n) * F });
        const s = keys.map(({ k }, i) => {
          const src = i < A ? inp.KP : inp.KS;
          let dot = 0;
          for (let e = 0; e < E; e++) dot += inp.Q[row * E + e] * src[k + e];
          return scale * dot;
        });
        const max = Math.max(...s);
        const w = s.map((x) => Math.exp(x - max));
        const sum = w.reduce((acc, x) => acc + x, 0);
        keys.forEach(({ v }, i) => {
          const src = i < A ? inp.VP : inp.VS;
          for (let f = 0; f < F; f++) out[row * F + f] += (w[i] / sum) * src[v + f];
        });
      }
  return out;
}
