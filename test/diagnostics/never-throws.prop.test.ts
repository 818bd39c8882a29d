/**
 * The whole front end (parse → expand macros → check) survives whatever a user types: real specs
 * (every `stdlib/*.attn` and `examples/*.attn`) with tokens deleted, duplicated or swapped,
 * identifiers replaced by other identifiers of the same file, and numbers changed. For each
 * mutant, `checkSource` must return (no exception) within a time bound, every span it reports
 * must lie inside the text, rendering must not throw, and a spec without errors must yield a
 * program. (`test/grammar/never-throws.prop.test.ts` does the same for the parser alone.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lex } from '../../grammar/lexer.ts';
import { checkSource } from '../../compiler/front-end.ts';
import { formatDiagnostics, hasErrors, type Span } from '../../compiler/diagnostics/index.ts';
import { verifyProgram } from '../../compiler/ir-verify.ts';

/** Small for `npm test`; raise it (`FUZZ_RUNS=20000`) to hunt. */
const NUM_RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const TIMEOUT_MS = Math.max(20_000, NUM_RUNS * 100);
/** Generous: a spec checks in about a millisecond; this catches hangs, not slowness. */
const TIME_BOUND_MS = 2000;

interface Token {
  /** The text between the previous token and this one (whitespace, comments). */
  readonly before: string;
  readonly image: string;
}

interface Spec {
  readonly file: string;
  readonly tokens: readonly Token[];
  readonly identifiers: readonly string[];
}

function load(dir: string): Spec[] {
  const url = new URL(`../../${dir}/`, import.meta.url);
  return readdirSync(url)
    .filter((f) => f.endsWith('.attn'))
    .sort()
    .map((f) => {
      const text = readFileSync(new URL(f, url), 'utf8');
      const tokens = lex(text).tokens.map((t, i, all) => {
        const previousEnd = i === 0 ? 0 : all[i - 1].startOffset + all[i - 1].image.length;
        return { before: text.slice(previousEnd, t.startOffset), image: t.image };
      });
      const identifiers = [...new Set(tokens.map((t) => t.image).filter(isIdentifier))];
      return { file: `${dir}/${f}`, tokens, identifiers };
    });
}

const isIdentifier = (s: string) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(s);
const isNumber = (s: string) => /^\d/.test(s);
const render = (tokens: readonly Token[]) => tokens.map((t) => t.before + t.image).join('');

const SPECS = [...load('stdlib'), ...load('examples')];
/** Numbers that stress the checker: zero divisors, negatives, reals where integers go, huge. */
const NUMBERS = ['0', '1', '2', '-1', '0.5', '1e-3', '3', '65536', '1e309', '9007199254740993'];

/** `at` picks the token; `pick` the other token (swap), the identifier (rename) or the number. */
interface Mutation {
  readonly kind: 'delete' | 'duplicate' | 'swap' | 'rename' | 'number';
  readonly at: number;
  readonly pick: number;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('delete', 'duplicate', 'swap', 'rename', 'number'),
  at: fc.nat(),
  pick: fc.nat(),
});

/** Replaces the `at`-th (modulo) token that satisfies `which`, or token `at` if none does. */
function replaceAmong(tokens: Token[], which: (s: string) => boolean, at: number, image: string) {
  const candidates = tokens.map((t, i) => (which(t.image) ? i : -1)).filter((i) => i >= 0);
  const target = candidates.length > 0 ? candidates[at % candidates.length] : at;
  tokens[target] = { ...tokens[target], image };
}

/** Applies mutations in order; positions are taken modulo the current length. */
function mutate(spec: Spec, mutations: readonly Mutation[]): string {
  const tokens = [...spec.tokens];
  for (const m of mutations) {
    if (tokens.length === 0) break;
    const at = m.at % tokens.length;
    const t = tokens[at];
    switch (m.kind) {
      case 'delete':
        tokens.splice(at, 1);
        break;
      case 'duplicate':
        tokens.splice(at, 0, t);
        break;
      case 'swap': {
        const other = m.pick % tokens.length;
        tokens[at] = { ...t, image: tokens[other].image };
        tokens[other] = { ...tokens[other], image: t.image };
        break;
      }
      case 'rename':
        replaceAmong(tokens, isIdentifier, at, spec.identifiers[m.pick % spec.identifiers.length]);
        break;
      case 'number':
        replaceAmong(tokens, isNumber, at, NUMBERS[m.pick % NUMBERS.length]);
        break;
    }
  }
  return render(tokens);
}

function validSpan(span: Span, length: number): boolean {
  return (
    Number.isInteger(span.start) &&
    Number.isInteger(span.end) &&
    0 <= span.start &&
    span.start <= span.end &&
    span.end <= length
  );
}

function checkInvariants(text: string): void {
  const started = performance.now();
  const result = checkSource(text, 'fuzz.attn');
  expect(performance.now() - started, 'time to check').toBeLessThan(TIME_BOUND_MS);
  const spans = result.diagnostics.flatMap((d) => [
    { what: d.code, span: d.span },
    ...(d.related ?? []).map((r) => ({ what: `${d.code} note`, span: r.span })),
  ]);
  const bad = spans.filter((s) => !validSpan(s.span, text.length));
  expect(
    bad.map((s) => `${s.what} ${JSON.stringify(s.span)}`),
    JSON.stringify(text),
  ).toEqual([]);
  expect(() => formatDiagnostics(result.diagnostics, result.source)).not.toThrow();
  if (hasErrors(result.diagnostics)) return;
  expect(result.programs.length, text).toBeGreaterThan(0);
  for (const program of result.programs) expect(verifyProgram(program), text).toEqual([]);
}

describe('checkSource never throws', () => {
  it('has real specs to mutate, and they check cleanly', () => {
    expect(SPECS.length).toBeGreaterThan(0);
    for (const spec of SPECS) {
      const result = checkSource(render(spec.tokens), spec.file);
      expect(result.diagnostics, spec.file).toEqual([]);
    }
  });

  it('on mutated stdlib and example specs', { timeout: TIMEOUT_MS }, () => {
    const mutant = fc
      .tuple(fc.nat(SPECS.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }))
      .map(([i, mutations]) => mutate(SPECS[i], mutations));
    fc.assert(fc.property(mutant, checkInvariants), { numRuns: NUM_RUNS });
  });

  it('on mutants of one spec with many mutations at once', { timeout: TIMEOUT_MS }, () => {
    const mutant = fc
      .tuple(fc.nat(SPECS.length - 1), fc.array(mutation, { minLength: 5, maxLength: 20 }))
      .map(([i, mutations]) => mutate(SPECS[i], mutations));
    fc.assert(fc.property(mutant, checkInvariants), { numRuns: NUM_RUNS });
  });
});
