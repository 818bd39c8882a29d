/**
 * Identifier mangling: user names that are WGSL keywords, reserved words, built-ins, names with
 * leading underscores and non-ASCII names all compile, validate and run.
 */
import { describe, expect, it } from 'vitest';
import { tensor } from '../../../compiler/tensor.ts';
import {
  escapeName,
  isValidIdentifier,
  mangle,
  WGSL_RESERVED,
} from '../../../backends/wgsl/names.ts';
import * as B from '../../helpers/ir-build.ts';
import { run } from './harness.ts';

describe('mangle', () => {
  it('prefixes every user name by its kind', () => {
    expect(mangle('tensor', 'Q')).toBe('t_Q');
    expect(mangle('param', 'cap')).toBe('p_cap');
    expect(mangle('index', 'm')).toBe('i_m');
    expect(mangle('symbol', 'M')).toBe('s_M');
    expect(mangle('const', 'causal')).toBe('c_causal');
  });

  it('is injective on tricky names and always yields a valid identifier', () => {
    const names = [
      'fn',
      'main',
      'array',
      'f32',
      'u',
      'lin',
      '_x',
      '__x',
      'x_',
      'a_b',
      'a__b',
      'π',
      'aπ',
      'a_x3c0_',
      'été',
      '😀',
      'x1',
    ];
    const mangled = names.map((n) => mangle('tensor', n));
    expect(new Set(mangled).size).toBe(names.length);
    for (const m of mangled) expect(isValidIdentifier(m), m).toBe(true);
    expect(escapeName('π')).toBe('_x3c0_');
    expect(escapeName('_x')).toBe('__x');
    expect(mangle('tensor', '_x')).toBe('t___x');
  });

  it('knows the reserved words', () => {
    for (const w of ['fn', 'array', 'var', 'let', 'NULL', 'self', 'f16', 'texture_2d', 'while'])
      expect(WGSL_RESERVED.has(w), w).toBe(true);
    expect(isValidIdentifier('fn')).toBe(false);
    expect(isValidIdentifier('__x')).toBe(false);
    expect(isValidIdentifier('t_fn')).toBe(true);
  });
});

describe('user names in generated WGSL', () => {
  it(
    'tensors, indices, params and consts named like WGSL keywords and built-ins',
    { timeout: 60_000 },
    async () => {
      // Index names are lower-case by the language; extents are their upper-cased names.
      const p = B.program({
        inputs: [B.input('fn', ['main', 'array']), B.input('_x', ['array'])],
        params: [B.paramDecl('var', 'f32', B.lit(2)), B.paramDecl('π', 'bool', B.bool(true))],
        consts: [B.intConst('let', B.A.symbol('ARRAY'))],
        body: [
          B.eq('__x', ['main'], B.mul(B.read('fn', 'main', 'array'), B.read('_x', 'array')), {
            over: ['array'],
          }),
          B.eq(
            'u',
            ['main'],
            B.select(
              B.param('π'),
              B.mul(B.read('__x', 'main'), B.param('var')),
              B.int(B.A.symbol('let')),
            ),
          ),
        ],
        outputs: ['u', '__x'],
      });
      const out = await run(p, {
        fn: tensor('f32', [2, 3], [1, 2, 3, 4, 5, 6]),
        _x: tensor('f32', [3], [1, 10, 100]),
      });
      expect([...out.__x]).toEqual([321, 654]);
      expect([...out.u]).toEqual([642, 1308]);
    },
  );
});
