/**
 * The README's API example (examples/api.ts) runs as a user would run it, through the package's
 * own name (`import ... from 'attn'`), and its CPU and WebGPU results agree.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

test('examples/api.ts runs and its two backends agree', async () => {
  const root = new URL('../../', import.meta.url);
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'examples/api.ts'],
    { cwd: root },
  );
  const match = /max abs difference (\S+)/.exec(stdout);
  expect(match, stdout).not.toBeNull();
  expect(Number(match![1])).toBeLessThan(1e-5);
});
