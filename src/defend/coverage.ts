/**
 * What the audit could check. A detector with no evidence on a rater scores it 0, exactly as it
 * scores a rater it tested and cleared, so a verdict of `trusted` alone cannot tell "checked and
 * fine" from "not checked": a lone rater with no gold answers and no co-raters is trusted at
 * weight 1 with empty evidence. This file says which is which, without changing any score,
 * verdict or weight:
 *
 *   checked_by_w       the detectors that had evidence on w (signals/signal.ts, `covers`): gold
 *                      needs gold answers, agreement, entropy and reliability co-raters, speed
 *                      latencies, position and length disagreements, harm a flagged response,
 *                      group a pair it could have flagged (groups.ts, `pairsTested`), trigger
 *                      and promotion a reported pattern in w's judgments
 *   unchecked          raters with no detector in checked_by
 *   judgment share     judgments by unchecked raters / judgments
 *   weight share       Σ weight of comparisons whose counted judgments (effective weight > 0) are
 *                      all by unchecked raters / Σ weight of all comparisons
 *
 * Warnings: when either share reaches `coverage.warn_share` (and is above 0), and when pairs of
 * raters shared `groups.min_corated` comparisons but the collusion detector had no baseline to
 * hold any of them against: every accuracy unknown (every pair that shares comparisons shares
 * them in excess), or so near 1 that no agreement could exceed the expectation by
 * `groups.min_excess` (a team that is the only set of co-raters is its own baseline). Pairs that
 * had a baseline but shared too few comparisons to reach significance are a matter of power,
 * present in every audit: they leave `group` out of the raters' `checked_by`, without a warning.
 */
import type { AuditConfig } from "./config.js";
import type { AuditData } from "./data.js";
import type { GroupResult } from "./groups.js";
import { covers, pct, type RaterSignal, SIGNAL_KEYS, type SignalKey } from "./signals/signal.js";

export interface CoverageSummary {
  /** Raters no detector had evidence on. */
  readonly unchecked_raters: number;
  /** Judgments by unchecked raters / judgments. */
  readonly unchecked_judgment_share: number;
  /** Σ weight of the comparisons that rest only on unchecked raters / Σ weight. */
  readonly unchecked_weight_share: number;
}

export interface AuditCoverage {
  /** Per detector, the raters it had evidence on. */
  readonly detectors: Readonly<Record<SignalKey, number>>;
  /** Pairs of raters that shared `groups.min_corated` comparisons. */
  readonly group_pairs: number;
  /** … of which the collusion detector could have flagged, had the two always agreed. */
  readonly group_testable_pairs: number;
  /** Whether any of those pairs had a baseline to be tested against (groups.ts). */
  readonly group_baseline: boolean;
  /** Sentences for the person reading the audit; empty when nothing needs saying. */
  readonly warnings: readonly string[];
}

export interface CoverageResult {
  /** Per rater, the detectors that had evidence on it, in `SIGNAL_KEYS` order. */
  readonly checkedBy: readonly (readonly SignalKey[])[];
  readonly summary: CoverageSummary;
  readonly coverage: AuditCoverage;
}

export function auditCoverage(
  data: AuditData,
  signals: readonly RaterSignal[],
  groups: GroupResult,
  effective: Float64Array,
  comparisonWeight: Float64Array,
  config: AuditConfig,
): CoverageResult {
  const W = data.nRaters;
  const ordered = SIGNAL_KEYS.flatMap((k) => signals.filter((s) => s.key === k));
  const detectors = Object.fromEntries(SIGNAL_KEYS.map((k) => [k, 0])) as Record<SignalKey, number>;
  const checkedBy: SignalKey[][] = [];
  const unchecked = new Uint8Array(W);
  for (let w = 0; w < W; w++) {
    const by = ordered.filter((s) => covers(s, w)).map((s) => s.key);
    for (const k of by) detectors[k]++;
    checkedBy.push(by);
    if (by.length === 0) unchecked[w] = 1;
  }
  let uncheckedRaters = 0;
  for (let w = 0; w < W; w++) uncheckedRaters += unchecked[w]!;
  let uncheckedJudgments = 0;
  for (let j = 0; j < data.nJudgments; j++) uncheckedJudgments += unchecked[data.rater[j]!]!;
  let total = 0;
  let resting = 0;
  let shared = 0;
  for (let c = 0; c < data.nComparisons; c++) {
    const s = data.start[c]!;
    const e = data.start[c + 1]!;
    if (e - s >= 2) shared += e - s;
    const wt = comparisonWeight[c]!;
    total += wt;
    if (!(wt > 0)) continue;
    let counted = 0;
    let onlyUnchecked = true;
    for (let q = s; q < e; q++) {
      const j = data.order[q]!;
      if (!(effective[j]! > 0)) continue;
      counted++;
      if (unchecked[data.rater[j]!] === 0) onlyUnchecked = false;
    }
    if (counted > 0 && onlyUnchecked) resting += wt;
  }
  const summary: CoverageSummary = {
    unchecked_raters: uncheckedRaters,
    unchecked_judgment_share: data.nJudgments > 0 ? uncheckedJudgments / data.nJudgments : 0,
    unchecked_weight_share: total > 0 ? resting / total : 0,
  };
  const warnings: string[] = [];
  const warnAt = config.coverage.warn_share;
  const worst = Math.max(summary.unchecked_judgment_share, summary.unchecked_weight_share);
  if (worst > 0 && worst >= warnAt)
    warnings.push(
      `${uncheckedRaters} of ${W} raters, with ${pct(summary.unchecked_judgment_share)} of the judgments and ${pct(summary.unchecked_weight_share)} of the kept comparisons' weight, were checked by no detector (no gold answers, no other raters on their comparisons, no latencies): their "trusted" means not checked, not cleared (coverage.warn_share ${warnAt}). Add gold comparisons, or have other raters judge some of theirs.`,
    );
  const { corated, baselined, testable } = groups.pairsTested;
  if (corated > 0 && baselined === 0) {
    const sharing = groups.pairs.judged.reduce((n, x) => n + (x > 0 ? 1 : 0), 0);
    warnings.push(
      `the collusion detector had no baseline: ${corated} pairs of raters shared at least ${config.signals.groups.min_corated} comparisons, but there was nothing to hold them against: the raters who share comparisons share them only with fixed partners, or agree with each other so completely that no agreement could count as excess; so those ${sharing} raters (${pct(data.nJudgments > 0 ? shared / data.nJudgments : 0)} of the judgments) were not checked for voting together. A team that is the only set of raters sharing comparisons is its own baseline; honest raters who also share comparisons give the detector one.`,
    );
  }
  return {
    checkedBy,
    summary,
    coverage: {
      detectors,
      group_pairs: corated,
      group_testable_pairs: testable,
      group_baseline: baselined > 0,
      warnings,
    },
  };
}
