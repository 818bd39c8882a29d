/**
 * The peer benchmark's cases: each pairs an attn spec with the ORT graph that computes the same
 * thing, on the same seeded inputs. attn takes Q [B, HQ, L, D] and K/V [B, HK, S, D]; ORT's
 * attention ops take tokens first ([B, L, H·D]), so the host lays the inputs out for each library
 * once, before any timed run, and puts ORT's output back in attn's layout for the comparison.
 */
import type { CompileOptions, CompiledSpec, HostTensor } from '../../index.ts';
import { tensor } from '../../index.ts';
import { loadSpec, qkv, visiblePairs, type Shape } from '../attention.ts';
import type { Graph, ValueInfo } from './onnx.ts';
import { f32, i32, type ort } from './ort.ts';

export interface PeerCase {
  readonly id: string;
  readonly name: string;
  readonly shape: Shape;
  /** ORT/attn speed-up the issue asks for; null where it sets none. */
  readonly target: number | null;
  /** Query/key pairs the mask keeps: the useful work behind attn's GFLOP/s. */
  readonly pairs: number;
  /** How ORT expresses the case, for the report. */
  readonly ortOp: string;
  readonly attn: {
    readonly spec: CompiledSpec;
    readonly inputs: Record<string, HostTensor>;
    readonly params: Record<string, number | boolean>;
  };
  readonly ort: {
    readonly graph: Graph;
    readonly feeds: Record<string, ort.Tensor>;
    readonly output: string;
    /** ORT's output in attn's [B, HQ, L, D] layout. */
    readonly toAttnLayout: (o: Float32Array) => Float32Array;
  };
}

// ── Layouts ──────────────────────────────────────────────────────────────────────────────

/** [B, H, N, D] → [B, N, H·D]. */
function tokensFirst(x: Float32Array, B: number, H: number, N: number, D: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let n = 0; n < N; n++) {
        const from = ((b * H + h) * N + n) * D;
        out.set(x.subarray(from, from + D), ((b * N + n) * H + h) * D);
      }
  return out;
}

/** [B, N, H·D] → [B, H, N, D]. */
function headsFirst(x: Float32Array, B: number, H: number, N: number, D: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < B; b++)
    for (let n = 0; n < N; n++)
      for (let h = 0; h < H; h++) {
        const from = ((b * N + n) * H + h) * D;
        out.set(x.subarray(from, from + D), ((b * H + h) * N + n) * D);
      }
  return out;
}

/** Keys `from` to `to` (exclusive) of a [B, H, S, D] tensor. */
function keyRange(x: Float32Array, s: Shape, from: number, to: number): Float32Array {
  const out = new Float32Array(s.B * s.HK * (to - from) * s.D);
  for (let bh = 0; bh < s.B * s.HK; bh++)
    out.set(x.subarray((bh * s.S + from) * s.D, (bh * s.S + to) * s.D), bh * (to - from) * s.D);
  return out;
}

const data = (t: HostTensor) => t.data as Float32Array;
const value = (name: string, shape: readonly number[]): ValueInfo => ({
  name,
  type: 'float32',
  shape,
});

// ── ORT graphs ───────────────────────────────────────────────────────────────────────────

const MS = 'com.microsoft';
const OPSETS = { '': 17, [MS]: 1 };

/** Output and present K/V: FlashAttention in ORT's WebGPU EP needs the present outputs. */
function attentionOutputs(s: Shape, presentLength: number): ValueInfo[] {
  return [
    value('output', [s.B, s.L, s.HQ * s.D]),
    value('present_key', [s.B, s.HK, presentLength, s.D]),
    value('present_value', [s.B, s.HK, presentLength, s.D]),
  ];
}

/** com.microsoft MultiHeadAttention, Q/K/V as [B, N, H·D]. */
function mhaGraph(s: Shape, causal: boolean): Graph {
  return {
    opsets: OPSETS,
    inputs: [
      value('query', [s.B, s.L, s.HQ * s.D]),
      value('key', [s.B, s.S, s.HK * s.D]),
      value('value', [s.B, s.S, s.HK * s.D]),
    ],
    outputs: attentionOutputs(s, s.S),
    nodes: [
      {
        op: 'MultiHeadAttention',
        domain: MS,
        inputs: ['query', 'key', 'value'],
        outputs: ['output', 'present_key', 'present_value'],
        attributes: { num_heads: s.HQ, unidirectional: causal ? 1 : 0 },
      },
    ],
  };
}

interface GqaOptions {
  readonly softcap?: number;
  readonly localWindowSize?: number;
  /**
   * Keys already in the KV cache; the query block brings the other S − past. The cache tensors
   * hold all S positions (a static cache, as ORT GenAI keeps it): GQA checks that the total
   * length fits in past_key and writes the new keys into present_key.
   */
  readonly past?: number;
}

/** com.microsoft GroupQueryAttention (always causal, bottom-right aligned). */
function gqaGraph(s: Shape, o: GqaOptions): Graph {
  const past = o.past ?? 0;
  const cache = past > 0 ? ['past_key', 'past_value'] : ['', ''];
  const attributes: Record<string, number | { float: number }> = {
    num_heads: s.HQ,
    kv_num_heads: s.HK,
  };
  if (o.softcap !== undefined) attributes.softcap = { float: o.softcap };
  if (o.localWindowSize !== undefined) attributes.local_window_size = o.localWindowSize;
  return {
    opsets: OPSETS,
    inputs: [
      value('query', [s.B, s.L, s.HQ * s.D]),
      value('key', [s.B, s.S - past, s.HK * s.D]),
      value('value', [s.B, s.S - past, s.HK * s.D]),
      ...cache.filter(Boolean).map((name) => value(name, [s.B, s.HK, s.S, s.D])),
      { name: 'seqlens_k', type: 'int32', shape: [s.B] },
      { name: 'total_sequence_length', type: 'int32', shape: [] },
    ],
    outputs: attentionOutputs(s, s.S),
    nodes: [
      {
        op: 'GroupQueryAttention',
        domain: MS,
        inputs: ['query', 'key', 'value', ...cache, 'seqlens_k', 'total_sequence_length'],
        outputs: ['output', 'present_key', 'present_value'],
        attributes,
      },
    ],
  };
}

function gqaFeeds(s: Shape, inputs: Record<string, HostTensor>, past = 0) {
  const fresh = (x: HostTensor) =>
    f32(tokensFirst(keyRange(data(x), s, past, s.S), s.B, s.HK, s.S - past, s.D), [
      s.B,
      s.S - past,
      s.HK * s.D,
    ]);
  // The cache's free slots are zero, so a wrong result shows if ORT ignored the new keys.
  const cached = (x: HostTensor) => {
    const c = Float32Array.from(data(x));
    for (let bh = 0; bh < s.B * s.HK; bh++)
      c.fill(0, (bh * s.S + past) * s.D, (bh + 1) * s.S * s.D);
    return f32(c, [s.B, s.HK, s.S, s.D]);
  };
  const feeds: Record<string, ort.Tensor> = {
    query: f32(tokensFirst(data(inputs.Q), s.B, s.HQ, s.L, s.D), [s.B, s.L, s.HQ * s.D]),
    key: fresh(inputs.K),
    value: fresh(inputs.V),
    seqlens_k: i32(Int32Array.of(s.S - 1), [s.B]),
    total_sequence_length: i32(Int32Array.of(s.S), []),
  };
  if (past > 0) {
    feeds.past_key = cached(inputs.K);
    feeds.past_value = cached(inputs.V);
  }
  return feeds;
}

function tokenFeeds(s: Shape, inputs: Record<string, HostTensor>) {
  return {
    query: f32(tokensFirst(data(inputs.Q), s.B, s.HQ, s.L, s.D), [s.B, s.L, s.HQ * s.D]),
    key: f32(tokensFirst(data(inputs.K), s.B, s.HK, s.S, s.D), [s.B, s.S, s.HK * s.D]),
    value: f32(tokensFirst(data(inputs.V), s.B, s.HK, s.S, s.D), [s.B, s.S, s.HK * s.D]),
  };
}

/** ORT's side of a case run through GroupQueryAttention. */
function viaGqa(s: Shape, inputs: Record<string, HostTensor>, options: GqaOptions = {}) {
  return {
    graph: gqaGraph(s, options),
    feeds: gqaFeeds(s, inputs, options.past),
    output: 'output',
    toAttnLayout: (o: Float32Array) => headsFirst(o, s.B, s.HQ, s.L, s.D),
  };
}

/**
 * ALiBi as ORT's standard ops can write it: Transpose, MatMul, Mul by the scale, Add a bias
 * tensor precomputed on the host (slope·distance, −∞ above the diagonal), Softmax, MatMul. The
 * bias is a model constant, so ORT uploads it once, when the session is created.
 */
function alibiGraph(s: Shape, slopes: Float32Array): Graph {
  const bias = new Float32Array(s.HQ * s.L * s.S);
  for (let h = 0; h < s.HQ; h++)
    for (let p = 0; p < s.L; p++)
      for (let m = 0; m < s.S; m++) {
        const distance = p + s.S - s.L - m;
        bias[(h * s.L + p) * s.S + m] = distance >= 0 ? -slopes[h] * distance : -Infinity;
      }
  const heads = [s.B, s.HQ];
  return {
    opsets: { '': 17 },
    inputs: [
      value('Q', [...heads, s.L, s.D]),
      value('K', [...heads, s.S, s.D]),
      value('V', [...heads, s.S, s.D]),
    ],
    outputs: [value('output', [...heads, s.L, s.D])],
    initializers: [
      { name: 'scale', shape: [], data: Float32Array.of(1 / Math.sqrt(s.D)) },
      { name: 'bias', shape: [1, s.HQ, s.L, s.S], data: bias },
    ],
    nodes: [
      { op: 'Transpose', inputs: ['K'], outputs: ['Kt'], attributes: { perm: [0, 1, 3, 2] } },
      { op: 'MatMul', inputs: ['Q', 'Kt'], outputs: ['QK'] },
      { op: 'Mul', inputs: ['QK', 'scale'], outputs: ['scaled'] },
      { op: 'Add', inputs: ['scaled', 'bias'], outputs: ['scores'] },
      { op: 'Softmax', inputs: ['scores'], outputs: ['A'], attributes: { axis: -1 } },
      { op: 'MatMul', inputs: ['A', 'V'], outputs: ['output'] },
    ],
  };
}

// ── Cases ────────────────────────────────────────────────────────────────────────────────

export interface CaseOptions {
  readonly quick: boolean;
  readonly compile: Pick<CompileOptions, 'extentHints' | 'limits'>;
}

const causalPairs = (s: Shape) => visiblePairs(s, (p, m) => m <= p + s.S - s.L);

/** The shapes (B = 1, D = 64), or small ones with `quick`. */
export function* peerCases({ quick, compile }: CaseOptions): Generator<() => PeerCase> {
  const n = (full: number, small: number) => (quick ? small : full);

  for (const L of [n(512, 64), n(2048, 128)])
    for (const causal of [false, true])
      yield () => {
        const s: Shape = { B: 1, HQ: 8, HK: 8, L, S: L, D: 64 };
        const inputs = qkv(s);
        return {
          id: 'a',
          name: `MHA ${causal ? 'causal' : 'no mask'}`,
          shape: s,
          target: 1.5,
          pairs: causal ? causalPairs(s) : s.L * s.S,
          ortOp: `MultiHeadAttention${causal ? ' unidirectional=1' : ''}`,
          attn: { spec: loadSpec('stdlib/mha.attn', 'mha', compile), inputs, params: { causal } },
          ort: {
            graph: mhaGraph(s, causal),
            feeds: tokenFeeds(s, inputs),
            output: 'output',
            toAttnLayout: (o) => headsFirst(o, s.B, s.HQ, s.L, s.D),
          },
        };
      };

  const gqa: Shape = { B: 1, HQ: 32, HK: 8, L: n(1024, 128), S: n(1024, 128), D: 64 };
  yield () => {
    const inputs = qkv(gqa);
    return {
      id: 'b',
      name: 'GQA 32/8 causal',
      shape: gqa,
      target: 1.5,
      pairs: causalPairs(gqa),
      ortOp: 'GroupQueryAttention',
      attn: { spec: loadSpec('stdlib/gqa.attn', 'gqa', compile), inputs, params: { causal: true } },
      ort: viaGqa(gqa, inputs),
    };
  };

  const cap = 30;
  yield () => {
    const inputs = qkv(gqa);
    return {
      id: 'c',
      name: `GQA 32/8 causal, softcap ${cap}`,
      shape: gqa,
      target: 1.5,
      pairs: causalPairs(gqa),
      ortOp: `GroupQueryAttention softcap=${cap}`,
      attn: { spec: loadSpec('stdlib/softcap.attn', 'softcap', compile), inputs, params: { cap } },
      ort: viaGqa(gqa, inputs, { softcap: cap }),
    };
  };

  // ORT's WebGPU GroupQueryAttention keeps local_window_size keys, the query's own included,
  // which is attn's `window` (the output comparison would show an off-by-one).
  const window = n(128, 32);
  const sw: Shape = { B: 1, HQ: 8, HK: 8, L: n(2048, 256), S: n(2048, 256), D: 64 };
  yield () => {
    const inputs = qkv(sw);
    return {
      id: 'd',
      name: `sliding window ${window}`,
      shape: sw,
      target: 5,
      pairs: visiblePairs(sw, (p, m) => m <= p && p - m < window),
      ortOp: `GroupQueryAttention local_window_size=${window}`,
      attn: {
        spec: loadSpec('stdlib/sliding_window.attn', 'sliding_window', compile),
        inputs,
        params: { window },
      },
      ort: viaGqa(sw, inputs, { localWindowSize: window }),
    };
  };

  // Decode: ORT gets the cache as past K/V plus the newest token's key and value; attn gets
  // the same S keys as one K/V (its split-KV path is picked at run time for P = 1).
  const decode: Shape = { B: 1, HQ: 32, HK: 8, L: 1, S: n(4096, 512), D: 64 };
  yield () => {
    const inputs = qkv(decode);
    return {
      id: 'e',
      name: 'decode 32/8',
      shape: decode,
      target: 1.5,
      pairs: decode.S,
      ortOp: `GroupQueryAttention, past ${decode.S - 1} + 1`,
      attn: {
        spec: loadSpec('stdlib/gqa.attn', 'gqa', compile),
        inputs,
        params: { causal: true },
      },
      ort: viaGqa(decode, inputs, { past: decode.S - 1 }),
    };
  };

  const alibi: Shape = { B: 1, HQ: 8, HK: 8, L: n(1024, 128), S: n(1024, 128), D: 64 };
  yield () => {
    const base = qkv(alibi);
    // The paper's slopes: a geometric sequence from 2^(−8/H) down to 2^(−8).
    const slopes = Float32Array.from(
      { length: alibi.HQ },
      (_, h) => 2 ** ((-8 * (h + 1)) / alibi.HQ),
    );
    const inputs = { ...base, Slope: tensor('f32', [alibi.HQ], slopes) };
    return {
      id: 'f',
      name: 'ALiBi causal',
      shape: alibi,
      target: null,
      pairs: causalPairs(alibi),
      ortOp: 'Transpose, MatMul, Mul, Add(bias), Softmax, MatMul',
      attn: { spec: loadSpec('stdlib/relpos_bias.attn', 'alibi', compile), inputs, params: {} },
      ort: {
        graph: alibiGraph(alibi, slopes),
        feeds: {
          Q: f32(data(base.Q), base.Q.shape),
          K: f32(data(base.K), base.K.shape),
          V: f32(data(base.V), base.V.shape),
        },
        output: 'output',
        toAttnLayout: (o) => o,
      },
    };
  };
}
