/**
 * The shape every rater detector returns: per rater a score in [0, 1] — the posterior
 * probability, under that detector's model, that the rater's behaviour exceeds the detector's
 * tolerance — the statistics behind it, and a sentence saying why.
 *
 * Scores are probabilities of "worse than tolerated", not p-values: they rise with both the
 * size of the effect and the amount of evidence, so a rater with three judgments cannot reach a
 * high score by chance, and an honest rater who differs a little (an unusually strict one) stays
 * low however much data there is, as long as the difference is within tolerance.
 */
import type { AuditConfig } from "../config.js";
import type { Consensus } from "../consensus.js";
import type { AuditData } from "../data.js";
import { betaSf, normalSf } from "../stats.js";

export const SIGNAL_KEYS = [
  "gold",
  "reliability",
  "agreement",
  "entropy",
  "speed",
  "position",
  "length",
  "harm",
  "group",
  "trigger",
  "promotion",
] as const;
export type SignalKey = (typeof SIGNAL_KEYS)[number];

export type Stats = Readonly<Record<string, number>>;

export interface RaterSignal {
  readonly key: SignalKey;
  /** [nRaters], 0 where the detector has no evidence. */
  readonly score: Float64Array;
  /** The numbers behind each score (undefined where the detector saw nothing). [nRaters] */
  readonly stats: readonly (Stats | undefined)[];
  /**
   * 1 where the detector had evidence on the rater: data its score could have risen on. When
   * absent, exactly the raters with `stats`; a detector that reports statistics without a test
   * behind them (reliability's model figure for a rater with no co-raters) says so here. [nRaters]
   */
  readonly covered?: Uint8Array;
  /** A sentence for rater w (called when its score is high enough to report). */
  reason(w: number): string;
}

export interface SignalContext {
  readonly data: AuditData;
  readonly loo: Consensus;
  readonly config: AuditConfig;
}

/** Whether `signal` had evidence on rater w (see `covered`). */
export function covers(signal: RaterSignal, w: number): boolean {
  return signal.covered ? signal.covered[w] === 1 : signal.stats[w] !== undefined;
}

export function pct(x: number): string {
  return `${(100 * x).toFixed(x < 0.1 && x > 0 ? 1 : 0)}%`;
}

export function emptySignal(key: SignalKey, nRaters: number): RaterSignal {
  return {
    key,
    score: new Float64Array(nRaters),
    stats: new Array<Stats | undefined>(nRaters).fill(undefined),
    reason: () => "",
  };
}

/** SD of the N(0, 0.15²) prior the detectors put on a rater's true excess over its peers. */
const PRIOR_SD = 0.15;

/**
 * P(d > threshold) for a rater's true excess d, given an estimate with variance s2 and the
 * N(0, 0.15²) prior: d | data ~ N(m, v), v = 1/(1/0.15² + 1/s2), m = v · estimate / s2. The
 * prior keeps a few lucky judgments from reaching a verdict.
 */
export function shrunkExceedance(estimate: number, s2: number, threshold: number): number {
  const v = 1 / (1 / (PRIOR_SD * PRIOR_SD) + 1 / s2);
  return normalSf((threshold - (v * estimate) / s2) / Math.sqrt(v));
}

/** Judgments' worth of the small-sample variance floor (below). */
const SMALL_SAMPLE_WEIGHT = 4;

/**
 * The least per-judgment variance to assume of a rater's mean from k judgments: ¼ (a share's
 * largest) worth 4 judgments, ¼ · 4/(k + 4). Why: the variances the detectors estimate — the
 * others' pooled one, a rate's p(1 − p) — describe raters who mostly agree, and can be near 0
 * on a clean panel or at a rate of 0 or 1; against them one honest slip by a rater with one or
 * two judgments is many standard errors out, and the N(0, 0.15²) prior alone cannot hold it
 * (one disagreement scored 1.0). By k ≈ 20 the floor is below any panel's own noise.
 */
export function smallSampleVariance(k: number): number {
  return (0.25 * SMALL_SAMPLE_WEIGHT) / (k + SMALL_SAMPLE_WEIGHT);
}

/**
 * Two-sided tail of a share against ½: P(|s − ½| > tolerance) for s ~ Beta(5 + k, 5 + n − k).
 * The Beta(5, 5) prior keeps a handful of one-sided disagreements from looking like a bias.
 */
export function sideShareScore(k: number, n: number, tolerance: number): number {
  if (n <= 0) return 0;
  const a = 5 + k;
  const b = 5 + n - k;
  return Math.min(1, betaSf(0.5 + tolerance, a, b) + betaSf(0.5 + tolerance, b, a));
}
