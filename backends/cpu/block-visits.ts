/**
 * How many key tiles a fused attention visits: for each fused group, the tile filter that
 * `block-sparsity` put on the running values is evaluated (by the CPU interpreter, so summary
 * tensors and params count) for every row and key tile; a block (query tile × key tile) is
 * visited when some row of the query tile passes, which is how the fused kernel decides. Used
 * by the tests and the benchmark to report visited / total blocks.
 */
import type { HostTensor } from '../../compiler/tensor.ts';
import type { IndexName, Program, TensorName } from '../../compiler/ir.ts';
import { literal, select } from '../../compiler/ir-make.ts';
import { fusedGroups } from '../../compiler/passes/fused-group.ts';
import { interpret } from './interpret.ts';

export interface BlockVisits {
  readonly output: TensorName;
  readonly visited: number;
  readonly total: number;
}

export function blockVisits(
  program: Program,
  inputs: Readonly<Record<string, HostTensor>>,
  params: Readonly<Record<string, number | boolean>> = {},
): BlockVisits[] {
  const out: BlockVisits[] = [];
  for (const g of fusedGroups(program).groups) {
    const [outer] = g.key;
    const rows = g.rows;
    const query =
      [...program.schedule.tiles].find((t) => rows.includes(t.index))?.index ??
      rows[rows.length - 1];
    const pTile = program.schedule.tiles.find((t) => t.index === query)?.size ?? 1;
    const target = '__visible' as TensorName;
    const filter = g.racc.filter;
    const probe: Program = {
      ...program,
      body: [
        ...program.body,
        {
          kind: 'equation',
          target,
          indices: [...rows, outer],
          reduce: null,
          filter: null,
          body: select(filter ?? { kind: 'bool', value: true }, literal(1), literal(0)),
          origin: program.origin,
        },
      ],
      outputs: [target],
    };
    const r = interpret(probe, inputs, { params });
    if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('; '));
    const t = r.outputs[target];
    const shape = t.shape;
    const qAxis = rows.indexOf(query as IndexName);
    const tiles = shape[rows.length];
    let visited = 0;
    let total = 0;
    // Every row index but the query is a separate problem (batch, head); the query is tiled.
    const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
    const outerCount = shape
      .slice(0, rows.length)
      .reduce((a, b, i) => (i === qAxis ? a : a * b), 1);
    for (let o = 0; o < outerCount; o++) {
      let rest = o;
      let base = 0;
      for (let i = rows.length - 1; i >= 0; i--) {
        if (i === qAxis) continue;
        base += (rest % shape[i]) * strides[i];
        rest = Math.floor(rest / shape[i]);
      }
      for (let p0 = 0; p0 < shape[qAxis]; p0 += pTile) {
        for (let m1 = 0; m1 < tiles; m1++) {
          total++;
          let any = false;
          for (let p = p0; p < Math.min(p0 + pTile, shape[qAxis]) && !any; p++)
            any = t.data[base + p * strides[qAxis] + m1] !== 0;
          if (any) visited++;
        }
      }
    }
    out.push({ output: g.output.target, visited, total });
  }
  return out;
}
