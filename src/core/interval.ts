/** Reading and printing a difference of rates with its confidence interval. */

/**
 * The fewest probes a bootstrap interval is read from: resampling one probe gives the interval
 * [d, d] whatever d is, and with five the 95% interval held the true gap 84% of the time
 * (simulated); the red-team suites hold 24–50.
 */
export const MIN_INTERVAL_PROBES = 10;

/**
 * True when a paired difference is told from zero: its interval lies wholly on one side of zero
 * and it rests on at least MIN_INTERVAL_PROBES probes.
 */
export function excludesZero(d: {
  readonly ci95: readonly [number, number];
  readonly probes: number;
}): boolean {
  return d.probes >= MIN_INTERVAL_PROBES && (d.ci95[0] > 0 || d.ci95[1] < 0);
}

/** A difference of rates in percentage points with its sign: +14.2, −3.0 (`minus` for ASCII). */
export function signedPoints(x: number, minus = "−"): string {
  return `${x >= 0 ? "+" : minus}${(100 * Math.abs(x)).toFixed(1)}`;
}
