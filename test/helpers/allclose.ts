/**
 * Numeric comparison for tests: elementwise `|actual - expected| <= atol + rtol * |expected|`,
 * with a report of the worst errors so failures (and passing runs, when logged) show how close
 * two implementations are. NaN matches NaN and an infinity matches the same infinity.
 */
export interface CloseReport {
  readonly maxAbs: number;
  readonly maxRel: number;
  /** The first element that violates the tolerance, or -1. */
  readonly firstBad: number;
  readonly badCount: number;
}

export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

export function compareClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
): CloseReport {
  if (actual.length !== expected.length) {
    throw new Error(`length mismatch: actual ${actual.length}, expected ${expected.length}`);
  }
  let maxAbs = 0;
  let maxRel = 0;
  let firstBad = -1;
  let badCount = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e)) || a === e) continue;
    const abs = Math.abs(a - e);
    const rel = abs / Math.max(Math.abs(e), Number.MIN_VALUE);
    if (!(abs <= tol.atol + tol.rtol * Math.abs(e))) {
      if (firstBad < 0) firstBad = i;
      badCount++;
    }
    if (!(abs <= maxAbs)) maxAbs = abs;
    if (!(rel <= maxRel)) maxRel = rel;
  }
  return { maxAbs, maxRel, firstBad, badCount };
}

/** Throws with the worst errors unless every element is within tolerance; returns the report. */
export function assertAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
  label = 'values',
): CloseReport {
  const r = compareClose(actual, expected, tol);
  if (r.badCount > 0) {
    const i = r.firstBad;
    throw new Error(
      `${label}: ${r.badCount}/${actual.length} elements out of tolerance (atol ${tol.atol}, rtol ${tol.rtol}); ` +
        `max abs ${r.maxAbs.toExponential(3)}, max rel ${r.maxRel.toExponential(3)}; ` +
        `first at [${i}]: actual ${actual[i]}, expected ${expected[i]}`,
    );
  }
  return r;
}

/** One line for logs: `max abs 1.2e-7, max rel 3.4e-6`. */
export function formatReport(r: CloseReport): string {
  return `max abs ${r.maxAbs.toExponential(2)}, max rel ${r.maxRel.toExponential(2)}`;
}
