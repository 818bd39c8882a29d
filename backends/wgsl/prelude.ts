/**
 * Helper functions emitted ahead of a kernel's entry point: the WGSL side of
 * `compiler/scalar.ts` (same definitions) and of the integer rules of `compiler/ir.ts`.
 *
 * Why each exists:
 *  - Infinities and NaN: Tint evaluates `bitcast<f32>(0xff800000u)` at shader-creation time and
 *    rejects it ("value -inf cannot be represented as 'f32'"), so the bits go through a `let`,
 *    which makes the bitcast a run-time expression.
 *  - `attn_floor_div` / `attn_floor_mod`: WGSL's i32 `/` and `%` truncate; ir.ts wants floor
 *    semantics (Python's). Divisors are positive wherever the result is used (a non-positive
 *    divisor makes the value absent, checked by the caller).
 *  - `attn_tanh`, `attn_sigmoid`, `attn_softplus`: written so that no intermediate overflows to
 *    infinity (a backend may assume there are none); `attn_softplus` uses the log1p trick
 *    `log(u) * x / (u - 1)` so that it keeps full relative accuracy for large negative inputs.
 *  - `attn_min` / `attn_max`: WGSL's min/max return the non-NaN operand; JavaScript's (and so
 *    the interpreter's) propagate NaN.
 *  - `attn_sign`: 0 for NaN, as in scalar.ts.
 *  - `attn_pow`: WGSL's pow is undefined for a negative base; JavaScript's is defined for
 *    integral exponents.
 */
import { ABSENT_BITS, type PreludeFn } from './plan.ts';

const hex = (n: number) => `0x${(n >>> 0).toString(16)}u`;

interface Helper {
  readonly deps: readonly PreludeFn[];
  readonly source: string;
}

const HELPERS: Readonly<Record<PreludeFn, Helper>> = {
  attn_neg_inf: {
    deps: [],
    source: `fn attn_neg_inf() -> f32 {
  let bits = 0xff800000u;
  return bitcast<f32>(bits);
}`,
  },
  attn_pos_inf: {
    deps: [],
    source: `fn attn_pos_inf() -> f32 {
  let bits = 0x7f800000u;
  return bitcast<f32>(bits);
}`,
  },
  attn_nan: {
    deps: [],
    source: `fn attn_nan() -> f32 {
  let bits = 0x7fc00000u;
  return bitcast<f32>(bits);
}`,
  },
  attn_encode: {
    deps: [],
    source: `// A present value as stored in an f32-absent buffer: never the ABSENT marker.
fn attn_encode(x: f32) -> u32 {
  let bits = bitcast<u32>(x);
  return select(bits, 0x7fc00000u, bits == ABSENT);
}`,
  },
  attn_floor_div: {
    deps: [],
    source: `fn attn_floor_div(a: i32, b: i32) -> i32 {
  let q = a / b;
  return select(q, q - 1, (a % b != 0) && ((a < 0) != (b < 0)));
}`,
  },
  attn_floor_mod: {
    deps: [],
    source: `fn attn_floor_mod(a: i32, b: i32) -> i32 {
  let r = a % b;
  return select(r, r + b, (r != 0) && ((r < 0) != (b < 0)));
}`,
  },
  attn_tanh: {
    deps: [],
    source: `fn attn_tanh(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  let t = (1.0 - e) / (1.0 + e);
  return select(t, -t, x < 0.0);
}`,
  },
  attn_sigmoid: {
    deps: [],
    source: `fn attn_sigmoid(x: f32) -> f32 {
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}`,
  },
  attn_softplus: {
    deps: ['attn_max'],
    source: `fn attn_softplus(x: f32) -> f32 {
  let e = exp(-abs(x));
  let v = 1.0 + e;
  let log1p = select(log(v) * e / (v - 1.0), e, v == 1.0);
  return attn_max(x, 0.0) + log1p;
}`,
  },
  attn_sign: {
    deps: [],
    source: `fn attn_sign(x: f32) -> f32 {
  return select(select(0.0, -1.0, x < 0.0), 1.0, x > 0.0);
}`,
  },
  attn_min: {
    deps: [],
    source: `fn attn_min(a: f32, b: f32) -> f32 {
  return select(min(a, b), a + b, (a != a) || (b != b));
}`,
  },
  attn_max: {
    deps: [],
    source: `fn attn_max(a: f32, b: f32) -> f32 {
  return select(max(a, b), a + b, (a != a) || (b != b));
}`,
  },
  attn_pow: {
    deps: ['attn_pos_inf', 'attn_nan'],
    source: `fn attn_pow(x: f32, y: f32) -> f32 {
  if (y == 0.0) {
    return 1.0;
  }
  let ax = abs(x);
  var m: f32 = 0.0;
  if (ax == 0.0) {
    m = select(0.0, attn_pos_inf(), y < 0.0);
  } else {
    m = exp2(y * log2(ax));
  }
  if (x < 0.0) {
    if (fract(y) != 0.0) {
      return attn_nan();
    }
    if (fract(y * 0.5) != 0.0) {
      return -m;
    }
  }
  return m;
}`,
  },
};

/** The source of the marker constant every kernel with an f32-absent buffer declares. */
export const ABSENT_DECLARATION = `const ABSENT: u32 = ${hex(ABSENT_BITS)};`;

/** `used` plus everything it depends on, in a fixed order (dependencies first). */
export function closeHelpers(used: Iterable<PreludeFn>): PreludeFn[] {
  const out = new Set<PreludeFn>();
  const visit = (fn: PreludeFn) => {
    if (out.has(fn)) return;
    for (const d of HELPERS[fn].deps) visit(d);
    out.add(fn);
  };
  for (const fn of [...used].sort()) visit(fn);
  return [...out];
}

/** WGSL source of the given helpers (already closed over their dependencies). */
export function preludeSource(helpers: readonly PreludeFn[]): string[] {
  return helpers.map((fn) => HELPERS[fn].source);
}
