/**
 * Float64 reference for stdlib/agent.attn, from its header: agents aggregate K/V with one
 * softmax (VA = softmax_m(scale·A·K + bias) V), queries read the agents with a second one
 * (O = softmax_a(scale·Q·A + bias) VA). `agent_pooled` adds the adaptive average pool of Q for
 * the agents, the two biases and a depth-wise convolution of V.
 */
import type { Dims2d } from './grid_dilated2d.ts';

/** softmax over n logits, in place; returns the array. */
function softmax(x: Float64Array): Float64Array {
  const max = Math.max(...x);
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i] = Math.exp(x[i] - max);
  for (let i = 0; i < x.length; i++) x[i] /= sum;
  return x;
}

const dot = (a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number, n: number) => {
  let s = 0;
  for (let e = 0; e < n; e++) s += a[i + e] * b[j + e];
  return s;
};

/** The two chained cascades for one (b, h): rows of Q (P × E), agents (A × E), K, V. */
function twoStage(
  q: ArrayLike<number>,
  qAt: number,
  agents: Float64Array,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  kvAt: number,
  s: { P: number; A: number; M: number; E: number; F: number },
  biasA: (a: number, m: number) => number,
  biasQ: (p: number, a: number) => number,
  out: Float64Array,
  outAt: number,
): void {
  const { P, A, M, E, F } = s;
  const scale = 1 / Math.sqrt(E);
  const va = new Float64Array(A * F);
  for (let a = 0; a < A; a++) {
    const w = softmax(
      Float64Array.from(
        { length: M },
        (_, m) => scale * dot(agents, a * E, k, (kvAt + m) * E, E) + biasA(a, m),
      ),
    );
    for (let m = 0; m < M; m++)
      for (let f = 0; f < F; f++) va[a * F + f] += w[m] * v[(kvAt + m) * F + f];
  }
  for (let p = 0; p < P; p++) {
    const w = softmax(
      Float64Array.from(
        { length: A },
        (_, a) => scale * dot(q, (qAt + p) * E, agents, a * E, E) + biasQ(p, a),
      ),
    );
    for (let a = 0; a < A; a++)
      for (let f = 0; f < F; f++) out[(outAt + p) * F + f] += w[a] * va[a * F + f];
  }
}

/** agent: Q [B, H, P, E], K [B, H, M, E], V [B, H, M, F], agents AG [B, H, A, E]. */
export function agentReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  ag: ArrayLike<number>,
  d: { B: number; H: number; P: number; M: number; A: number; E: number; F: number },
): Float64Array {
  const { B, H, P, M, A, E, F } = d;
  const out = new Float64Array(B * H * P * F);
  for (let bh = 0; bh < B * H; bh++) {
    const agents = Float64Array.from({ length: A * E }, (_, i) => ag[bh * A * E + i]);
    twoStage(
      q,
      bh * P,
      agents,
      k,
      v,
      bh * M,
      d,
      () => 0,
      () => 0,
      out,
      bh * P,
    );
  }
  return out;
}

export interface AgentPooledInputs {
  readonly q: ArrayLike<number>;
  readonly k: ArrayLike<number>;
  readonly v: ArrayLike<number>;
  /** Position bias [H, AY, AX, Y, X] and agent bias [H, Y, X, AY, AX]. */
  readonly ba: ArrayLike<number>;
  readonly bq: ArrayLike<number>;
  /** Depth-wise kernel [H, F, I, J] and its bias [H, F]. */
  readonly wd: ArrayLike<number>;
  readonly bd: ArrayLike<number>;
}

/** agent_pooled on a Y × X image with an AY × AX pool and an I × J depth-wise kernel. */
export function agentPooledReference(
  t: AgentPooledInputs,
  d: Dims2d & { AY: number; AX: number; I: number; J: number },
): Float64Array {
  const { B, H, Y, X, E, F, AY, AX, I, J } = d;
  const N = Y * X;
  const A = AY * AX;
  const out = new Float64Array(B * H * N * F);
  // torch.nn.AdaptiveAvgPool2d's bins: [floor(i·L/n), ceil((i+1)·L/n)).
  const bin = (i: number, L: number, n: number) => [
    Math.floor((i * L) / n),
    Math.ceil(((i + 1) * L) / n),
  ];
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const bh = b * H + h;
      const agents = new Float64Array(A * E);
      for (let ay = 0; ay < AY; ay++)
        for (let ax = 0; ax < AX; ax++) {
          const [y0, y1] = bin(ay, Y, AY);
          const [x0, x1] = bin(ax, X, AX);
          const a = ay * AX + ax;
          for (let y = y0; y < y1; y++)
            for (let x = x0; x < x1; x++)
              for (let e = 0; e < E; e++)
                agents[a * E + e] += t.q[(bh * N + y * X + x) * E + e] / ((y1 - y0) * (x1 - x0));
        }
      twoStage(
        t.q,
        bh * N,
        agents,
        t.k,
        t.v,
        bh * N,
        { P: N, A, M: N, E, F },
        (a, m) => t.ba[(h * A + a) * N + m],
        (p, a) => t.bq[(h * N + p) * A + a],
        out,
        bh * N,
      );
      // x + dwc(v): a depth-wise I × J convolution with zero padding I/2, J/2, and its bias.
      for (let y = 0; y < Y; y++)
        for (let x = 0; x < X; x++)
          for (let f = 0; f < F; f++) {
            let s = t.bd[h * F + f];
            for (let i = 0; i < I; i++)
              for (let j = 0; j < J; j++) {
                const yy = y + i - Math.floor(I / 2);
                const xx = x + j - Math.floor(J / 2);
                if (yy < 0 || yy >= Y || xx < 0 || xx >= X) continue;
                s += t.wd[((h * F + f) * I + i) * J + j] * t.v[(bh * N + yy * X + xx) * F + f];
              }
            out[(bh * N + y * X + x) * F + f] += s;
          }
    }
  return out;
}
