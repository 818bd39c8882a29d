/**
 * Float64 references for stdlib/topk_kv.attn, written from its header:
 *
 *   EST[b, hq, p, m] = Σ_c Q[b, hq, p, Chan[hk, c]] · K[b, hk, m, Chan[hk, c]]   (visible keys)
 *   Idx[b, hq, p, :]  = the J visible keys of largest EST, ties to the smaller m
 *   O[b, hq, p, :]    = Σ_j softmax_j(scale · Q·K[Idx[j]]) V[Idx[j]]
 *
 * Plain loops, independent of the compiler and the interpreter.
 */
import { softmaxAttention, type Dims } from './variants.ts';

export interface SelectOptions {
  readonly J: number;
  readonly causal: boolean;
}

export interface Selection {
  /** Idx[b, hq, p, j], row-major; -1 where rank j is past the number of visible keys. */
  readonly idx: Int32Array;
  /**
   * The smallest gap EST(rank J-1) − EST(rank J) over rows with more than J visible keys
   * (Infinity if none): an f32 kernel selects the same keys when it is well above f32 rounding.
   */
  readonly margin: number;
}

/** The selector: the top-J keys of the channel-subset estimate, per (b, hq, p). */
export function topkSelectReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  chan: ArrayLike<number>,
  C: number,
  d: Dims,
  opts: SelectOptions,
): Selection {
  const { B, HQ, HK, P, M, E } = d;
  const G = Math.floor(HQ / HK);
  const idx = new Int32Array(B * HQ * P * opts.J).fill(-1);
  let margin = Infinity;
  for (let b = 0; b < B; b++)
    for (let hq = 0; hq < HQ; hq++) {
      const hk = Math.floor(hq / G);
      for (let p = 0; p < P; p++) {
        const scored: { m: number; est: number }[] = [];
        for (let m = 0; m < M; m++) {
          if (opts.causal && m > p + M - P) continue;
          let est = 0;
          for (let c = 0; c < C; c++) {
            const ch = chan[hk * C + c];
            est += q[((b * HQ + hq) * P + p) * E + ch] * k[((b * HK + hk) * M + m) * E + ch];
          }
          scored.push({ m, est });
        }
        scored.sort((x, y) => y.est - x.est || x.m - y.m);
        const row = ((b * HQ + hq) * P + p) * opts.J;
        for (let j = 0; j < Math.min(opts.J, scored.length); j++) idx[row + j] = scored[j].m;
        if (scored.length > opts.J)
          margin = Math.min(margin, scored[opts.J - 1].est - scored[opts.J].est);
      }
    }
  return { idx, margin };
}

/**
 * Softmax attention over the keys a selection lists. Each listed key counts once per listing
 * (softmax over j, not over m); an index outside 0 .. M-1 lists nothing. A row that lists no
 * key is 0.
 */
export function gatherAttentionReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  idx: ArrayLike<number>,
  J: number,
  d: Dims,
  scale = 1 / Math.sqrt(d.E),
): Float64Array {
  const { B, HQ, HK, P, M, E, F } = d;
  const G = Math.floor(HQ / HK);
  const out = new Float64Array(B * HQ * P * F);
  for (let b = 0; b < B; b++)
    for (let hq = 0; hq < HQ; hq++) {
      const hk = Math.floor(hq / G);
      for (let p = 0; p < P; p++) {
        const row = (b * HQ + hq) * P + p;
        const keys: number[] = [];
        for (let j = 0; j < J; j++) {
          const m = idx[row * J + j];
          if (m >= 0 && m < M) keys.push(m);
        }
        if (keys.length === 0) continue;
        const s = keys.map((m) => {
          let dot = 0;
          for (let e = 0; e < E; e++) dot += q[row * E + e] * k[((b * HK + hk) * M + m) * E + e];
          return scale * dot;
        });
        const max = Math.max(...s);
        const w = s.map((x) => Math.exp(x - max));
        const sum = w.reduce((a, x) => a + x, 0);
        keys.forEach((m, i) => {
          for (let f = 0; f < F; f++)
            out[row * F + f] += (w[i] / sum) * v[((b * HK + hk) * M + m) * F + f];
        });
      }
    }
  return out;
}

/** The whole cascade: select, then attend over the selected keys (each selected once). */
export function topkKvReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  chan: ArrayLike<number>,
  C: number,
  d: Dims,
  opts: SelectOptions & { readonly scale?: number },
): { out: Float64Array; margin: number } {
  const { idx, margin } = topkSelectReference(q, k, chan, C, d, opts);
  const selected = new Set<number>();
  for (let row = 0; row < d.B * d.HQ * d.P; row++)
    for (let j = 0; j < opts.J; j++)
      if (idx[row * opts.J + j] >= 0) selected.add(row * d.M + idx[row * opts.J + j]);
  const scale = opts.scale ?? 1 / Math.sqrt(d.E);
  // The selected set filters the keys of plain softmax attention: an independent route to
  // the same answer as gathering (a topk never lists a key twice).
  const out = softmaxAttention(q, k, v, d, {
    score: (dot) => scale * dot,
    keep: (b, hq, p, m) => selected.has(((b * d.HQ + hq) * d.P + p) * d.M + m),
  });
  return { out, margin };
}
