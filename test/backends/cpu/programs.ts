/**
 * Hand-built IR for the interpreter tests (the parser and checker are not used here), written as
 * the `.attn` they stand for.
 */
import type { Expr } from '../../../compiler/ir.ts';
import { tensor, type HostTensor } from '../../../compiler/tensor.ts';
import {
  A,
  and,
  call,
  div,
  eq,
  icmp,
  input,
  int,
  intConst,
  lit,
  mul,
  param,
  paramDecl,
  program,
  read,
  subtract,
  add,
} from '../../helpers/ir-build.ts';
import type { Rng } from '../../helpers/rng.ts';
import type { AttentionDims } from '../../reference/attention.ts';

export interface AttentionVariant {
  readonly causal?: boolean;
  readonly softcap?: boolean;
  readonly alibi?: boolean;
  /** `where m < Len[b]` with an i32 input `Len[b]`. */
  readonly keyLengths?: boolean;
  /** `where Mask[b, p, m]` with a bool input. */
  readonly mask?: boolean;
}

/**
 * ```
 * attention gqa {
 *   input Q[b, hq, p, e]; input K[b, hk, m, e]; input V[b, hk, m, f]
 *   input Slope[hq]; input Len[b]: i32; input Mask[b, p, m]: bool   (per variant)
 *   param cap: f32 = 50.0
 *   const G = HQ / HK
 *   S[b, hq, p, m]  = Q[b, hq, p, e] * K[b, hq / G, m, e] * rsqrt(E)   where <filters>
 *   T[b, hq, p, m]  = cap * tanh(S[b, hq, p, m] / cap) + Slope[hq] * (m - p)   (per variant)
 *   GM[b, hq, p]    = max[m] T[b, hq, p, m]
 *   SN[b, hq, p, m] = exp(T[b, hq, p, m] - GM[b, hq, p])
 *   SD[b, hq, p]    = sum[m] SN[b, hq, p, m]
 *   A[b, hq, p, m]  = SN[b, hq, p, m] / SD[b, hq, p]
 *   O[b, hq, p, f]  = A[b, hq, p, m] * V[b, hq / G, m, f]
 *   output O
 * }
 * ```
 */
export function attentionProgram(v: AttentionVariant = {}) {
  const hk = A.floorDiv(A.index('hq'), A.symbol('G'));
  const filters: Expr[] = [];
  if (v.causal) filters.push(icmp('<=', 'm', 'p'));
  if (v.keyLengths) filters.push(icmp('<', 'm', A.read('Len', [A.index('b')])));
  if (v.mask) filters.push(read('Mask', 'b', 'p', 'm'));
  const filter = filters.length > 0 ? filters.reduce(and) : undefined;
  const s = read('S', 'b', 'hq', 'p', 'm');
  let t: Expr = v.softcap ? mul(param('cap'), call('tanh', div(s, param('cap')))) : s;
  if (v.alibi) t = add(t, mul(read('Slope', 'hq'), int(A.sub(A.index('m'), A.index('p')))));
  const inputs = [
    input('Q', ['b', 'hq', 'p', 'e']),
    input('K', ['b', 'hk', 'm', 'e']),
    input('V', ['b', 'hk', 'm', 'f']),
  ];
  if (v.alibi) inputs.push(input('Slope', ['hq']));
  if (v.keyLengths) inputs.push(input('Len', ['b'], 'i32'));
  if (v.mask) inputs.push(input('Mask', ['b', 'p', 'm'], 'bool'));
  const row = ['b', 'hq', 'p'];
  const full = ['b', 'hq', 'p', 'm'];
  return program({
    inputs,
    params: v.softcap ? [paramDecl('cap', 'f32', lit(50))] : [],
    consts: [intConst('G', A.floorDiv(A.symbol('HQ'), A.symbol('HK')))],
    body: [
      eq(
        'S',
        full,
        mul(
          mul(read('Q', 'b', 'hq', 'p', 'e'), read('K', 'b', hk, 'm', 'e')),
          call('rsqrt', int('E')),
        ),
        {
          over: ['e'],
          ...(filter ? { filter } : {}),
        },
      ),
      eq('T', full, t),
      eq('GM', row, read('T', ...full), { reduce: 'max', over: ['m'] }),
      eq('SN', full, call('exp', subtract(read('T', ...full), read('GM', ...row)))),
      eq('SD', row, read('SN', ...full), { over: ['m'] }),
      eq('A', full, div(read('SN', ...full), read('SD', ...row))),
      eq('O', ['b', 'hq', 'p', 'f'], mul(read('A', ...full), read('V', 'b', hk, 'm', 'f')), {
        over: ['m'],
      }),
    ],
    outputs: ['O'],
  });
}

export interface AttentionCase {
  readonly inputs: Record<string, HostTensor>;
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
}

/** Random f32 Q, K, V of the given dimensions. */
export function attentionInputs(d: AttentionDims, rng: Rng): AttentionCase {
  const q = Float32Array.from(rng.randnArray(d.B * d.HQ * d.P * d.E));
  const k = Float32Array.from(rng.randnArray(d.B * d.HK * d.M * d.E));
  const v = Float32Array.from(rng.randnArray(d.B * d.HK * d.M * d.F));
  return {
    q,
    k,
    v,
    inputs: {
      Q: tensor('f32', [d.B, d.HQ, d.P, d.E], q),
      K: tensor('f32', [d.B, d.HK, d.M, d.E], k),
      V: tensor('f32', [d.B, d.HK, d.M, d.F], v),
    },
  };
}
