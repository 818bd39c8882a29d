/**
 * Float64 reference for stdlib/landmark.attn, written from the paper's definition (Landmark
 * Attention, §3.1) rather than from the spec's one-softmax rewrite. Token i has p_i, the
 * position of its block's landmark (the block's last token), or `len` when its block is
 * incomplete; a token is a landmark iff p_i = i. For query i and key j <= i the group is
 *   G_ij = p_j        if j is a regular token,
 *          -1         if j = p_i (the query's own landmark),
 *          p_i        otherwise (another block's landmark);
 * S_ij = exp(s_ij) / Σ_{k <= i, G_ik = G_ij} exp(s_ik) (the grouped softmax), and the weight is
 *   0 for a landmark, S_ij if G_ij = G_ii, S_ij · S_{i, p_j} otherwise.
 * Keys are given flat, [b, h, m, feature] with m = L·block + position in block.
 */
export interface LandmarkDims {
  readonly B: number;
  readonly H: number;
  readonly P: number;
  /** Blocks stored and tokens per block (the last one the landmark). */
  readonly J: number;
  readonly L: number;
  readonly E: number;
  readonly F: number;
}

export function landmarkReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: LandmarkDims,
  len: number,
): Float64Array {
  const { B, H, P, J, L, E, F } = d;
  const M = J * L;
  const scale = 1 / Math.sqrt(E);
  const landmarkOf = (i: number) => {
    const p = Math.floor(i / L) * L + L - 1;
    return p < len ? p : len;
  };
  const out = new Float64Array(B * H * P * F);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let p = 0; p < P; p++) {
        const i = p + len - P; // the query's position in the sequence
        if (i < 0) continue; // before the sequence: no key, a zero row
        const s: number[] = [];
        for (let j = 0; j <= i; j++) {
          let dot = 0;
          for (let e = 0; e < E; e++)
            dot += q[((b * H + h) * P + p) * E + e] * k[((b * H + h) * M + j) * E + e];
          s.push(scale * dot);
        }
        const group = (j: number) => {
          const pj = landmarkOf(j);
          if (pj !== j) return pj;
          if (j === landmarkOf(i)) return -1;
          return landmarkOf(i);
        };
        const groups = s.map((_, j) => group(j));
        const max = new Map<number, number>();
        groups.forEach((g, j) => max.set(g, Math.max(max.get(g) ?? -Infinity, s[j])));
        const sum = new Map<number, number>();
        groups.forEach((g, j) => sum.set(g, (sum.get(g) ?? 0) + Math.exp(s[j] - max.get(g)!)));
        const S = (j: number) => Math.exp(s[j] - max.get(groups[j])!) / sum.get(groups[j])!;
        const own = groups[i];
        for (let j = 0; j <= i; j++) {
          if (landmarkOf(j) === j) continue;
          const w = groups[j] === own ? S(j) : S(j) * S(landmarkOf(j));
          for (let f = 0; f < F; f++)
            out[((b * H + h) * P + p) * F + f] += w * v[((b * H + h) * M + j) * F + f];
        }
      }
  return out;
}
