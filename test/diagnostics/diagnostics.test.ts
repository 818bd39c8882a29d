/**
 * The diagnostics suite (STYLE §2.6 item 1). Every compile-time code has a failing spec in
 * `cases/<CODE>-<slug>.attn` whose expected diagnostics are written by hand in `#!` lines
 * (`expectations.ts`); a code may have more than one case, for situations that used to cascade
 * or got a poor message. Two layers:
 *  1. the set of (code, line, column) the compiler reports equals the file's expectations
 *     exactly, warnings included, so each case also proves there is no cascade;
 *  2. the fully rendered text matches `cases/<CODE>-<slug>.txt`, reviewed by a person: the
 *     message, caret span and hint must read well to a user (`vitest -u` accepts changes).
 * Then: every code of the catalogue is covered, here or in `runtime.test.ts`, and
 * `docs/errors.md` documents exactly the catalogue's codes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkSource } from '../../compiler/front-end.ts';
import { formatDiagnostics, MESSAGES, positionOf } from '../../compiler/diagnostics/index.ts';
import { key, parseExpectations } from './expectations.ts';
import { RUNTIME_CASES, RUNTIME_SPEC } from './runtime-cases.ts';

const CASES_DIR = new URL('./cases/', import.meta.url);
const CASES = readdirSync(CASES_DIR)
  .filter((f) => f.endsWith('.attn'))
  .sort()
  .map((file) => ({ file, name: file.replace(/\.attn$/, '') }));
const CODES = Object.keys(MESSAGES);

/**
 * Codes whose situations arise only when a checked spec is run: E50x (device limits) and E6xx
 * (binding). E51x (the schedule block) are compile-time.
 */
const isRuntimeCode = (code: string) => /^E(50\d|6\d\d)$/.test(code);

/**
 * Run-time codes with no case in `runtime-cases.ts`, each with the reason. Empty: every one of
 * them can be triggered cheaply (E501 with a device stub that only has limits).
 */
const EXEMPT: ReadonlyMap<string, string> = new Map();

function check(file: string) {
  const text = readFileSync(new URL(file, CASES_DIR), 'utf8');
  const result = checkSource(text, `cases/${file}`);
  const reported = result.diagnostics.map((d) => {
    const { line, column } = positionOf(result.source, d.span.start);
    return key({ code: d.code, line, column });
  });
  return { text, result, reported };
}

describe('diagnostic cases', () => {
  for (const { file, name } of CASES) {
    it(name, async () => {
      const { text, result, reported } = check(file);
      const expected = parseExpectations(text).map(key);
      expect(reported.sort()).toEqual(expected.sort());
      const rendered = formatDiagnostics(result.diagnostics, result.source) + '\n';
      await expect(rendered).toMatchFileSnapshot(`cases/${name}.txt`);
    });
  }
});

describe('coverage of the catalogue', () => {
  it('each case file is named after a catalogued code that it reports', () => {
    for (const { file, name } of CASES) {
      const code = name.slice(0, 4);
      expect(CODES, file).toContain(code);
      expect(/^[EW]\d{3}-[a-z0-9-]+$/.test(name), `${file}: name it <CODE>-<slug>.attn`).toBe(true);
      expect(
        check(file).reported.some((r) => r.startsWith(`${code} `)),
        file,
      ).toBe(true);
    }
  });

  it('every compile-time code has a case file', () => {
    const covered = new Set(CASES.map(({ name }) => name.slice(0, 4)));
    expect(CODES.filter((c) => !isRuntimeCode(c) && !covered.has(c))).toEqual([]);
  });

  it('every run-time code has a case in runtime.test.ts or a reason to be exempt', () => {
    const covered = new Set(RUNTIME_CASES.map((c) => c.code));
    expect(CODES.filter((c) => isRuntimeCode(c) && !covered.has(c) && !EXEMPT.has(c))).toEqual([]);
    // An exemption or a run-time case for a code that is not catalogued is stale.
    expect([...EXEMPT.keys(), ...covered].filter((c) => !CODES.includes(c))).toEqual([]);
    expect([...covered].filter((c) => !isRuntimeCode(c))).toEqual([]);
  });
});

describe('docs/errors.md', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const headings = [...doc.matchAll(/^## ([EW]\d{3})\b/gm)].map((m) => m[1]);

  it('documents exactly the codes of the catalogue, each once, in order', () => {
    expect(headings).toEqual(CODES);
  });

  /** The text under `## CODE`, up to the next `## ` (an example's comments use a single `#`). */
  const section = (code: string) => doc.split(/^## /m).find((s) => s.startsWith(`${code}\n`)) ?? '';
  const block = (text: string, lang: string) =>
    new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(text)?.[1] ?? null;

  it("quotes each code's message template", () => {
    for (const code of CODES) {
      const template = MESSAGES[code as keyof typeof MESSAGES].message;
      expect(section(code), code).toContain(template.replace(/\{\d\}/g, '…'));
    }
  });

  it("shows one of each compile-time code's cases, and exactly what the compiler prints", () => {
    const stripped = (file: string) =>
      readFileSync(new URL(file, CASES_DIR), 'utf8')
        .split('\n')
        .filter((l) => !l.trimStart().startsWith('#!'))
        .join('\n')
        .trimEnd() + '\n';
    for (const code of CODES.filter((c) => !isRuntimeCode(c))) {
      const cases = CASES.filter(({ name }) => name.startsWith(`${code}-`)).map((c) => c.file);
      const example = block(section(code), 'attn');
      expect(
        cases.map(stripped),
        `${code}: the example is one of its cases without #! lines`,
      ).toContain(example);
      const result = checkSource(example!, 'example.attn');
      expect(block(section(code), 'text'), `${code}: the output shown`).toBe(
        formatDiagnostics(result.diagnostics, result.source) + '\n',
      );
    }
  });

  it('shows the spec the run-time examples call, and their messages', () => {
    expect(doc).toContain('```attn\n' + RUNTIME_SPEC + '\n```');
    for (const c of RUNTIME_CASES)
      expect(block(section(c.code), 'text'), c.code).toBe(`error[${c.code}]: ${c.message}\n`);
  });
});

describe('the `#!` expectation syntax', () => {
  it('reads the caret column against the nearest code line above', () => {
    const text = 'a b c\n#!  ^ E101\n#!   ^ E102\n# x\n#! @1 E012\n';
    expect(parseExpectations(text).map(key)).toEqual(['E101 1:5', 'E102 1:6', 'E012 4:1']);
  });

  it('rejects a malformed line instead of ignoring it', () => {
    expect(() => parseExpectations('x\n#! ^E101\n')).toThrow(/line 2/);
    expect(() => parseExpectations('#! ^ E101\n')).toThrow(/line 1/);
  });
});
