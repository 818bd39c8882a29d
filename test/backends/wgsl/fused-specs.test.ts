/**
 * Every attention block of stdlib/ and examples/, compiled with the optimizer's passes, on Dawn
 * against the CPU interpreter running the block as written. Three shapes per block: extents of
 * 17 (no multiple of any tile size), a decode step (one query, many keys, small key tiles, the
 * key range split in three so the partials and the merge kernel run), and more queries than keys
 * (bottom-right causal rows that see no key). Every fused group must run as one kernel.
 * A fourth run has head sizes of 8, which the kernels load as whole vec4s where they read an
 * input plainly (fused-spec.ts `vectorLoads`), and stages the keys in registers shared by
 * subgroup broadcasts (`staging`), which the default choice takes only at head sizes of 64 on a
 * software device.
 */
import { describe, expect, it } from 'vitest';
import { extentName, type Program } from '../../../compiler/ir.ts';
import {
  allBlocks,
  compareWithInterpreter,
  compileBlock,
  extentsOf,
  freeExtents,
  fusedExtents,
  inputsOf,
  tiledKey,
} from './fused-harness.ts';
import { fusedLimits } from '../../../backends/wgsl/runtime.ts';
import { getTestDevice } from '../../helpers/gpu.ts';

const T = { timeout: 180_000 };

/**
 * One query and 40 keys; where one query makes a derived extent empty (a pooled query axis of
 * `P / 2`), the fewest queries that keep every const at least 1.
 */
function decodeExtents(
  program: Program,
  query: string | null,
  key: string | null,
): Map<string, number> {
  for (let q = 1; ; q *= 2) {
    const chosen: Record<string, number> = {};
    if (query) chosen[query] = q;
    if (key) chosen[key] = 40;
    const symbols = extentsOf(program, chosen);
    if (program.consts.every((c) => c.type !== 'i32' || (symbols.get(c.name) ?? 1) >= 1) || q >= 64)
      return symbols;
  }
}

const blocks = allBlocks();

describe.each(blocks.map((b) => [`${b.file} · ${b.name}`, b] as const))('%s', (_label, block) => {
  it('extents of 17', T, async () => {
    const spec = compileBlock(block);
    const symbols = extentsOf(spec.program);
    const r = await compareWithInterpreter(spec, inputsOf(spec.program, symbols, 1));
    expect(r.fused.map((f) => f.mode)).toEqual(spec.wgsl.fused.map(() => 'fused'));
  });

  it('a decode step, split in three', T, async () => {
    const first = compileBlock(block);
    const ext = fusedExtents(first);
    const key = tiledKey(first);
    const spec = key ? compileBlock(block, { tiles: { [key]: 8 } }) : first;
    const symbols = decodeExtents(spec.program, ext?.query ?? null, ext?.key ?? null);
    const r = await compareWithInterpreter(spec, inputsOf(spec.program, symbols, 2), { splits: 3 });
    const tiles = extentsOf(spec.scheduled, Object.fromEntries(symbols));
    spec.wgsl.fused.forEach((f, i) => {
      expect(r.fused[i].mode).toBe('fused');
      if (f.static.split)
        expect(r.fused[i].splits).toBe(Math.min(3, tiles.get(extentName(f.static.key[0]))!));
    });
  });

  it('head sizes of 8, subgroup staging: whole vec4s shared by broadcast', T, async () => {
    const device = await getTestDevice();
    // lavapipe, the test device, has subgroups of one fixed size; an adapter without them
    // cannot run this case, and must not pass it unnoticed.
    expect(fusedLimits(device).subgroupSize, 'a fixed subgroup size').toBeDefined();
    const spec = compileBlock(block);
    const ext = fusedExtents(spec);
    const everywhere = (e: string) =>
      spec.program.inputs.every((i) => i.indices.some((x) => extentName(x) === e));
    // 8 for the extents other than the query, the key and the batch-like ones.
    const chosen = Object.fromEntries(
      freeExtents(spec.program)
        .filter((e) => e !== ext?.query && e !== ext?.key && !everywhere(e))
        .map((e) => [e, 8]),
    );
    const symbols = extentsOf(spec.program, chosen);
    // Query tiles of 8: one subgroup of 8 lanes with one row each per head of the group, which
    // keeps the kernels (and llvmpipe's compile time) small.
    const r = await compareWithInterpreter(spec, inputsOf(spec.program, symbols, 4), {
      device,
      tune: { staging: 'subgroup', queryTile: 8 },
    });
    expect(r.fused.map((f) => [f.mode, f.spec?.staging])).toEqual(
      spec.wgsl.fused.map(() => ['fused', 'subgroup']),
    );
  });

  it('more queries than keys', T, async () => {
    const first = compileBlock(block);
    const ext = fusedExtents(first);
    const chosen: Record<string, number> = {};
    if (ext) chosen[ext.query] = 9;
    if (ext?.key) chosen[ext.key] = 4;
    const symbols = extentsOf(first.program, chosen);
    await compareWithInterpreter(first, inputsOf(first.program, symbols, 3));
  });
});
