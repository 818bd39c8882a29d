/**
 * What every `attnc` subcommand is made of, and the errors that map to exit codes. A command
 * declares its options for `node:util` `parseArgs`; `attnc.ts` parses, prints `--help`, runs it
 * and turns what it throws into an exit code.
 */
import type { ParseArgsConfig } from 'node:util';

/** Exit codes (STYLE.md §2.5; 69 and 70 are sysexits' EX_UNAVAILABLE and EX_SOFTWARE). */
export const EXIT = {
  ok: 0,
  /** A check failed: a GPU/CPU mismatch, or `fmt --check` found a file to reformat. */
  failed: 1,
  /** A bad spec, bad inputs or a bad command line. */
  usage: 2,
  /** No WebGPU adapter: the environment, not the spec, is the problem. */
  unavailable: 69,
  /** A bug in attn. */
  internal: 70,
} as const;

/** Where a command writes, and what it may know about its terminal. */
export interface Io {
  /** Results: written as given (callers end lines with `\n`). */
  out(text: string): void;
  /** Diagnostics and messages. */
  err(text: string): void;
  /** Whether stderr may use ANSI colours (a TTY, and `NO_COLOR` unset or empty). */
  readonly color: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  readStdin(): Promise<string>;
}

export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface ParsedCommand {
  readonly values: OptionValues;
  readonly positionals: readonly string[];
  /** `--format json`: diagnostics as JSON instead of text. */
  readonly json: boolean;
}

export interface Command {
  readonly name: string;
  /** One line for `attnc --help`. */
  readonly summary: string;
  /** The full `attnc NAME --help` text. */
  readonly help: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  run(args: ParsedCommand, io: Io): Promise<number>;
}

/**
 * A bad command line or unreadable input: printed as `attnc: error: ...`, exit 2, with a pointer
 * to `--help` unless `help` is false (a missing file is not a question of syntax).
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly help = true,
  ) {
    super(message);
  }
}

/** No WebGPU adapter could be created: exit 69. */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
}

/** Options every command accepts. */
export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  format: { type: 'string' },
} as const;

export const COMMON_HELP = `Common options:
  --format text|json   how diagnostics are printed on stderr (default text; json is one
                       object {"diagnostics": [...]} with 1-based line/column added)
  -h, --help           show this help`;

export function stringOption(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function stringList(values: OptionValues, name: string): string[] {
  const v = values[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
}

/**
 * `NAME=VALUE` pairs (`--in Q=q.npy`, `--set cap=30`), names unique. With `commas`, one entry
 * may hold several (`--dims b=1,p=33`); file names keep their commas.
 */
export function keyValues(
  entries: readonly string[],
  option: string,
  commas = false,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of commas ? entries.flatMap((e) => e.split(',')) : entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0 || eq === entry.length - 1)
      throw new UsageError(`--${option} expects NAME=VALUE, got \`${entry}\``);
    const name = entry.slice(0, eq).trim();
    if (out.has(name)) throw new UsageError(`--${option} gives \`${name}\` twice`);
    out.set(name, entry.slice(eq + 1).trim());
  }
  return out;
}

/** A positive integer option (`--runs 5`), or the default. */
export function intOption(
  values: OptionValues,
  name: string,
  fallback: number,
  min: number,
): number {
  const text = stringOption(values, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} expects an integer >= ${min}, got \`${text}\``);
  return n;
}
