/**
 * The fused kernel's promise, read off the manifest: a softmax attention runs as one dispatch
 * (plus the merge kernel when it splits) and no buffer of L × S elements exists. The same spec
 * compiled without the passes is the control: it has the score buffers the fused path removes.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { evaluateAffine } from '../../../compiler/affine.ts';
import { compile, type CompiledSpec } from '../../../index.ts';
import { extentsOf } from './fused-harness.ts';

const SHAPE = { B: 1, H: 8, HQ: 8, HK: 2, P: 2048, M: 2048, E: 64, F: 64 };

function compiled(file: string, passes?: 'none'): CompiledSpec {
  const text = readFileSync(new URL(`../../../${file}`, import.meta.url), 'utf8');
  const r = compile(text, { fileName: file, ...(passes ? { passes } : {}) });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('; '));
  return r.specs[0];
}

/**
 * Elements of every buffer the manifest allocates at SHAPE. Split-KV partials are sized by the
 * split count, which the runtime keeps at 1 (parts 0) unless the queries are few
 * (`fused-spec.ts` chooseSplits), as they are not at L = 2048.
 */
function bufferElements(spec: CompiledSpec): Map<string, number> {
  const symbols = extentsOf(spec.scheduled, SHAPE);
  const elements = new Map<string, number>();
  for (const b of spec.wgsl.manifest.buffers) {
    const n = evaluateAffine(b.elements, {
      index: () => NaN,
      read: () => undefined,
      symbol: (name) => symbols.get(name) ?? (name.endsWith('#parts') ? 0 : NaN),
    });
    elements.set(b.tensor, n ?? NaN);
  }
  return elements;
}

describe.each(['stdlib/mha.attn', 'stdlib/softcap.attn', 'stdlib/sliding_window.attn'])(
  '%s',
  (file) => {
    const scores = SHAPE.P * SHAPE.M;

    test('fused: one attention kernel, no buffer of L × S elements', () => {
      const spec = compiled(file);
      const attention = spec.wgsl.manifest.kernels.filter((k) => k.fused?.role === 'attention');
      expect(attention).toHaveLength(1);
      expect(spec.wgsl.manifest.kernels.filter((k) => !k.fused)).toHaveLength(0);
      const elements = bufferElements(spec);
      for (const [tensor, n] of elements) {
        expect(Number.isFinite(n), `${tensor} has a size`).toBe(true);
        expect(n, `${tensor}: ${n} elements`).toBeLessThan(scores);
      }
    });

    test('unfused (no passes): the score matrix is materialised', () => {
      const elements = bufferElements(compiled(file, 'none'));
      expect(Math.max(...elements.values())).toBeGreaterThanOrEqual(SHAPE.B * SHAPE.H * scores);
    });
  },
);
