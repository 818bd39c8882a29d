/**
 * Naive float64 references for the stdlib and example specs, written from each variant's formula
 * (the header comment of its `.attn` file), independent of the compiler and the interpreter.
 * Every softmax variant is "dot product → score modifier → keep/drop → softmax → weighted sum",
 * so one loop nest serves them all; linear attention has its own.
 */
export interface Dims {
  readonly B: number;
  readonly HQ: number;
  readonly HK: number;
  readonly P: number;
  readonly M: number;
  readonly E: number;
  readonly F: number;
}

export interface SoftmaxVariant {
  /** Score from the raw dot product Q·K (before any scale). */
  readonly score: (dot: number, b: number, hq: number, p: number, m: number) => number;
  /** Whether key m is visible to query p; all by default. */
  readonly keep?: (b: number, hq: number, p: number, m: number) => boolean;
}

/** O[b, hq, p, f] = Σ_m softmax_m(score) V[b, hq / G, m, f]; a row with nothing kept is 0. */
export function softmaxAttention(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: Dims,
  variant: SoftmaxVariant,
): Float64Array {
  const { B, HQ, HK, P, M, E, F } = d;
  const G = Math.floor(HQ / HK);
  const out = new Float64Array(B * HQ * P * F);
  const s = new Float64Array(M);
  const kept = new Uint8Array(M);
  for (let b = 0; b < B; b++)
    for (let hq = 0; hq < HQ; hq++) {
      const hk = Math.floor(hq / G);
      for (let p = 0; p < P; p++) {
        let max = -Infinity;
        for (let m = 0; m < M; m++) {
          kept[m] = !variant.keep || variant.keep(b, hq, p, m) ? 1 : 0;
          if (!kept[m]) continue;
          let dot = 0;
          for (let e = 0; e < E; e++)
            dot += q[((b * HQ + hq) * P + p) * E + e] * k[((b * HK + hk) * M + m) * E + e];
          s[m] = variant.score(dot, b, hq, p, m);
          max = Math.max(max, s[m]);
        }
        let sum = 0;
        for (let m = 0; m < M; m++) if (kept[m]) sum += s[m] = Math.exp(s[m] - max);
        if (sum === 0) continue;
        const o = ((b * HQ + hq) * P + p) * F;
        for (let m = 0; m < M; m++) {
          if (!kept[m]) continue;
          for (let f = 0; f < F; f++)
            out[o + f] += (s[m] / sum) * v[((b * HK + hk) * M + m) * F + f];
        }
      }
    }
  return out;
}

/** Bottom-right aligned causal visibility: query p sees key m iff m <= p + M - P. */
export const causalKeep = (d: Dims) => (_b: number, _h: number, p: number, m: number) =>
  m <= p + d.M - d.P;

/** stdlib/mha.attn and stdlib/gqa.attn. */
export function gqaReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: Dims,
  opts: { scale?: number; causal?: boolean } = {},
): Float64Array {
  const scale = opts.scale ?? 1 / Math.sqrt(d.E);
  return softmaxAttention(q, k, v, d, {
    score: (dot) => scale * dot,
    keep: opts.causal ? causalKeep(d) : undefined,
  });
}

/** stdlib/softcap.attn and examples/gqa_softcap.attn: t = cap · tanh(scale · Q·K / cap). */
export function softcapReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: Dims,
  opts: { cap: number; causal: boolean; scale?: number },
): Float64Array {
  const scale = opts.scale ?? 1 / Math.sqrt(d.E);
  return softmaxAttention(q, k, v, d, {
    score: (dot) => opts.cap * Math.tanh((scale * dot) / opts.cap),
    keep: opts.causal ? causalKeep(d) : undefined,
  });
}

/** stdlib/sliding_window.attn: key m visible iff 0 <= (p + M - P) - m < window. */
export function slidingWindowReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: Dims,
  window: number,
): Float64Array {
  const scale = 1 / Math.sqrt(d.E);
  return softmaxAttention(q, k, v, d, {
    score: (dot) => scale * dot,
    keep: (_b, _h, p, m) => {
      const distance = p + d.M - d.P - m;
      return distance >= 0 && distance < window;
    },
  });
}

/** stdlib/relpos_bias.attn `alibi`: s = scale·Q·K − slope[h]·((p + M − P) − m), causal. */
export function alibiReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: Dims,
  slopes: ArrayLike<number>,
): Float64Array {
  const scale = 1 / Math.sqrt(d.E);
  return softmaxAttention(q, k, v, d, {
    score: (dot, _b, h, p, m) => scale * dot - slopes[h] * (p + d.M - d.P - m),
    keep: causalKeep(d),
  });
}

/** stdlib/relpos_bias.attn `relpos_table`: s = scale·Q·K + Table[h, (p + M − P) − m + M − 1]. */
export function relposTableReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: Dims,
  table: ArrayLike<number>,
  R: number,
): Float64Array {
  const scale = 1 / Math.sqrt(d.E);
  return softmaxAttention(q, k, v, d, {
    score: (dot, _b, h, p, m) => scale * dot + table[h * R + (p + d.M - d.P - m + d.M - 1)],
    // Outside the table the bias is absent, so the score is too: the key is dropped.
    keep: (_b, _h, p, m) => {
      const r = p + d.M - d.P - m + d.M - 1;
      return r >= 0 && r < R;
    },
  });
}

/**
 * examples/causal_linear.attn: φ(x) = elu(x) + 1,
 * O[t] = φ(Q[t])·Σ_{s≤t} φ(K[s]) V[s]ᵀ / (φ(Q[t])·Σ_{s≤t} φ(K[s])).
 */
export function causalLinearReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: { B: number; H: number; T: number; E: number; F: number },
): Float64Array {
  const { B, H, T, E, F } = d;
  const phi = (x: number) => (x > 0 ? x + 1 : Math.exp(x));
  const out = new Float64Array(B * H * T * F);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let t = 0; t < T; t++) {
        let den = 0;
        const num = new Float64Array(F);
        for (let s = 0; s <= t; s++) {
          let w = 0;
          for (let e = 0; e < E; e++)
            w += phi(q[((b * H + h) * T + t) * E + e]) * phi(k[((b * H + h) * T + s) * E + e]);
          den += w;
          for (let f = 0; f < F; f++) num[f] += w * v[((b * H + h) * T + s) * F + f];
        }
        for (let f = 0; f < F; f++) out[((b * H + h) * T + t) * F + f] = num[f] / den;
      }
  return out;
}
