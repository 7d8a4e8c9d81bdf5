/**
 * Shares as keel prints them: a percentage with one decimal, and "–" where there is no number
 * (null, NaN, ±∞, a share of nothing), so a missing rate never reads as "0.0%" (a failing rate)
 * or "NaN%".
 */

/** What a table shows in place of a number it has not got. */
export const NO_NUMBER = "–";

/** `x` (a fraction) as a percentage: 0.1234 → "12.3%"; `sign` "" leaves out the "%". */
export function percent(x: number | null | undefined, sign = "%"): string {
  return x === null || x === undefined || !Number.isFinite(x)
    ? NO_NUMBER
    : `${(100 * x).toFixed(1)}${sign}`;
}

/** `n` out of `of` as a percentage; "–" when `of` is 0. */
export function percentOf(n: number, of: number): string {
  return of === 0 ? NO_NUMBER : percent(n / of);
}
