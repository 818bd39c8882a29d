/**
 * Register blocking at real head sizes (E = F = 64): on a software device each invocation holds
 * up to 8 rows (fused-spec.ts SOFTWARE_ROWS_PER_INVOCATION), the other extents' tests stay
 * below the blocking range. Ragged query and key extents, causal rows that see no key. There the
 * chunks are staged in registers shared by subgroup broadcasts; one case keeps workgroup memory.
 */
import { describe, expect, it } from 'vitest';
import { getTestDevice } from '../../helpers/gpu.ts';
import { compareWithInterpreter, compileBlock, extentsOf, inputsOf } from './fused-harness.ts';

const BLOCKS = [
  { file: 'stdlib/mha.attn', name: 'mha', heads: { H: 2 } },
  { file: 'stdlib/gqa.attn', name: 'gqa', heads: { HQ: 8, HK: 2 } },
  { file: 'stdlib/softcap.attn', name: 'softcap', heads: { HQ: 4, HK: 1 } },
] as const;

describe.each(BLOCKS)('$name, E = F = 64', (block) => {
  it.each([
    { p: 70, m: 45, causal: true },
    { p: 33, m: 90, causal: false },
  ])('P = $p, M = $m, causal $causal', { timeout: 300_000 }, async ({ p, m, causal }) => {
    const device = await getTestDevice();
    const spec = compileBlock(block);
    const symbols = extentsOf(spec.program, { B: 1, P: p, M: m, E: 64, F: 64, ...block.heads });
    const has = (name: string) => spec.program.params.some((x) => x.name === name);
    const r = await compareWithInterpreter(spec, inputsOf(spec.program, symbols, p), {
      params: has('causal') ? { causal } : {},
      device,
    });
    expect(r.fused[0].mode).toBe('fused');
    if (device.adapterInfo?.architecture === 'software') {
      expect(r.fused[0].spec!.perInvocation).toBeGreaterThan(2);
      expect(r.fused[0].spec!.staging).toBe('subgroup');
    }
  });
});

it('mha, E = F = 64, the same rows with workgroup staging', { timeout: 300_000 }, async () => {
  const block = BLOCKS[0];
  const spec = compileBlock(block);
  const symbols = extentsOf(spec.program, { B: 1, P: 70, M: 45, E: 64, F: 64, ...block.heads });
  const r = await compareWithInterpreter(spec, inputsOf(spec.program, symbols, 70), {
    params: { causal: true },
    tune: { staging: 'workgroup' },
  });
  expect(r.fused[0].spec!.staging).toBe('workgroup');
});
