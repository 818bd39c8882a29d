/**
 * Host-side data handling for the runtime: the bytes of an input in its GPU storage, the f32
 * values of an output read back, the uniform buffer's contents, and evaluating the manifest's
 * formulas. Nothing here touches a GPUDevice.
 */
import { evaluateAffine } from '../../compiler/affine.ts';
import type { Binding } from '../../compiler/bind.ts';
import { InternalError } from '../../compiler/diagnostics/diagnostic.ts';
import type { Affine } from '../../compiler/ir.ts';
import { f32ToF16, toFloat32, type HostTensor } from '../../compiler/tensor.ts';
import { ABSENT_BITS, type Storage, type UniformLayout } from './plan.ts';

/** The value of a manifest formula under the bound symbols. */
export function evaluateFormula(a: Affine, binding: Binding): number {
  const value = evaluateAffine(a, {
    index: (name) => {
      throw new InternalError(`index ${name} in a manifest formula`);
    },
    symbol: (name) => {
      const v = binding.symbols.get(name);
      if (v === undefined) throw new InternalError(`symbol ${name} is not bound`);
      return v;
    },
    read: () => {
      throw new InternalError('tensor read in a manifest formula');
    },
  });
  if (value === undefined) throw new InternalError('manifest formula evaluated to absent');
  return value;
}

/**
 * Bytes of a buffer holding `elements` elements: WebGPU wants multiples of 4, and non-zero; at
 * least 16, the smallest binding of a fused kernel's vec4 view (`BufferBinding.view`).
 */
export function bufferBytes(elements: number, bytesPerElement: number): number {
  return Math.max(16, Math.ceil((elements * bytesPerElement) / 4) * 4);
}

function padded(bytes: Uint8Array): Uint8Array {
  const size = bufferBytes(bytes.byteLength, 1);
  if (size === bytes.byteLength) return bytes;
  const out = new Uint8Array(size);
  out.set(bytes);
  return out;
}

const asBytes = (v: ArrayBufferView) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

/** The bytes of an input tensor in its storage (bind() already checked dtype compatibility). */
export function encodeInput(t: HostTensor, storage: Storage): Uint8Array {
  switch (storage) {
    case 'f32':
      return asBytes(toFloat32(t));
    case 'f16': {
      if (t.dtype === 'f16') return padded(asBytes(t.data));
      const out = new Uint16Array(t.data.length);
      for (let i = 0; i < out.length; i++) out[i] = f32ToF16(t.data[i]);
      return padded(asBytes(out));
    }
    case 'i32':
      return asBytes(t.data instanceof Int32Array ? t.data : Int32Array.from(t.data));
    case 'bool8': {
      const bytes = new Uint8Array(t.data.length);
      for (let i = 0; i < bytes.length; i++) bytes[i] = t.data[i] !== 0 ? 1 : 0;
      return padded(bytes);
    }
    case 'f32-absent':
      throw new InternalError('an input is never stored with absent elements');
  }
}

/** An output's values as f32, absent elements written as 0 (ir.ts). */
export function decodeOutput(bytes: ArrayBuffer, storage: Storage, elements: number): Float32Array {
  const values = new Float32Array(bytes, 0, elements).slice();
  if (storage === 'f32') return values;
  if (storage !== 'f32-absent') throw new InternalError(`output stored as ${storage}`);
  const bits = new Uint32Array(values.buffer);
  for (let i = 0; i < elements; i++) if (bits[i] === ABSENT_BITS) values[i] = 0;
  return values;
}

/**
 * The uniform buffer: integer symbols (and the runtime's choices, which it adds to the symbols)
 * as i32, real params as f32, booleans as u32.
 */
export function encodeUniforms(layout: UniformLayout, binding: Binding): ArrayBuffer {
  const data = new ArrayBuffer(layout.size);
  const view = new DataView(data);
  for (const f of layout.fields) {
    const { kind, name } = f.source;
    if (kind === 'symbol' || kind === 'runtime') {
      const v = binding.symbols.get(name);
      if (v === undefined) throw new InternalError(`symbol ${name} is not bound`);
      view.setInt32(f.offset, v, true);
    } else if (kind === 'real') {
      const v = binding.reals.get(name);
      if (v === undefined) throw new InternalError(`param ${name} is not bound`);
      view.setFloat32(f.offset, v, true);
    } else {
      const v = binding.bools.get(name);
      if (v === undefined) throw new InternalError(`bool ${name} is not bound`);
      view.setUint32(f.offset, v ? 1 : 0, true);
    }
  }
  return data;
}

/**
 * `[x, y, 1]` workgroups covering `count`: 1-D while it fits one dimension, else 2-D (the
 * kernels linearise `workgroup_id` with `num_workgroups` and skip the excess). Null when even
 * a square grid cannot hold it.
 */
export function dispatchSize(
  count: number,
  maxPerDimension: number,
): [number, number, number] | null {
  if (count <= maxPerDimension) return [count, 1, 1];
  const y = Math.ceil(count / maxPerDimension);
  if (y > maxPerDimension) return null;
  return [Math.ceil(count / y), y, 1];
}
