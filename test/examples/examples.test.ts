/**
 * Every runnable example in examples/ runs the way its header says (`npx tsx examples/X.ts`)
 * and exits 0; each checks its own results (WebGPU against the interpreter, and against a
 * formula evaluated in the script) and exits 1 when they disagree.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

const root = new URL('../../', import.meta.url);
const scripts = readdirSync(new URL('examples/', root)).filter(
  (f) => f.endsWith('.ts') && f !== 'api.ts',
);

test.each(scripts)('examples/%s', async (script) => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', `examples/${script}`],
    { cwd: root },
  );
  expect(stdout).toMatch(/^OK: /m);
});
