/**
 * `attnc compile`: writes the WGSL kernels and the manifest of each attention block.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  EXIT,
  stringOption,
  UsageError,
  type Command,
} from '../command.ts';
import { loadSpecs } from '../spec.ts';
import { PASS_HELP, PASS_OPTIONS, pipelineOptions } from '../passes.ts';

export const compileCommand: Command = {
  name: 'compile',
  summary: 'write the WGSL kernels and manifest.json of a spec',
  help: `Usage: attnc compile SPEC -o DIR [--attention NAME] [--out NAME,...] [--f16]

Compiles SPEC (an .attn file) and writes, for each attention block, one WGSL file per kernel
(named as in the manifest, e.g. k0_S.wgsl) and manifest.json: bindings, buffers, uniforms and
dispatch formulas, everything a WebGPU runtime needs besides the WGSL. A file with one block
(or one chosen with --attention) is written into DIR itself; a file with several blocks gets
one subfolder per block, DIR/NAME/. Prints the paths it wrote.

Options:
  -o, --output DIR     where to write (created if missing)
  --attention NAME     compile only this block
  --out NAME,...       compute only these outputs (and what they need)
  --f16                keep f16 inputs as f16 on the GPU (needs the shader-f16 feature)

Exit codes: 0 ok, 2 bad spec or arguments, 70 internal compiler error.

${PASS_HELP}

${COMMON_HELP}`,
  options: {
    ...PASS_OPTIONS,
    ...COMMON_OPTIONS,
    output: { type: 'string', short: 'o' },
    attention: { type: 'string' },
    out: { type: 'string', multiple: true },
    f16: { type: 'boolean' },
  },
  async run({ values, positionals, json }, io) {
    if (positionals.length !== 1) throw new UsageError('compile expects one SPEC file');
    const dir = stringOption(values, 'output');
    if (dir === undefined) throw new UsageError('compile needs -o DIR');
    const outputs = ((values.out as string[] | undefined) ?? []).flatMap((o) => o.split(','));
    const loaded = await loadSpecs(positionals[0], io, json, {
      ...pipelineOptions(values),
      attention: stringOption(values, 'attention'),
      outputs: outputs.length > 0 ? outputs : undefined,
      f16: values.f16 === true,
    });
    const nested = loaded.specs.length > 1;
    for (const spec of loaded.specs) {
      const folder = nested ? join(dir, spec.name) : dir;
      await mkdir(folder, { recursive: true });
      const files: [string, string][] = [
        ...spec.wgsl.kernels.map((k): [string, string] => [k.file, k.wgsl]),
        ['manifest.json', `${JSON.stringify(spec.wgsl.manifest, null, 2)}\n`],
      ];
      for (const [name, text] of files) {
        const path = join(folder, name);
        await writeFile(path, text);
        io.out(`wrote ${path}\n`);
      }
    }
    return EXIT.ok;
  },
};
