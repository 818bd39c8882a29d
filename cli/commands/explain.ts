/**
 * `attnc explain`: the checked IR as `.attn` text, with what the WGSL backend makes of it as
 * `#` comments, so the whole output is still a spec that checks to the same IR.
 */
import { printProgram, type CompiledSpec } from '../../index.ts';
// Not in the public API: dispatch sizes are affine formulas over the extents.
import { printAffine } from '../../compiler/ir-print.ts';
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  EXIT,
  stringOption,
  UsageError,
  type Command,
} from '../command.ts';
import { loadSpecs } from '../spec.ts';

/** The `#` lines about one block: its kernels in dispatch order, then the passes. */
export function kernelSummary(spec: CompiledSpec): string[] {
  const { manifest } = spec.wgsl;
  const count = manifest.kernels.length;
  const lines = [
    `# ${spec.name}: ${count} WGSL kernel${count === 1 ? '' : 's'}, dispatched in this order (one per statement):`,
  ];
  const width = Math.max(...manifest.kernels.map((k) => k.name.length));
  for (const k of manifest.kernels) {
    const statement = spec.program.body[k.statement];
    const reads = k.bindings
      .filter((b) => b.kind === 'storage' && b.access === 'read')
      .map((b) => b.tensor);
    const invocations = printAffine(k.dispatch.invocations);
    lines.push(
      `#   ${k.name.padEnd(width)}  ${statement.target}[${statement.indices.join(', ')}]: ` +
        `${invocations} invocations, workgroup size ${k.workgroupSize[0]}` +
        (reads.length > 0 ? `, reads ${reads.join(', ')}` : ''),
    );
  }
  // Optimisation passes (tiling, fusion, ...) will report what they did here.
  lines.push('# Passes: none (no optimisation passes exist yet; their notes will be listed here).');
  return lines;
}

export const explainCommand: Command = {
  name: 'explain',
  summary: 'print the checked IR as .attn, with the kernels it compiles to',
  help: `Usage: attnc explain SPEC [--attention NAME]

Prints each attention block of SPEC (or the one named) as the compiler sees it after checking:
macros expanded, reductions explicit, extents learnt from subscripts shown as consts
(const M = N). Before each block, # comment lines list the WGSL kernels it compiles to, in
dispatch order, with their dispatch size and the tensors they read, and the optimisation passes
that ran. The output is itself a valid .attn file that checks to the same IR.

Options:
  --attention NAME     explain only this block

Exit codes: 0 ok, 2 bad spec or arguments, 70 internal compiler error.

${COMMON_HELP}`,
  options: { ...COMMON_OPTIONS, attention: { type: 'string' } },
  async run({ values, positionals, json }, io) {
    if (positionals.length !== 1) throw new UsageError('explain expects one SPEC file');
    const loaded = await loadSpecs(positionals[0], io, json, {
      attention: stringOption(values, 'attention'),
    });
    const blocks = loaded.specs.map(
      (spec) => `${kernelSummary(spec).join('\n')}\n${printProgram(spec.program)}`,
    );
    io.out(blocks.join('\n'));
    return EXIT.ok;
  },
};
