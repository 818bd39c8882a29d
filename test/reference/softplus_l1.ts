/**
 * Float64 references for stdlib/softplus_l1.attn, written from the header's formulas. With
 * s = scale · Q_p·K_m over the visible keys and n_p the number of keys row p sees:
 *
 *   softplus_l1:          A = l1(softplus(Lam_p · s)),  Lam_p = log(n_p) / log(base)
 *   softplus_l1_reweight: R = A^power / Σ_m A^power     (computed from A itself, not from T)
 *   power_softmax:        A = l1(|s|^power)
 *   relu_attention:       A = relu(s) / M, or relu(s)² / M
 *
 * where l1(x) = x / Σ_m x. A row with no visible key is 0.
 */
import { weightedRows, type AttnDims } from './sigmoid.ts';

const l1 = (x: Float64Array, kept: Uint8Array): Float64Array => {
  let sum = 0;
  x.forEach((xi, m) => (sum += kept[m] ? xi : 0));
  return x.map((xi) => xi / sum);
};

const softplus = (x: number): number => Math.log1p(Math.exp(-Math.abs(x))) + Math.max(x, 0);

interface Common {
  readonly causal: boolean;
  readonly scale?: number;
}

/** The LSSA weights of one row: l1(softplus(log(n_p) / log(base) · s)). */
function lssaWeights(d: AttnDims, causal: boolean, base: number) {
  return (s: Float64Array, kept: Uint8Array, p: number): Float64Array => {
    const n = causal ? p + d.M - d.P + 1 : d.M;
    const lam = Math.log(n) / Math.log(base);
    return l1(
      s.map((x) => softplus(lam * x)),
      kept,
    );
  };
}

export function softplusL1Reference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: AttnDims,
  opts: Common & { base?: number },
): Float64Array {
  return weightedRows(q, k, v, d, {
    scale: opts.scale ?? 1 / Math.sqrt(d.E),
    causal: opts.causal,
    weights: lssaWeights(d, opts.causal, opts.base ?? d.E),
  });
}

export function softplusL1ReweightReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: AttnDims,
  opts: Common & { base?: number; power?: number },
): Float64Array {
  const lssa = lssaWeights(d, opts.causal, opts.base ?? d.E);
  const power = opts.power ?? 2;
  return weightedRows(q, k, v, d, {
    scale: opts.scale ?? 1 / Math.sqrt(d.E),
    causal: opts.causal,
    weights: (s, kept, p) =>
      l1(
        lssa(s, kept, p).map((a) => Math.pow(a, power)),
        kept,
      ),
  });
}

export function powerSoftmaxReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: AttnDims,
  opts: Common & { power?: number },
): Float64Array {
  const power = opts.power ?? 4;
  return weightedRows(q, k, v, d, {
    scale: opts.scale ?? 1 / Math.sqrt(d.E),
    causal: opts.causal,
    weights: (s, kept) =>
      l1(
        s.map((x) => Math.pow(Math.abs(x), power)),
        kept,
      ),
  });
}

export function reluAttentionReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: AttnDims,
  opts: Common & { squared?: boolean },
): Float64Array {
  return weightedRows(q, k, v, d, {
    scale: opts.scale ?? 1 / Math.sqrt(d.E),
    causal: opts.causal,
    weights: (s) => s.map((x) => (opts.squared ? Math.max(x, 0) ** 2 : Math.max(x, 0)) / d.M),
  });
}
