/**
 * Dense row-major arrays for the CPU interpreter: float64 values plus one presence byte per
 * element (1 = present, 0 = absent; see `absent.ts`). Every tensor of a run, inputs included,
 * lives in one of these, so the interpreter has a single storage format to read and write.
 *
 * The generated loop nests (`compile-stmt.ts`) inline `shape` and `strides` as constants and do
 * their own bounds checks; `offsetOf` is the same rule for code that is not generated (tests,
 * host-side helpers).
 */
import { InternalError } from '../../compiler/diagnostics/diagnostic.ts';
import { elementAt, elementCount, tensor, type HostTensor } from '../../compiler/tensor.ts';

export interface DenseArray {
  readonly shape: readonly number[];
  /** Row-major strides in elements: the last dimension has stride 1. */
  readonly strides: readonly number[];
  readonly values: Float64Array;
  readonly present: Uint8Array;
}

export function rowMajorStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    strides[axis] = stride;
    stride *= shape[axis];
  }
  return strides;
}

/** A new array with every element absent. */
export function createDense(shape: readonly number[]): DenseArray {
  const n = elementCount(shape);
  if (!Number.isSafeInteger(n) || n < 0) throw new InternalError(`bad tensor shape [${shape}]`);
  return {
    shape: [...shape],
    strides: rowMajorStrides(shape),
    values: new Float64Array(n),
    present: new Uint8Array(n),
  };
}

/**
 * The element offset of `at`, or `undefined` when a subscript falls outside its dimension (an
 * out-of-bounds read is absent, never an error).
 */
export function offsetOf(array: DenseArray, at: readonly number[]): number | undefined {
  if (at.length !== array.shape.length) {
    throw new InternalError(
      `rank ${array.shape.length} tensor subscripted with ${at.length} indices`,
    );
  }
  let offset = 0;
  for (let axis = 0; axis < at.length; axis++) {
    const i = at[axis];
    if (!Number.isInteger(i) || i < 0 || i >= array.shape[axis]) return undefined;
    offset += i * array.strides[axis];
  }
  return offset;
}

/** The value at `at`, or `undefined` when it is out of bounds or absent. */
export function elementOf(array: DenseArray, at: readonly number[]): number | undefined {
  const offset = offsetOf(array, at);
  return offset === undefined || array.present[offset] === 0 ? undefined : array.values[offset];
}

/** An input tensor as a fully present float64 array (f16 decoded, bool as 0/1). */
export function denseFromHost(host: HostTensor): DenseArray {
  const out = createDense(host.shape);
  for (let i = 0; i < out.values.length; i++) out.values[i] = elementAt(host, i);
  out.present.fill(1);
  return out;
}

/** True when no element is absent; lets generated code skip presence checks. */
export function isFullyPresent(array: DenseArray): boolean {
  return array.present.every((p) => p === 1);
}

/** An f32 host tensor, absent elements written as 0 (the output rule of `ir.ts`). */
export function denseToHostF32(array: DenseArray): HostTensor {
  const out = tensor('f32', array.shape);
  const data = out.data as Float32Array;
  for (let i = 0; i < data.length; i++) data[i] = array.present[i] === 1 ? array.values[i] : 0;
  return out;
}
