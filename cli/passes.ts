/**
 * Command-line control of the optimizer: `--passes tile,fuse` (or `none`), `--no-PASS` for each
 * pass, and `--tile m=32` to choose tile sizes (overriding the spec's `schedule` block). Every
 * command that compiles takes these.
 */
import { PASS_NAMES, type CompileOptions, type PassName } from '../index.ts';
import { keyValues, stringList, stringOption, UsageError, type OptionValues } from './command.ts';

export const PASS_OPTIONS = {
  passes: { type: 'string' },
  tile: { type: 'string', multiple: true },
  ...Object.fromEntries(PASS_NAMES.map((name) => [`no-${name}`, { type: 'boolean' }])),
} as const;

export const PASS_HELP = `Optimizer options:
  --passes LIST        run only these passes, in pipeline order (${PASS_NAMES.join(', ')}),
                       or \`none\` for the unfused cascade (one kernel per statement)
  --no-PASS            skip one pass (e.g. --no-head-grouping, --no-split-kv)
  --tile INDEX=SIZE    tile size of an index (e.g. --tile m=32 --tile p=16); wins over the
                       spec's schedule block`;

export type PipelineOptions = Pick<CompileOptions, 'passes' | 'tiles'>;

function passList(text: string): PassName[] {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  for (const n of names) {
    if (!(PASS_NAMES as readonly string[]).includes(n))
      throw new UsageError(`unknown pass \`${n}\`; the passes are ${PASS_NAMES.join(', ')}`);
  }
  return names as PassName[];
}

export function pipelineOptions(values: OptionValues): PipelineOptions {
  const listed = stringOption(values, 'passes');
  const skip = PASS_NAMES.filter((name) => values[`no-${name}`] === true);
  const tiles: Record<string, number> = {};
  for (const [index, size] of keyValues(stringList(values, 'tile'), 'tile', true)) {
    const n = Number(size);
    if (!Number.isInteger(n) || n < 1 || n > 1024)
      throw new UsageError(`--tile ${index}: \`${size}\` is not an integer from 1 to 1024`);
    tiles[index] = n;
  }
  if (listed === 'none') {
    if (skip.length > 0) throw new UsageError('--passes none and --no-PASS together');
    return { passes: 'none', tiles };
  }
  return { passes: { ...(listed !== undefined ? { only: passList(listed) } : {}), skip }, tiles };
}

/** The passes up to and including `after` (for `explain --after`), minus skipped ones. */
export function passesUpTo(after: string, options: PipelineOptions): PipelineOptions {
  const [name] = passList(after);
  const upTo = PASS_NAMES.slice(0, PASS_NAMES.indexOf(name) + 1);
  const passes = options.passes === 'none' ? { only: [] } : (options.passes ?? {});
  const only = upTo.filter(
    (p) => (!passes.only || passes.only.includes(p)) && !passes.skip?.includes(p),
  );
  return { ...options, passes: { only } };
}
