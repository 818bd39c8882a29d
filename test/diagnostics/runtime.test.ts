/**
 * Run-time diagnostics: a checked spec called badly (STYLE §2.6 item 1, for the codes no source
 * text can trigger). Each case makes one mistake and must get exactly one diagnostic, with the
 * catalogue's code and a message naming what is wrong; the cases live in `runtime-cases.ts`.
 */
import { describe, expect, it } from 'vitest';
import { RUNTIME_CASES } from './runtime-cases.ts';

describe('run-time diagnostics', () => {
  for (const c of RUNTIME_CASES) {
    it(`${c.code}: ${c.title}`, async () => {
      const diagnostics = await c.run();
      expect(diagnostics.map((d) => ({ code: d.code, message: d.message }))).toEqual([
        { code: c.code, message: c.message },
      ]);
      // Run-time diagnostics point at the declaration the call violates, in the spec's file.
      expect(diagnostics[0].span.file).toBe('runtime.attn');
    });
  }
});
