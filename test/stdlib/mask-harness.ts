/**
 * Shared checks for the masked stdlib specs (sliding_window, sink_window, document_mask,
 * block_sparse, per_head_pattern, window2d): each case is run three ways against a float64
 * reference written from the spec's formula (test/reference/<name>.ts):
 *   - the CPU interpreter on the checked program (`spec.program`),
 *   - the CPU interpreter on the IR after the optimizer (`spec.scheduled`),
 *   - the WebGPU kernels (`spec.wgsl`) on Dawn.
 * Every expected value comes from the reference, never from a backend. The worst errors per
 * backend are printed after the file, and `blockVisits` measures how many key tiles the
 * block-sparsity filter lets the fused cascade visit.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import {
  compile,
  createKernel,
  interpret,
  tensor,
  type CompileOptions,
  type CompiledSpec,
  type HostTensor,
  type PassName,
} from '../../index.ts';
import type { Equation, IndexName, TensorName } from '../../compiler/ir.ts';
import { literal, select } from '../../compiler/ir-make.ts';
import { fusedGroups } from '../../compiler/passes/fused-group.ts';
import { assertAllClose, type CloseReport } from '../helpers/allclose.ts';
import { getTestDevice } from '../helpers/gpu.ts';
import { createRng } from '../helpers/rng.ts';
import type { Dims } from '../reference/variants.ts';

/** f32 kernels against a float64 reference: outputs are O(1) softmax averages. */
export const TOLERANCE = { atol: 2e-5, rtol: 2e-4 };

export interface Case {
  readonly label: string;
  readonly inputs: Record<string, HostTensor>;
  readonly params?: Record<string, number | boolean>;
  readonly expected: Float64Array;
  /** Rows (flat indices of O) that the mask leaves without any key: they must be exactly 0. */
  readonly emptyRows?: readonly number[];
}

export function loadSpec(
  file: string,
  attention: string,
  options: CompileOptions = {},
): CompiledSpec {
  const text = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
  const result = compile(text, { fileName: file, attention, ...options });
  if (!result.ok)
    throw new Error(
      `${file} does not compile: ${result.diagnostics.map((d) => d.message).join('; ')}`,
    );
  return result.specs[0];
}

/** What the optimizer did: `applied` passes must have applied, `declined` must not have. */
export function expectPasses(
  spec: CompiledSpec,
  applied: readonly PassName[],
  declined: readonly PassName[] = [],
): void {
  const note = (p: PassName) => spec.notes.find((n) => n.pass === p);
  for (const p of applied)
    expect(note(p), `${p}: ${note(p)?.message}`).toMatchObject({ applied: true });
  for (const p of declined) expect(note(p)?.applied, `${p} should decline`).toBe(false);
}

export const noteOf = (spec: CompiledSpec, pass: PassName): string =>
  spec.notes.find((n) => n.pass === pass)?.message ?? '';

/** Seeded standard-normal Q, K, V in the [b, h, position, feature] layout. */
export function qkv(d: Dims, seed: number) {
  const rng = createRng(seed);
  const q = Float32Array.from(rng.randnArray(d.B * d.HQ * d.P * d.E));
  const k = Float32Array.from(rng.randnArray(d.B * d.HK * d.M * d.E));
  const v = Float32Array.from(rng.randnArray(d.B * d.HK * d.M * d.F));
  return {
    q,
    k,
    v,
    rng,
    inputs: {
      Q: tensor('f32', [d.B, d.HQ, d.P, d.E], q),
      K: tensor('f32', [d.B, d.HK, d.M, d.E], k),
      V: tensor('f32', [d.B, d.HK, d.M, d.F], v),
    },
  };
}

export const dimsLabel = (d: Dims) => `B${d.B} HQ${d.HQ} HK${d.HK} P${d.P} M${d.M} E${d.E} F${d.F}`;

/** The (b, h, p) rows of O, flattened, where `keep` admits no key. */
export function emptyRowsOf(
  d: Dims,
  keep: (b: number, h: number, p: number, m: number) => boolean,
): number[] {
  const rows: number[] = [];
  for (let b = 0; b < d.B; b++)
    for (let h = 0; h < d.HQ; h++)
      for (let p = 0; p < d.P; p++) {
        let any = false;
        for (let m = 0; m < d.M && !any; m++) any = keep(b, h, p, m);
        if (!any) rows.push((b * d.HQ + h) * d.P + p);
      }
  return rows;
}

/** `max abs / max rel` over the reports (rel is large only where the expected value is tiny). */
const worst = (rs: CloseReport[]) =>
  `${rs.reduce((a, r) => Math.max(a, r.maxAbs), 0).toExponential(1)} / ${rs
    .reduce((a, r) => Math.max(a, r.maxRel), 0)
    .toExponential(1)}`;

function check(out: Float32Array, c: Case, where: string): CloseReport {
  const report = assertAllClose(out, c.expected, TOLERANCE, where);
  // A row that sees no key is the empty sum: exactly 0, never NaN or a stale value.
  const width = out.length / rowsIn(c);
  for (const r of c.emptyRows ?? [])
    for (let f = 0; f < width; f++) {
      const x = out[r * width + f];
      expect(x === 0, `${where} row ${r} is ${x}, not 0`).toBe(true);
    }
  return report;
}

/** Number of (b, h, p) rows of the case's O: its shape without the last (feature) axis. */
function rowsIn(c: Case): number {
  const q = c.inputs.Q;
  return q.shape.slice(0, -1).reduce((a, b) => a * b, 1);
}

/**
 * Registers, for every case, the three comparisons with the reference, for each compiled
 * variant of the spec (e.g. the default tiles and small tiles that make block skipping matter
 * on small shapes). Adds the worst absolute and relative errors per backend to `summary`.
 */
export function describeEquivalence(
  title: string,
  specs: Readonly<Record<string, CompiledSpec>>,
  cases: () => Case[],
  summary: string[],
): void {
  describe(title, () => {
    const errors = {
      cpu: [] as CloseReport[],
      scheduled: [] as CloseReport[],
      gpu: [] as CloseReport[],
    };
    afterAll(() =>
      summary.push(
        `${title.padEnd(28)} max abs / rel: cpu ${worst(errors.cpu)}  cpu-scheduled ${worst(errors.scheduled)}  webgpu ${worst(errors.gpu)}`,
      ),
    );
    const all = cases();
    for (const [variant, spec] of Object.entries(specs))
      for (const c of all) {
        test(`cpu ${variant} ${c.label}`, () => {
          for (const [which, program] of [
            ['cpu', spec.program],
            ['scheduled', spec.scheduled],
          ] as const) {
            const result = interpret(program, c.inputs, { params: c.params });
            if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('; '));
            const out = result.outputs.O.data as Float32Array;
            errors[which].push(check(out, c, `${which} O`));
          }
        });
        test(`webgpu ${variant} ${c.label}`, async () => {
          const kernel = createKernel(await getTestDevice(), spec.wgsl);
          const result = await kernel.run(c.inputs, { params: c.params });
          kernel.destroy();
          if (!result.ok) throw new Error(result.message);
          errors.gpu.push(check(result.outputs.O.data as Float32Array, c, 'webgpu O'));
        });
      }
  });
}

/**
 * The fraction of (query tile, key tile) pairs the fused cascade visits: the tile filter of the
 * running accumulator (what block-sparsity wrote, e.g. `O_racc`'s `where`) is evaluated by the
 * interpreter at every (row, key tile), and a pair is visited when some row of the query tile
 * passes. Rows other than the query index (batch, head) are counted separately. Without a tile
 * filter every tile is visited.
 */
export function blockVisits(
  spec: CompiledSpec,
  inputs: Record<string, HostTensor>,
  params: Record<string, number | boolean> = {},
): { visited: number; total: number; ratio: number } {
  const program = spec.scheduled;
  const group = fusedGroups(program).groups[0];
  if (!group) throw new Error(`${spec.name}: nothing is fused`);
  const [tileIndex] = group.key;
  const query = [...group.rows]
    .reverse()
    .find((r) => program.schedule.tiles.some((t) => t.index === r));
  if (!query) throw new Error(`${spec.name}: no query tile in the schedule`);
  const queryTile = program.schedule.tiles.find((t) => t.index === query)!.size;
  const name = 'VISIT__' as TensorName;
  const visit: Equation = {
    kind: 'equation',
    target: name,
    indices: [...group.rows, tileIndex] as IndexName[],
    reduce: null,
    filter: null,
    body: group.racc.filter ? select(group.racc.filter, literal(1), literal(0)) : literal(1),
    origin: group.output.origin,
  };
  const result = interpret(
    { ...program, body: [...program.body, visit], outputs: [name] },
    inputs,
    { params },
  );
  if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('; '));
  const t = result.outputs[name];
  const shape = t.shape;
  const qAxis = group.rows.indexOf(query);
  const tiles = shape[shape.length - 1];
  const before = shape.slice(0, qAxis).reduce((a, b) => a * b, 1);
  const rows = shape[qAxis];
  const after = shape.slice(qAxis + 1, -1).reduce((a, b) => a * b, 1);
  let visited = 0;
  let total = 0;
  for (let o = 0; o < before; o++)
    for (let i = 0; i < after; i++)
      for (let q0 = 0; q0 < rows; q0 += queryTile)
        for (let k = 0; k < tiles; k++) {
          total++;
          let any = false;
          for (let q = q0; q < Math.min(rows, q0 + queryTile) && !any; q++)
            any = t.data[((o * rows + q) * after + i) * tiles + k] !== 0;
          if (any) visited++;
        }
  return { visited, total, ratio: visited / total };
}
