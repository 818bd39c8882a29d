/**
 * A small seeded PRNG for tests (mulberry32), so every random case is reproducible from its
 * seed. Not for anything but tests.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** Standard normal (Box–Muller). */
  randn(): number;
  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number;
  /** `n` standard normals, scaled. */
  randnArray(n: number, scale?: number): Float64Array;
  /** `n` uniforms in [lo, hi). */
  uniformArray(n: number, lo: number, hi: number): Float64Array;
}

export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const randn = (): number => {
    const u = 1 - next(); // (0, 1], so log(u) is finite
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  };
  return {
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    randn,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    randnArray: (n, scale = 1) => Float64Array.from({ length: n }, () => randn() * scale),
    uniformArray: (n, lo, hi) => Float64Array.from({ length: n }, () => lo + (hi - lo) * next()),
  };
}
