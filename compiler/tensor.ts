/**
 * Tensors on the host: what callers pass to a backend and get back. Dense, row-major.
 * f16 data is kept as IEEE half bit patterns in a Uint16Array (Node 20 has no Float16Array);
 * bool data is one byte per element (0 or 1), as in NumPy and ONNX.
 */
import type { DType } from './ir.ts';

export type TensorData = Float32Array | Uint16Array | Int32Array | Uint8Array;

export interface HostTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function tensor(
  dtype: DType,
  shape: readonly number[],
  data?: TensorData | ArrayLike<number>,
): HostTensor {
  const n = elementCount(shape);
  const make = (): TensorData => {
    switch (dtype) {
      case 'f32':
        return new Float32Array(n);
      case 'f16':
        return new Uint16Array(n);
      case 'i32':
        return new Int32Array(n);
      case 'bool':
        return new Uint8Array(n);
    }
  };
  const out = make();
  if (data) {
    if (data.length !== n)
      throw new RangeError(`tensor of shape [${shape}] needs ${n} elements, got ${data.length}`);
    if (dtype === 'f16' && !(data instanceof Uint16Array))
      for (let i = 0; i < n; i++) out[i] = f32ToF16(data[i]);
    else out.set(data as ArrayLike<number>);
  }
  return { dtype, shape: [...shape], data: out };
}

/** Element `i` as a JS number (f16 decoded, bool as 0/1). */
export function elementAt(t: HostTensor, i: number): number {
  return t.dtype === 'f16' ? f16ToF32(t.data[i]) : t.data[i];
}

/** A float32 copy of any tensor's values. */
export function toFloat32(t: HostTensor): Float32Array {
  if (t.dtype === 'f32') return t.data as Float32Array;
  const out = new Float32Array(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = elementAt(t, i);
  return out;
}

// ── IEEE 754 half precision ──────────────────────────────────────────────────────────────

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Rounds to the nearest half (ties to even); overflow goes to ±inf, NaN stays NaN. */
export function f32ToF16(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

export function f16ToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
