/**
 * Runs an ONNX `Attention` conformance case on `stdlib/onnx_attention.attn`.
 *
 * The attention math (scale, softcap, masks, causal offset, GQA, softmax, the qk_matmul_output
 * modes) lives in the spec. This adapter does host-side layout only, as the operator's own
 * definition does before its math: 3-D [B, L, H·E] ↔ 4-D [B, H, L, E], past ++ present along the
 * sequence axis (which is also the `present_key` / `present_value` outputs), the mask broadcast
 * to [B, HQ, L, M] and padded past its last column with "masked", float16 ↔ float32.
 */
import { readFileSync } from 'node:fs';
import { f16ToF32, tensor, type HostTensor } from '../../compiler/tensor.ts';

export const CASES_DIR = new URL('./onnx-attention/cases/', import.meta.url);

interface JsonTensor {
  readonly role: string;
  readonly dtype: 'float32' | 'float16' | 'bool' | 'int64';
  readonly dims: readonly number[];
  readonly data_b64: string;
}

interface JsonCase {
  readonly case: string;
  readonly nodes: readonly {
    readonly inputs: readonly string[];
    readonly outputs: readonly string[];
    readonly attributes: Readonly<Record<string, number>>;
  }[];
  readonly data_sets: readonly {
    readonly inputs: readonly JsonTensor[];
    readonly outputs: readonly JsonTensor[];
  }[];
}

/** A decoded tensor: values as float64 (or -inf), plus how ONNX stored it. */
export interface Array4 {
  readonly dtype: JsonTensor['dtype'];
  readonly dims: readonly number[];
  readonly values: Float64Array;
}

function decode(t: JsonTensor): Array4 {
  const bytes = Buffer.from(t.data_b64, 'base64');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = t.dims.reduce((a, b) => a * b, 1);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    values[i] =
      t.dtype === 'float32'
        ? view.getFloat32(4 * i, true)
        : t.dtype === 'float16'
          ? f16ToF32(view.getUint16(2 * i, true))
          : t.dtype === 'int64'
            ? Number(view.getBigInt64(8 * i, true))
            : view.getUint8(i);
  }
  return { dtype: t.dtype, dims: t.dims, values };
}

/** [B, L, H·D] → [B, H, L, D]. */
function split3d(a: Array4, heads: number): Array4 {
  const [B, L, HD] = a.dims;
  const D = HD / heads;
  const out = new Float64Array(a.values.length);
  for (let b = 0; b < B; b++)
    for (let l = 0; l < L; l++)
      for (let h = 0; h < heads; h++)
        for (let d = 0; d < D; d++)
          out[((b * heads + h) * L + l) * D + d] = a.values[(b * L + l) * HD + h * D + d];
  return { dtype: a.dtype, dims: [B, heads, L, D], values: out };
}

/** [B, H, L, D] → [B, L, H·D]. */
export function merge3d(values: ArrayLike<number>, [B, H, L, D]: readonly number[]): Float64Array {
  const out = new Float64Array(B * L * H * D);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let l = 0; l < L; l++)
        for (let d = 0; d < D; d++)
          out[(b * L + l) * H * D + h * D + d] = values[((b * H + h) * L + l) * D + d];
  return out;
}

/** Concatenates two [B, H, *, D] tensors along axis 2. */
function concatSequence(past: Array4, current: Array4): Array4 {
  const [B, H, P, D] = past.dims;
  const S = current.dims[2];
  const out = new Float64Array(B * H * (P + S) * D);
  for (let bh = 0; bh < B * H; bh++) {
    out.set(past.values.subarray(bh * P * D, (bh + 1) * P * D), bh * (P + S) * D);
    out.set(current.values.subarray(bh * S * D, (bh + 1) * S * D), bh * (P + S) * D + P * D);
  }
  return { dtype: current.dtype, dims: [B, H, P + S, D], values: out };
}

/**
 * Broadcasts a mask (NumPy rules, aligned right) to [B, H, L, M]; columns past its own last one
 * are `pad` (ONNX: a mask shorter than the total sequence masks the rest).
 */
function broadcastMask(mask: Array4, [B, H, L, M]: readonly number[], pad: number): Float64Array {
  const dims = [...Array(4 - mask.dims.length).fill(1), ...mask.dims];
  const [mb, mh, ml, mm] = dims;
  const out = new Float64Array(B * H * L * M);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let l = 0; l < L; l++)
        for (let m = 0; m < M; m++) {
          const src = m < mm ? (((b % mb) * mh + (h % mh)) * ml + (l % ml)) * mm + m : -1;
          out[((b * H + h) * L + l) * M + m] = src < 0 ? pad : mask.values[src];
        }
  return out;
}

/** What to run and what to expect for one conformance case. */
export interface PreparedCase {
  readonly name: string;
  /** The `attention` block of stdlib/onnx_attention.attn to run. */
  readonly block: 'onnx_attention' | 'onnx_attention_bool_mask' | 'onnx_attention_no_mask';
  readonly inputs: Record<string, HostTensor>;
  readonly params: Record<string, number | boolean>;
  /** Spec outputs to compute, and how each maps to an ONNX output. */
  readonly outputs: readonly {
    readonly spec: string;
    readonly role: string;
    readonly merge3d: boolean;
  }[];
  /** Expected values of every ONNX output, keyed by role, as float64. */
  readonly expected: Record<string, Array4>;
  /** Outputs produced by layout alone (present_key / present_value), already in ONNX layout. */
  readonly hostOutputs: Record<string, Float64Array>;
  readonly tolerance: { readonly atol: number; readonly rtol: number };
}

export function loadCase(file: string): PreparedCase {
  const json = JSON.parse(readFileSync(new URL(file, CASES_DIR), 'utf8')) as JsonCase;
  const node = json.nodes[0];
  const attrs = node.attributes;
  const data = json.data_sets[0];
  const byRole = new Map(data.inputs.map((t) => [t.role, decode(t)]));
  const get = (role: string) => byRole.get(role);

  const threeD = get('Q')!.dims.length === 3;
  let q = get('Q')!;
  let k = get('K')!;
  let v = get('V')!;
  if (threeD) {
    q = split3d(q, attrs.q_num_heads);
    k = split3d(k, attrs.kv_num_heads);
    v = split3d(v, attrs.kv_num_heads);
  }
  const hostOutputs: Record<string, Float64Array> = {};
  const pastKey = get('past_key');
  const pastValue = get('past_value');
  const past = pastKey ? pastKey.dims[2] : 0;
  if (pastKey && pastValue) {
    k = concatSequence(pastKey, k);
    v = concatSequence(pastValue, v);
    hostOutputs.present_key = k.values;
    hostOutputs.present_value = v.values;
  }
  const [B, HQ, L] = q.dims;
  const M = k.dims[2];
  const f16 = q.dtype === 'float16';
  // float16 inputs stay float16: the backends widen them to f32 (DESIGN: f16 storage, f32 math).
  const real = (a: Array4) =>
    tensor(a.dtype === 'float16' ? 'f16' : 'f32', a.dims, Float32Array.from(a.values));
  const inputs: Record<string, HostTensor> = { Q: real(q), K: real(k), V: real(v) };

  const nonpad = get('nonpad_kv_seqlen');
  inputs.KvLen = tensor(
    'i32',
    [B],
    nonpad ? Int32Array.from(nonpad.values) : new Int32Array(B).fill(M),
  );

  const mask = get('attn_mask');
  let block: PreparedCase['block'] = 'onnx_attention_no_mask';
  if (mask) {
    const bool = mask.dtype === 'bool';
    block = bool ? 'onnx_attention_bool_mask' : 'onnx_attention';
    const full = broadcastMask(mask, [B, HQ, L, M], bool ? 0 : -Infinity);
    inputs.Mask = bool
      ? tensor('bool', [B, HQ, L, M], Uint8Array.from(full))
      : tensor('f32', [B, HQ, L, M], Float32Array.from(full));
  }

  const params: Record<string, number | boolean> = {
    softcap: attrs.softcap ?? 0,
    causal: attrs.is_causal === 1,
    past,
    nonpad: nonpad !== undefined,
  };
  if (attrs.scale !== undefined) params.scale = attrs.scale;

  const outputs: { spec: string; role: string; merge3d: boolean }[] = [
    { spec: 'Y', role: 'Y', merge3d: threeD },
  ];
  if (node.outputs[3])
    outputs.push({
      spec: `QK${attrs.qk_matmul_output_mode ?? 0}`,
      role: 'qk_matmul_output',
      merge3d: false,
    });

  const expected: Record<string, Array4> = {};
  for (const t of data.outputs) expected[t.role] = decode(t);
  return {
    name: json.case,
    block,
    inputs,
    params,
    outputs,
    expected,
    hostOutputs,
    tolerance: f16 ? { atol: 2e-3, rtol: 2e-3 } : { atol: 1e-4, rtol: 1e-4 },
  };
}
