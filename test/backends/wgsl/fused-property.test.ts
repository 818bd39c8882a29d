/**
 * Property: the fused kernel agrees with the interpreter running the unscheduled program, for
 * random extents (1 included, most not multiples of the tile), random key and query tile sizes,
 * causal masks that leave whole rows empty (more queries than keys), and random split counts.
 */
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { compareWithInterpreter, compileBlock, extentsOf, inputsOf } from './fused-harness.ts';

const BLOCKS = [
  { file: 'stdlib/mha.attn', name: 'mha', heads: { H: 2 } },
  { file: 'stdlib/gqa.attn', name: 'gqa', heads: { HQ: 4, HK: 2 } },
  { file: 'stdlib/softcap.attn', name: 'softcap', heads: { HQ: 4, HK: 2 } },
  { file: 'stdlib/sliding_window.attn', name: 'sliding_window', heads: { HQ: 2, HK: 1 } },
  { file: 'stdlib/relpos_bias.attn', name: 'alibi', heads: { H: 2 } },
] as const;

test(
  'fused kernel = interpreter over random extents, tiles, masks and splits',
  { timeout: 600_000 },
  async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...BLOCKS),
        fc.record({
          p: fc.integer({ min: 1, max: 24 }),
          m: fc.integer({ min: 1, max: 48 }),
          e: fc.constantFrom(1, 3, 4, 8, 17),
          f: fc.constantFrom(1, 2, 4, 9),
          keyTile: fc.constantFrom(1, 3, 4, 8, 16),
          queryTile: fc.constantFrom(1, 2, 5, 8),
          splits: fc.integer({ min: 1, max: 4 }),
          causal: fc.boolean(),
          window: fc.integer({ min: 1, max: 20 }),
          seed: fc.nat(),
        }),
        async (block, { p, m, e, f, keyTile, queryTile, splits, causal, window, seed }) => {
          const spec = compileBlock(block, { tiles: { m: keyTile, p: queryTile } });
          const symbols = extentsOf(spec.program, { B: 1, P: p, M: m, E: e, F: f, ...block.heads });
          const has = (name: string) => spec.program.params.some((x) => x.name === name);
          const params = {
            ...(has('causal') ? { causal } : {}),
            ...(has('window') ? { window } : {}),
          };
          const r = await compareWithInterpreter(spec, inputsOf(spec.program, symbols, seed), {
            params,
            splits,
            label: `${block.name} P=${p} M=${m} E=${e} F=${f} tiles ${keyTile}/${queryTile} splits ${splits} causal=${causal} window=${window}`,
          });
          expect(r.fused.map((x) => x.mode)).toEqual(spec.wgsl.fused.map(() => 'fused'));
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 24), seed: Number(process.env.FUZZ_SEED ?? 4) },
    );
  },
);
