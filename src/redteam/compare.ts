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

function ratesByProbe(
  results: readonly ProbeResult[],
  suite: SuiteName,
  outcome: (r: ProbeResult) => boolean,
): Map<string, number> {
  const counts = new Map<string, [number, number]>();
  for (const r of results) {
    if (r.suite !== suite) continue;
    const key = `${r.prompt_id}\u0000${r.text}`;
    const c = counts.get(key) ?? [0, 0];
    c[0] += outcome(r) ? 1 : 0;
    c[1] += 1;
    counts.set(key, c);
  }
  return new Map([...counts].map(([k, [hit, n]]) => [k, hit / n]));
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
  const ra = ratesByProbe(a, suite, outcome);
  const rb = ratesByProbe(b, suite, outcome);
  const diffs: number[] = [];
  for (const [k, x] of ra) {
    const y = rb.get(k);
    if (y !== undefined) diffs.push(x - y);
  }
  const n = diffs.length;
  if (n === 0) return null;
  const rng = new Rng(opts.seed).fork(`paired-difference/${suite}`);
  const means = new Float64Array(resamples);
  for (let i = 0; i < resamples; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += diffs[rng.int(n)]!;
    means[i] = s / n;
  }
  means.sort();
  const at = (q: number) => means[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))]!;
  return {
    estimate: diffs.reduce((s, d) => s + d, 0) / n,
    ci95: [at(0.025), at(0.975)],
    probes: n,
    resamples,
  };
}
