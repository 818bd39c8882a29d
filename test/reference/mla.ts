/**
 * Float64 references for stdlib/mla.attn. `mlaReference` is deliberately the *un-absorbed* MLA
 * of DeepSeek-V2: per head it up-projects the latent into keys and values and runs plain
 * softmax attention, so it checks the absorbed cascade through the identity it relies on
 * (QN · (WUK · c) = (QN · WUK) · c), not by repeating it.
 *
 *   K_h[m, c] = Σ_r WUK[h, c, r] CKV[b, m, r]     V_h[m, f] = Σ_r WUV[h, f, r] CKV[b, m, r]
 *   S = scale (QN · K_h + QR · KR),  O = softmax_m(S) V_h
 *
 * `mlaLatentReference` is the kernel part: softmax(scale (QA · CKV + QR · KR)) · CKV.
 * Bottom-right causality when asked (m <= p + M − P); a row that sees no key is 0.
 */
export interface MlaDims {
  readonly B: number;
  readonly H: number;
  readonly P: number;
  readonly M: number;
  /** no-RoPE query width */
  readonly C: number;
  /** RoPE width */
  readonly D: number;
  /** latent width */
  readonly R: number;
  /** output width per head */
  readonly F: number;
}

/** softmax over the visible keys of `scores(m)`, then Σ_m w_m value(m, ·) into out[o..o+W). */
function attendRow(
  M: number,
  visible: (m: number) => boolean,
  scores: (m: number) => number,
  value: (m: number, i: number) => number,
  out: Float64Array,
  o: number,
  W: number,
) {
  const keys: number[] = [];
  for (let m = 0; m < M; m++) if (visible(m)) keys.push(m);
  if (keys.length === 0) return;
  const s = keys.map(scores);
  const max = Math.max(...s);
  const w = s.map((x) => Math.exp(x - max));
  const sum = w.reduce((a, x) => a + x, 0);
  keys.forEach((m, j) => {
    for (let i = 0; i < W; i++) out[o + i] += (w[j] / sum) * value(m, i);
  });
}

export function mlaReference(
  inp: {
    QN: ArrayLike<number>;
    QR: ArrayLike<number>;
    WUK: ArrayLike<number>;
    CKV: ArrayLike<number>;
    KR: ArrayLike<number>;
    WUV: ArrayLike<number>;
  },
  d: MlaDims,
  opts: { causal: boolean; scale?: number },
): Float64Array {
  const { B, H, P, M, C, D, R, F } = d;
  const scale = opts.scale ?? 1 / Math.sqrt(C + D);
  const out = new Float64Array(B * H * P * F);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      // The per-head keys and values MLA avoids materialising.
      const K = new Float64Array(M * C);
      const V = new Float64Array(M * F);
      for (let m = 0; m < M; m++)
        for (let r = 0; r < R; r++) {
          const latent = inp.CKV[(b * M + m) * R + r];
          for (let c = 0; c < C; c++) K[m * C + c] += inp.WUK[(h * C + c) * R + r] * latent;
          for (let f = 0; f < F; f++) V[m * F + f] += inp.WUV[(h * F + f) * R + r] * latent;
        }
      for (let p = 0; p < P; p++) {
        const row = (b * H + h) * P + p;
        attendRow(
          M,
          (m) => !opts.causal || m <= p + M - P,
          (m) => {
            let s = 0;
            for (let c = 0; c < C; c++) s += inp.QN[row * C + c] * K[m * C + c];
            for (let x = 0; x < D; x++) s += inp.QR[row * D + x] * inp.KR[(b * M + m) * D + x];
            return scale * s;
          },
          (m, f) => V[m * F + f],
          out,
          row * F,
          F,
        );
      }
    }
  return out;
}

export function mlaLatentReference(
  inp: {
    QA: ArrayLike<number>;
    QR: ArrayLike<number>;
    CKV: ArrayLike<number>;
    KR: ArrayLike<number>;
  },
  d: Omit<MlaDims, 'C' | 'F'>,
  opts: { causal: boolean; scale: number },
): Float64Array {
  const { B, H, P, M, D, R } = d;
  const out = new Float64Array(B * H * P * R);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let p = 0; p < P; p++) {
        const row = (b * H + h) * P + p;
        attendRow(
          M,
          (m) => !opts.causal || m <= p + M - P,
          (m) => {
            let s = 0;
            for (let r = 0; r < R; r++) s += inp.QA[row * R + r] * inp.CKV[(b * M + m) * R + r];
            for (let x = 0; x < D; x++) s += inp.QR[row * D + x] * inp.KR[(b * M + m) * D + x];
            return opts.scale * s;
          },
          (m, r) => inp.CKV[(b * M + m) * R + r],
          out,
          row * R,
          R,
        );
      }
  return out;
}
