/**
 * `attnc fmt`: formats `.attn` files (`grammar/format.ts` has the rules).
 */
import { writeFile } from 'node:fs/promises';
import { createSourceFile } from '../../index.ts';
import { formatSource } from '../../grammar/format.ts';
import { COMMON_HELP, COMMON_OPTIONS, EXIT, UsageError, type Command } from '../command.ts';
import { printDiagnostics, readText } from '../spec.ts';

export const fmtCommand: Command = {
  name: 'fmt',
  summary: 'format .attn files',
  help: `Usage: attnc fmt SPEC... [--check | --write]

Formats .attn files: 2 spaces inside blocks, one item per line, one space around binary
operators and =, ", " in lists, three spaces before a where on the equation's line, one blank
line between blocks. Continuation lines are indented 4, plus 2 per bracket left open by an
earlier continuation line, plus 2 before a leading operator; a filter on its own line aligns
after "where ". Line breaks inside an item, every comment and single blank lines between items
are kept, and the meaning never changes. SPEC - reads standard input.

By default the formatted text is printed on stdout.

Options:
  --check     print the files that are not formatted and exit 1 if there are any
  --write     rewrite the files in place

Exit codes: 0 ok (or, with --check, nothing to reformat), 1 --check found files to reformat,
2 a file has syntax errors or cannot be read, 70 internal compiler error.

${COMMON_HELP}`,
  options: { ...COMMON_OPTIONS, check: { type: 'boolean' }, write: { type: 'boolean' } },
  async run({ values, positionals, json }, io) {
    if (positionals.length === 0) throw new UsageError('fmt expects at least one SPEC file');
    if (values.check && values.write)
      throw new UsageError('--check and --write exclude each other');
    let status: number = EXIT.ok;
    for (const path of positionals) {
      const stdin = path === '-';
      const text = stdin ? await io.readStdin() : await readText(path);
      const name = stdin ? '<stdin>' : path;
      const result = formatSource(text, name);
      if (!result.ok) {
        printDiagnostics(io, result.diagnostics, createSourceFile(name, text), json);
        status = EXIT.usage;
        continue;
      }
      if (values.check) {
        if (result.text !== text) {
          io.out(`${name}: not formatted\n`);
          if (status === EXIT.ok) status = EXIT.failed;
        }
      } else if (values.write && !stdin) {
        if (result.text !== text) {
          await writeFile(path, result.text);
          io.out(`formatted ${path}\n`);
        }
      } else {
        io.out(result.text);
      }
    }
    return status;
  },
};
