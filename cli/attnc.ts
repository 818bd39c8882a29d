/**
 * `attnc`: the command line of attn. This file parses arguments, dispatches to a command in
 * `commands/`, and maps what happens to an exit code (STYLE.md §2.5):
 *
 *   0 ok · 1 a check failed · 2 bad spec, inputs or usage · 69 no WebGPU adapter ·
 *   70 internal compiler error (an `InternalError`, or any other unexpected exception)
 *
 * User errors never print a stack trace. Run as `node bin/attnc.js`, `npx attnc` or
 * `tsx cli/attnc.ts`; tests call `runCli` in-process with their own `Io`.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { InternalError } from '../index.ts';
import { EXIT, UnavailableError, UsageError, type Command, type Io } from './command.ts';
import { benchCommand } from './commands/bench.ts';
import { checkCommand } from './commands/check.ts';
import { compileCommand } from './commands/compile.ts';
import { explainCommand } from './commands/explain.ts';
import { fmtCommand } from './commands/fmt.ts';
import { runCommand } from './commands/run.ts';
import { ReportedError } from './spec.ts';

export const COMMANDS: readonly Command[] = [
  compileCommand,
  runCommand,
  checkCommand,
  explainCommand,
  benchCommand,
  fmtCommand,
];

export function mainHelp(): string {
  const rows = [
    ...COMMANDS.map((c) => [c.name, c.summary]),
    ['help [COMMAND]', "show this help, or a command's"],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  const list = rows.map(([name, summary]) => `  ${name.padEnd(width)}  ${summary}`).join('\n');
  return `Usage: attnc COMMAND [options]

attn compiles attention variants written as Einsum cascades (.attn files) to WGSL kernels, and
runs them on a reference CPU interpreter or a WebGPU device.

Commands:
${list}

Run \`attnc COMMAND --help\` for a command's options.

Exit codes: 0 ok, 1 a check failed, 2 bad spec, inputs or usage, 69 no WebGPU adapter,
70 internal compiler error.
Environment: ATTN_WEBGPU_BACKEND=vulkan|opengles (the Dawn backend, default vulkan),
NO_COLOR (no colours in diagnostics), ATTN_BACKTRACE=1 (stack traces of internal errors).
`;
}

function usageError(io: Io, message: string, command?: Command, help = true): number {
  const name = command ? `attnc ${command.name} --help` : 'attnc --help';
  io.err(`attnc: error: ${message}\n${help ? `(see \`${name}\`)\n` : ''}`);
  return EXIT.usage;
}

/** Our bug: say so, name the phase, ask for a report; the stack only on request. */
function internalError(io: Io, error: unknown): number {
  const phase = error instanceof InternalError && error.phase ? ` (in ${error.phase})` : '';
  const message = error instanceof Error ? error.message : String(error);
  io.err(
    `attnc: internal compiler error${phase}: ${message}\n` +
      'This is a bug in attn, not in your spec. Please report it to the attn maintainers,\n' +
      'with the spec and the command line that caused it.\n',
  );
  if (io.env.ATTN_BACKTRACE === '1' && error instanceof Error && error.stack)
    io.err(`${error.stack}\n`);
  else io.err('(set ATTN_BACKTRACE=1 to print the stack trace)\n');
  return EXIT.internal;
}

export async function runCli(
  argv: readonly string[],
  io: Io,
  commands: readonly Command[] = COMMANDS,
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err(mainHelp());
    return EXIT.usage;
  }
  if (name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    io.out(mainHelp());
    return EXIT.ok;
  }
  const lookup = name === 'help' ? rest[0] : name;
  const command = commands.find((c) => c.name === lookup);
  if (!command) return usageError(io, `unknown command \`${lookup}\``);
  if (name === 'help') {
    io.out(`${command.help}\n`);
    return EXIT.ok;
  }

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...rest],
      options: command.options,
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    if (e instanceof Error && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))
      return usageError(io, e.message, command);
    return internalError(io, e);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(`${command.help}\n`);
    return EXIT.ok;
  }
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json')
    return usageError(io, `--format must be text or json, got \`${String(format)}\``, command);

  try {
    return await command.run({ values, positionals, json: format === 'json' }, io);
  } catch (e) {
    if (e instanceof ReportedError) return e.code;
    if (e instanceof UsageError) return usageError(io, e.message, command, e.help);
    if (e instanceof UnavailableError) {
      io.err(`attnc: ${e.message}\n`);
      return EXIT.unavailable;
    }
    return internalError(io, e);
  }
}

/** Colours only for a terminal, and never when `NO_COLOR` is set to anything but ''. */
export function useColor(
  isTTY: boolean | undefined,
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  return isTTY === true && (env.NO_COLOR ?? '') === '';
}

export function processIo(): Io {
  // `attnc explain x.attn | head`: a closed pipe ends the output, it is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(EXIT.ok);
    throw e;
  });
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    color: useColor(process.stderr.isTTY, process.env),
    env: process.env,
    async readStdin() {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}

/**
 * Runs the CLI and exits. `process.exit` rather than waiting for the event loop to drain: a
 * Dawn device keeps native handles alive after the work is done.
 */
export async function main(): Promise<never> {
  const code = await runCli(process.argv.slice(2), processIo());
  process.exit(code);
}

// `tsx cli/attnc.ts ...` runs this file directly; `bin/attnc.js` imports it and calls `main`.
const entry = process.argv[1] && realpathSync(process.argv[1]);
if (entry === fileURLToPath(import.meta.url)) await main();
