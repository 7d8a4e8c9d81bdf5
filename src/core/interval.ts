/** Reading and printing a difference of rates with its confidence interval. */

/** True when the interval lies wholly on one side of zero. */
export function excludesZero(ci: readonly [number, number]): boolean {
  return ci[0] > 0 || ci[1] < 0;
}

/** A difference of rates in percentage points with its sign: +14.2, −3.0 (`minus` for ASCII). */
export function signedPoints(x: number, minus = "−"): string {
  return `${x >= 0 ? "+" : minus}${(100 * Math.abs(x)).toFixed(1)}`;
}
