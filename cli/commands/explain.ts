/**
 * `attnc explain`: the IR after the optimizer's passes (or after one of them) as `.attn` text,
 * with `#` comments saying what each pass did or why it did not apply, and the kernels the IR
 * compiles to. The whole output is still a spec that checks to the same IR.
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
import { PASS_HELP, PASS_OPTIONS, passesUpTo, pipelineOptions } from '../passes.ts';
import { loadSpecs } from '../spec.ts';

/** `#` lines: what each pass did, or why it did not apply. */
export function passSummary(spec: CompiledSpec): string[] {
  if (spec.notes.length === 0) return [`# ${spec.name}: passes: none (unfused)`];
  const width = Math.max(...spec.notes.map((n) => n.pass.length));
  return [
    `# ${spec.name}: passes`,
    ...spec.notes.map(
      (n) => `#   ${n.pass.padEnd(width)}  ${n.applied ? 'applied' : 'skipped'}: ${n.message}`,
    ),
  ];
}

/** `#` lines: the kernels in dispatch order. */
export function kernelSummary(spec: CompiledSpec): string[] {
  const { manifest } = spec.wgsl;
  const count = manifest.kernels.length;
  const lines = [
    `# ${spec.name}: ${count} WGSL kernel${count === 1 ? '' : 's'}, in dispatch order:`,
  ];
  const width = Math.max(...manifest.kernels.map((k) => k.name.length));
  for (const k of manifest.kernels) {
    const statement = spec.scheduled.body[k.statement];
    const reads = k.bindings
      .filter((b) => b.kind === 'storage' && b.access === 'read')
      .map((b) => b.tensor);
    // Tensors written besides the statement's own (a fused group's log-sum-exp); split-KV
    // partials (`O#acc`) are the kernel's own business.
    const writes = k.bindings
      .filter((b) => b.kind === 'storage' && b.access === 'read_write')
      .map((b) => b.tensor)
      .filter(
        (t): t is NonNullable<typeof t> => !!t && t !== statement?.target && !t.includes('#'),
      );
    const invocations = printAffine(k.dispatch.invocations);
    lines.push(
      `#   ${k.name.padEnd(width)}  ${statement ? `${statement.target}[${statement.indices.join(', ')}]` : k.name}: ` +
        `${invocations} invocations, workgroup size ${k.workgroupSize[0]}` +
        (reads.length > 0 ? `, reads ${reads.join(', ')}` : '') +
        (writes.length > 0 ? `, also writes ${writes.join(', ')}` : ''),
    );
  }
  return lines;
}

export const explainCommand: Command = {
  name: 'explain',
  summary: 'print the IR after the passes as .attn, with what each pass did and the kernels',
  help: `Usage: attnc explain SPEC [--attention NAME] [--after PASS] [optimizer options]

Prints each attention block of SPEC (or the one named) as the compiler sees it after the
optimizer's passes: macros expanded, reductions explicit, extents learnt from subscripts shown
as consts (const M = N), tiled indices, the fused 1-pass cascade and the schedule block. Before
each block, # comment lines say what each pass did or why it did not apply, and list the WGSL
kernels the block compiles to, in dispatch order. The output is itself a valid .attn file that
checks to the same IR.

Options:
  --attention NAME     explain only this block
  --after PASS         stop after this pass (the passes before it run as usual)

${PASS_HELP}

Exit codes: 0 ok, 2 bad spec or arguments, 70 internal compiler error.

${COMMON_HELP}`,
  options: {
    ...COMMON_OPTIONS,
    ...PASS_OPTIONS,
    attention: { type: 'string' },
    after: { type: 'string' },
  },
  async run({ values, positionals, json }, io) {
    if (positionals.length !== 1) throw new UsageError('explain expects one SPEC file');
    const after = stringOption(values, 'after');
    const pipeline = pipelineOptions(values);
    const loaded = await loadSpecs(positionals[0], io, json, {
      ...(after ? passesUpTo(after, pipeline) : pipeline),
      attention: stringOption(values, 'attention'),
    });
    const blocks = loaded.specs.map((spec) =>
      [...passSummary(spec), ...kernelSummary(spec), printProgram(spec.scheduled)].join('\n'),
    );
    io.out(blocks.join('\n'));
    return EXIT.ok;
  },
};
