/**
 * Keeps only what some outputs need: the statements they depend on. Inputs all stay (they bind
 * the extents, and a caller passes the same inputs whatever it asks for).
 * A spec may list many outputs (the ONNX spec lists every `qk_matmul_output` mode); a caller
 * that wants fewer asks for them, and the rest of the cascade is never computed.
 */
import type { Program, TensorName } from './ir.ts';
import { statementReads } from './ir-walk.ts';

export function selectOutputs(program: Program, outputs: readonly string[]): Program {
  const unknown = outputs.filter((o) => !program.outputs.includes(o as TensorName));
  if (unknown.length > 0)
    throw new RangeError(
      `\`${program.name}\` has no output ${unknown.map((u) => `\`${u}\``).join(', ')}; its outputs are ${program.outputs.join(', ')}`,
    );
  const needed = new Set<string>(outputs);
  for (const s of [...program.body].reverse()) {
    if (!needed.has(s.target)) continue;
    for (const t of statementReads(s)) needed.add(t);
  }
  const body = program.body.filter((s) => needed.has(s.target));
  if (body.length === program.body.length && outputs.length === program.outputs.length)
    return program;
  return {
    ...program,
    body,
    outputs: program.outputs.filter((o) => outputs.includes(o)),
  };
}
