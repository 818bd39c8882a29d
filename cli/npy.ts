/**
 * NumPy `.npy` files (format versions 1.0–3.0) ↔ host tensors. Reads float32, float16, float64
 * (converted to float32), int32, int64 (converted to int32, checked), bool; writes float32 and
 * float16. C order only: a Fortran-ordered file is rejected rather than silently transposed.
 */
import { tensor, type HostTensor } from '../compiler/tensor.ts';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export class NpyError extends Error {}

export function parseNpy(bytes: Uint8Array): HostTensor {
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b))
    throw new NpyError('not a .npy file (bad magic)');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(headerStart, headerStart + headerLength),
  );
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined)
    throw new NpyError(`malformed .npy header: ${header.trim()}`);
  if (fortran === 'True')
    throw new NpyError('Fortran-ordered arrays are not supported; save with np.ascontiguousarray');
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLength;
  const body = bytes.slice(dataStart);
  const little = !descr.startsWith('>');
  const kind = descr.replace(/^[<>|=]/, '');
  const width = Number(kind.slice(1));
  if (body.length < n * width)
    throw new NpyError(
      `.npy data is truncated: ${body.length} bytes for ${n} elements of ${descr}`,
    );
  const data = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const read = (get: (offset: number) => number) =>
    Array.from({ length: n }, (_, i) => get(i * width));
  switch (kind) {
    case 'f4':
      return tensor(
        'f32',
        shape,
        read((o) => data.getFloat32(o, little)),
      );
    case 'f8':
      return tensor(
        'f32',
        shape,
        read((o) => data.getFloat64(o, little)),
      );
    case 'f2':
      return tensor('f16', shape, Uint16Array.from(read((o) => data.getUint16(o, little))));
    case 'i4':
      return tensor(
        'i32',
        shape,
        read((o) => data.getInt32(o, little)),
      );
    case 'i8':
      return tensor(
        'i32',
        shape,
        read((o) => {
          const v = Number(data.getBigInt64(o, little));
          if (v < -(2 ** 31) || v >= 2 ** 31)
            throw new NpyError(`int64 value ${v} does not fit in int32`);
          return v;
        }),
      );
    case 'b1':
      return tensor(
        'bool',
        shape,
        read((o) => (data.getUint8(o) ? 1 : 0)),
      );
    default:
      throw new NpyError(
        `unsupported .npy dtype '${descr}' (use float32, float16, float64, int32, int64 or bool)`,
      );
  }
}

export function serializeNpy(t: HostTensor): Uint8Array {
  const descr = { f32: '<f4', f16: '<f2', i32: '<i4', bool: '|b1' }[t.dtype];
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const width = { f32: 4, f16: 2, i32: 4, bool: 1 }[t.dtype];
  const out = new Uint8Array(10 + header.length + t.data.length * width);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(
    new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.length * width),
    10 + header.length,
  );
  return out;
}
