/**
 * How sure a difference between two policies' red-team rates is. Both policies answered the
 * same probes, several samples each, so the comparison is paired by probe: the estimate is the
 * mean over probes of (rate under A − rate under B), and its 95% interval comes from a seeded
 * bootstrap that resamples probes — the unit that varies — rather than single responses, which
 * are correlated within a probe and would make the interval too narrow.
 */
import { KeelError } from "../core/errors.js";
import { Rng } from "../core/rng.js";
import type { ProbeResult } from "./metrics.js";
import type { SuiteName } from "./suites.js";

export interface PairedDifference {
  /** Mean over shared probes of rate(A) − rate(B). */
  readonly estimate: number;
  /** Percentile bootstrap interval over probes. */
  readonly ci95: readonly [number, number];
  /** Probes answered by both policies. */
  readonly probes: number;
  readonly resamples: number;
}

/** Per probe of one suite: [answers with the outcome, answers]. */
function countsByProbe(
  results: readonly ProbeResult[],
  suite: SuiteName,
  outcome: (r: ProbeResult) => boolean,
): Map<string, [number, number]> {
  const counts = new Map<string, [number, number]>();
  for (const r of results) {
    if (r.suite !== suite) continue;
    const key = `${r.prompt_id}\u0000${r.text}`;
    const c = counts.get(key) ?? [0, 0];
    c[0] += outcome(r) ? 1 : 0;
    c[1] += 1;
    counts.set(key, c);
  }
  return counts;
}

const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));

/**
 * The per-probe differences as integers over one denominator (the answer counts' least common
 * multiple), so that sums are exact: summed as floats, 0.8 − 0.4 and 0.2 − 0.6 do not cancel,
 * and a resample whose mean is exactly 0 came out 2.8e-17 — an interval that only touches zero
 * then "excluded" it. Falls back to float differences over 1 when the integers would not be
 * exact (answer counts with a huge common multiple, which no red-team run produces).
 */
function pairedNumerators(
  a: Map<string, [number, number]>,
  b: Map<string, [number, number]>,
): { numerators: number[]; denominator: number } {
  const pairs: [[number, number], [number, number]][] = [];
  for (const [k, x] of a) {
    const y = b.get(k);
    if (y !== undefined) pairs.push([x, y]);
  }
  let lcm = 1;
  for (const [[, na], [, nb]] of pairs)
    for (const m of [na, nb]) lcm = Number.isSafeInteger(lcm) ? (lcm / gcd(lcm, m)) * m : lcm;
  if (Number.isSafeInteger(lcm * pairs.length))
    return {
      numerators: pairs.map(([[ha, na], [hb, nb]]) => ha * (lcm / na) - hb * (lcm / nb)),
      denominator: lcm,
    };
  return { numerators: pairs.map(([[ha, na], [hb, nb]]) => ha / na - hb / nb), denominator: 1 };
}

/**
 * The q-quantile of sorted values, interpolating linearly between order statistics (Hyndman &
 * Fan's type 7, numpy's default): symmetric, so the q and 1 − q quantiles of negated values are
 * the negated 1 − q and q quantiles, and swapping the policies mirrors the interval.
 */
function quantile(sorted: Float64Array, q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  const x = sorted[lo]!;
  const y = sorted[hi]!;
  // x === y (ties, the usual case for rates) returns the value itself, not x + 0·(y − x) noise.
  return x === y ? x : x + (h - lo) * (y - x);
}

/** Bootstrap resamples at most: the interval's percentiles are long settled by then. */
export const MAX_RESAMPLES = 1_000_000;

/**
 * The paired difference of one outcome's rate on one suite between results `a` and `b`, or
 * null when they share no probe of that suite. `resamples` (default 2000) is an integer from 1
 * to MAX_RESAMPLES; anything else is KEEL_E_CONFIG.
 */
export function pairedDifference(
  a: readonly ProbeResult[],
  b: readonly ProbeResult[],
  suite: SuiteName,
  outcome: (r: ProbeResult) => boolean,
  opts: { seed: number; resamples?: number },
): PairedDifference | null {
  const resamples = opts.resamples ?? 2000;
  if (!Number.isInteger(resamples) || resamples < 1 || resamples > MAX_RESAMPLES) {
    throw new KeelError(
      "KEEL_E_CONFIG",
      `pairedDifference: resamples must be an integer from 1 to ${MAX_RESAMPLES}, got ${resamples}`,
      { hint: "leave it out for the default, 2000" },
    );
  }
  const { numerators, denominator } = pairedNumerators(
    countsByProbe(a, suite, outcome),
    countsByProbe(b, suite, outcome),
  );
  const n = numerators.length;
  if (n === 0) return null;
  const rng = new Rng(opts.seed).fork(`paired-difference/${suite}`);
  // Resample sums stay exact integers (over `denominator`); one division gives each mean.
  const means = new Float64Array(resamples);
  for (let i = 0; i < resamples; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += numerators[rng.int(n)]!;
    means[i] = s / (n * denominator);
  }
  means.sort();
  return {
    estimate: numerators.reduce((s, d) => s + d, 0) / (n * denominator),
    ci95: [quantile(means, 0.025), quantile(means, 0.975)],
    probes: n,
    resamples,
  };
}
