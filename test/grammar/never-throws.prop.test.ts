/**
 * The front end must survive any input: no exception, no hang, and every diagnostic inside the
 * text. Three sources of input: arbitrary strings, soup made of real token images, and valid
 * specs with tokens deleted, duplicated or swapped (the closest to what users actually type).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lex } from '../../grammar/lexer.ts';
import { parseSource } from '../../grammar/index.ts';
import type { Span } from '../../compiler/diagnostics/source.ts';

const SPEC = `# GQA with soft-capping
attention gqa_softcap {
  input Q[b, hq, p, e]
  input K[b, hk, m, e]
  input V[b, hk, m, f]
  input Mask[b, p, m]: bool
  param cap: f32 = 50.0
  const G = HQ / HK
  S[b, hq, p, m]  = Q[b, hq, p, e] * K[b, hq / G, m, e] * rsqrt(E) where m <= p && Mask[b, p, m]
  C[b, hq, p, m]  = cap * tanh(S[b, hq, p, m] / cap)
  GM[b, hq, p]    = max[m] C[b, hq, p, m]
  SD[b, hq, p]    = sum[m] exp(C[b, hq, p, m] - GM[b, hq, p])
  A[b, hq, p, m]  = softmax[m](C[b, hq, p, m]) where !(m > p) || true
  init RM[0, p] = -inf
  RM[m1 + 1, p] = max(RM[m1, p], LM[m1, p] % 2)
  O[b, hq, p, f]  = A[b, hq, p, m] * V[b, hq / G, m, f]
  output O, SD
}
attention second { param x = 1e-3; output x }
`;

const IMAGES = [
  ...[
    'attention',
    'input',
    'param',
    'const',
    'output',
    'init',
    'where',
    'sum',
    'max',
    'min',
    'true',
    'false',
  ],
  ...['Q', 'b', 'm', 'inf', 'f32', '0', '1.5', '1e-3', '1e', '.5', '2x', '# c'],
  ...['==', '!=', '<=', '>=', '<', '>', '&&', '||', '=', '!', '+', '-', '*', '/', '%'],
  ...['(', ')', '[', ']', '{', '}', ',', ':', ';', '\n', '@', 'é', '&'],
];

/** The spec's tokens, each with the text before it, so mutations keep the line structure. */
const SPEC_TOKENS = lex(SPEC).tokens.map((t, i, all) => {
  const previousEnd = i === 0 ? 0 : all[i - 1].startOffset + all[i - 1].image.length;
  return { before: SPEC.slice(previousEnd, t.startOffset), image: t.image };
});
const render = (tokens: readonly { before: string; image: string }[]) =>
  tokens.map((t) => t.before + t.image).join('');

function validSpan(span: Span, length: number): boolean {
  return (
    Number.isInteger(span.start) &&
    Number.isInteger(span.end) &&
    0 <= span.start &&
    span.start <= span.end &&
    span.end <= length
  );
}

/** Every span in the AST, found structurally so new node kinds are covered too. */
function* spans(node: unknown): Generator<Span> {
  if (Array.isArray(node)) for (const x of node) yield* spans(x);
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'span' || key === 'opSpan' || key === 'reducerSpan') yield value as Span;
      else yield* spans(value);
    }
  }
}

function checkInvariants(text: string): void {
  const started = performance.now();
  const { module, diagnostics } = parseSource(text, 'fuzz.attn');
  expect(performance.now() - started).toBeLessThan(2000);
  const bad = [
    ...diagnostics
      .filter((d) => !validSpan(d.span, text.length))
      .map((d) => `${d.code} ${JSON.stringify(d.span)}`),
    ...[...spans(module)]
      .filter((span) => !validSpan(span, text.length))
      .map((span) => `AST ${JSON.stringify(span)}`),
  ];
  expect(bad, JSON.stringify(text)).toEqual([]);
  if (diagnostics.length === 0) expect(module).toBeDefined();
}

/** Small for `npm test`; raise it (`FUZZ_RUNS=20000`) to hunt. */
const NUM_RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const TIMEOUT_MS = Math.max(10_000, NUM_RUNS * 50);

describe('parseSource never throws', () => {
  it('on arbitrary strings', { timeout: TIMEOUT_MS }, () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), checkInvariants), {
      numRuns: NUM_RUNS,
    });
  });

  it('on soup made of real token images', { timeout: TIMEOUT_MS }, () => {
    const soup = fc
      .array(fc.constantFrom(...IMAGES), { maxLength: 80 })
      .map((parts) => parts.join(' '));
    fc.assert(fc.property(soup, checkInvariants), { numRuns: NUM_RUNS });
  });

  it('on a valid spec with tokens deleted, duplicated or swapped', { timeout: TIMEOUT_MS }, () => {
    const n = SPEC_TOKENS.length;
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(n - 1) }),
      fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(n - 1) }),
      fc.record({ kind: fc.constant('swap' as const), at: fc.nat(n - 1), with: fc.nat(n - 1) }),
    );
    const mutated = fc.array(mutation, { minLength: 1, maxLength: 4 }).map((mutations) => {
      const tokens = [...SPEC_TOKENS];
      for (const m of mutations) {
        const at = Math.min(m.at, tokens.length - 1);
        if (at < 0) break;
        if (m.kind === 'delete') tokens.splice(at, 1);
        else if (m.kind === 'duplicate') tokens.splice(at, 0, tokens[at]);
        else {
          const other = Math.min(m.with, tokens.length - 1);
          [tokens[at], tokens[other]] = [
            { ...tokens[at], image: tokens[other].image },
            { ...tokens[other], image: tokens[at].image },
          ];
        }
      }
      return render(tokens);
    });
    fc.assert(fc.property(mutated, checkInvariants), { numRuns: NUM_RUNS });
  });

  it('the unmutated spec parses cleanly (so the mutations start from valid input)', () => {
    expect(render(SPEC_TOKENS)).toBe(SPEC.trimEnd());
    const { module, diagnostics } = parseSource(render(SPEC_TOKENS), 'spec.attn');
    expect(diagnostics).toEqual([]);
    expect(module!.attentions).toHaveLength(2);
  });
});
