/**
 * Two ways to drive attnc in tests: `spawnAttnc` runs the real executable (`node bin/attnc.js`,
 * about a second of start-up each, so the spawning tests are few), `callAttnc` runs `runCli`
 * in this process with captured output (milliseconds; for everything that needs no process).
 */
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../cli/attnc.ts';
import type { Io } from '../../cli/command.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function spawnAttnc(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'bin/attnc.js'), ...args],
      { cwd: ROOT, env: { ...process.env, NO_COLOR: '', ...env }, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export async function callAttnc(
  args: readonly string[],
  options: { color?: boolean; env?: Record<string, string>; stdin?: string } = {},
): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    out: (text) => void (stdout += text),
    err: (text) => void (stderr += text),
    color: options.color ?? false,
    env: options.env ?? {},
    readStdin: async () => options.stdin ?? '',
  };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

export function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'attnc-test-'));
}

/** A little-endian `.npy` (format 1.0) of float32 or float16, from the format's definition. */
export function npy(
  descr: '<f4' | '<f2',
  shape: readonly number[],
  values: readonly number[],
): Uint8Array {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${dims}, }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const width = descr === '<f4' ? 4 : 2;
  const bytes = new Uint8Array(10 + header.length + width * values.length);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(bytes.buffer).setUint16(8, header.length, true);
  bytes.set(new TextEncoder().encode(header), 10);
  const data = new DataView(bytes.buffer, 10 + header.length);
  values.forEach((v, i) =>
    width === 4 ? data.setFloat32(4 * i, v, true) : data.setUint16(2 * i, exactHalf(v), true),
  );
  return bytes;
}

export const npyFloat32 = (shape: readonly number[], values: readonly number[]) =>
  npy('<f4', shape, values);

/** The half bits of a normal number that half represents exactly (test data is chosen so). */
function exactHalf(v: number): number {
  if (v === 0) return 0;
  const exponent = Math.floor(Math.log2(Math.abs(v)));
  const mantissa = Math.abs(v) / 2 ** exponent - 1;
  const bits = (v < 0 ? 0x8000 : 0) | ((exponent + 15) << 10) | Math.round(mantissa * 1024);
  if (half(bits) !== v) throw new Error(`${v} is not exactly representable in half`);
  return bits;
}

/** Reads a version 1.0 `.npy` of float32 or float16: its dtype, shape and values. */
export function readNpy(bytes: Uint8Array): { descr: string; shape: number[]; values: number[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint16(8, true);
  const header = new TextDecoder().decode(bytes.subarray(10, 10 + length));
  const descr = /'descr': '([^']+)'/.exec(header)![1];
  const shape = /'shape': \(([^)]*)\)/
    .exec(header)![1]
    .split(',')
    .filter((s) => s.trim() !== '')
    .map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const start = 10 + length;
  const values = Array.from({ length: n }, (_, i) =>
    descr === '<f4'
      ? view.getFloat32(start + 4 * i, true)
      : half(view.getUint16(start + 2 * i, true)),
  );
  return { descr, shape, values };
}

/** IEEE half → number, from the bit layout (1 sign, 5 exponent, 10 mantissa bits). */
function half(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}
