/**
 * The three-way check several test/stdlib suites share: a float64 reference (the case's
 * `expected`) against the CPU interpreter on the checked IR, on the scheduled IR, and WebGPU;
 * rows that see no key must come out exactly 0. One `StdlibFile` per spec file compiles its
 * blocks once and prints the worst errors per block when the file's tests end.
 */
import { readFileSync } from 'node:fs';
import { afterAll, expect, test } from 'vitest';
import {
  compile,
  createKernel,
  interpret,
  type CompiledSpec,
  type HostTensor,
  type PassNote,
} from '../../index.ts';
import type { Program } from '../../compiler/ir.ts';
import { assertAllClose, type CloseReport } from '../helpers/allclose.ts';
import { getTestDevice } from '../helpers/gpu.ts';

/** f32 kernels against a float64 reference. */
export const TOL = { atol: 2e-5, rtol: 2e-4 };

export interface Case {
  readonly label: string;
  readonly inputs: Record<string, HostTensor>;
  readonly params: Record<string, number | boolean>;
  readonly expected: Float64Array;
  /** Flat rows that see no key: their `width` outputs must be exactly 0. */
  readonly emptyRows: number[];
  readonly width: number;
}

const worst = (rs: CloseReport[]) =>
  rs.length === 0
    ? 'none'
    : `${rs.reduce((a, r) => Math.max(a, r.maxAbs), 0).toExponential(1)} / ${rs.reduce((a, r) => Math.max(a, r.maxRel), 0).toExponential(1)}`;

export class StdlibFile {
  private readonly source: string;
  private readonly specs = new Map<string, CompiledSpec>();
  private readonly report: string[] = [];

  constructor(readonly file: string) {
    this.source = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
    afterAll(() =>
      console.log(
        `${file} vs float64 reference (max abs / max rel):\n  ${this.report.join('\n  ')}`,
      ),
    );
  }

  spec(block: string): CompiledSpec {
    if (!this.specs.has(block)) {
      const r = compile(this.source, { fileName: this.file, attention: block });
      if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('; '));
      this.specs.set(block, r.specs[0]);
    }
    return this.specs.get(block)!;
  }

  note(block: string, pass: string): PassNote {
    return this.spec(block).notes.find((n) => n.pass === pass)!;
  }

  /** Three tests per case (cpu, cpu scheduled, webgpu) on output `output` of `block`. */
  threeWays(block: string, output: string, cases: readonly Case[]): void {
    const errs = { cpu: [] as CloseReport[], webgpu: [] as CloseReport[] };
    afterAll(() =>
      this.report.push(`${block.padEnd(11)} cpu ${worst(errs.cpu)}   webgpu ${worst(errs.webgpu)}`),
    );
    const check = (data: Float32Array, c: Case, where: 'cpu' | 'webgpu') => {
      errs[where].push(assertAllClose(data, c.expected, TOL, `${where} ${output}`));
      for (const r of c.emptyRows)
        for (let i = 0; i < c.width; i++) expect(data[r * c.width + i]).toBe(0);
    };
    const onCpu = (p: Program, c: Case) => {
      const result = interpret(p, c.inputs, { params: c.params });
      if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('; '));
      check(result.outputs[output].data as Float32Array, c, 'cpu');
    };
    for (const c of cases) {
      test(`cpu ${c.label}`, () => onCpu(this.spec(block).program, c));
      test(`cpu scheduled ${c.label}`, () => onCpu(this.spec(block).scheduled, c));
      test(`webgpu ${c.label}`, async () => {
        const kernel = createKernel(await getTestDevice(), this.spec(block).wgsl);
        const result = await kernel.run(c.inputs, { params: c.params });
        kernel.destroy();
        if (!result.ok) throw new Error(result.message);
        check(result.outputs[output].data as Float32Array, c, 'webgpu');
      });
    }
  }
}
