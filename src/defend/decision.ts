/**
 * The decision: one suspicion per rater from all detectors, a verdict, reasons, and the rater's
 * weight.
 *
 *   suspicion_w = 1 − Π_d (1 − score_{d,w})      (noisy-OR: the probability that at least one
 *                                                  detector's concern holds, were they independent)
 *   verdict     = excluded  if suspicion ≥ exclude_at
 *                 suspect   if suspicion ≥ suspect_at
 *                 trusted   otherwise
 *   weight      = 1 (trusted);  1 − ¾ · (suspicion − suspect_at)/(exclude_at − suspect_at)
 *                 (suspect: from 1 down to ¼ — down-weighted, not dropped, where evidence is
 *                 soft);  0 (excluded)
 *
 * Each detector's score is already a probability of exceeding its tolerance (signals/signal.ts),
 * so a detector that has little data contributes little. Reasons are the sentences of the
 * detectors whose score reaches `reason_at` (and is above 0), strongest first. A rater made
 * suspect or excluded by several detectors none of which reaches `reason_at` gets the strongest
 * of them, as many as it takes for their noisy-OR to reach `suspect_at`: no verdict without its
 * reasons.
 */
import { KeelError } from "../core/errors.js";
import type { AuditConfig } from "./config.js";
import type { RaterSignal, SignalKey, Stats } from "./signals/signal.js";
import { noisyOr } from "./stats.js";

export type Verdict = "trusted" | "suspect" | "excluded";

export interface RaterDecision {
  readonly suspicion: Float64Array;
  readonly verdict: readonly Verdict[];
  readonly weight: Float64Array;
  readonly reasons: readonly (readonly string[])[];
  /** Per rater: each detector's score and statistics. */
  readonly evidence: readonly Readonly<Partial<Record<SignalKey, Stats & { score: number }>>>[];
}

export function decide(
  signals: readonly RaterSignal[],
  nRaters: number,
  config: AuditConfig,
): RaterDecision {
  const { suspect_at, exclude_at, reason_at } = config.verdict;
  const suspicion = new Float64Array(nRaters);
  const weight = new Float64Array(nRaters);
  const verdict: Verdict[] = [];
  const reasons: string[][] = [];
  const evidence: Partial<Record<SignalKey, Stats & { score: number }>>[] = [];
  for (let w = 0; w < nRaters; w++) {
    const scores: number[] = [];
    // Detectors with a concern (score > 0: their statistics are complete), strongest first.
    const concerns: RaterSignal[] = [];
    const ev: Partial<Record<SignalKey, Stats & { score: number }>> = {};
    for (const s of signals) {
      const sc = s.score[w]!;
      // A NaN would make suspicion NaN, and NaN >= suspect_at is false: the rater trusted with
      // weight 1. No detector gives one today; if one ever does, the audit fails, not the rater.
      if (!(sc >= 0 && sc <= 1))
        throw new KeelError(
          "KEEL_E_INTERNAL",
          `the ${s.key} detector scored rater #${w} ${sc}, not a probability`,
        );
      const st = s.stats[w];
      if (st !== undefined) ev[s.key] = { score: sc, ...st };
      scores.push(sc);
      if (sc > 0) concerns.push(s);
    }
    concerns.sort((x, y) => y.score[w]! - x.score[w]!);
    const sus = noisyOr(scores);
    suspicion[w] = sus;
    let v: Verdict = "trusted";
    let wt = 1;
    if (sus >= exclude_at) {
      v = "excluded";
      wt = 0;
    } else if (sus >= suspect_at) {
      v = "suspect";
      const span = exclude_at - suspect_at;
      wt = span > 0 ? 1 - 0.75 * ((sus - suspect_at) / span) : 0.25;
    }
    verdict.push(v);
    weight[w] = wt;
    let listed = 0;
    while (listed < concerns.length && concerns[listed]!.score[w]! >= reason_at) listed++;
    if (v !== "trusted")
      while (
        listed < concerns.length &&
        noisyOr(concerns.slice(0, listed).map((s) => s.score[w]!)) < suspect_at
      )
        listed++;
    reasons.push(
      concerns.slice(0, listed).map((s) => {
        const sc = s.score[w]!;
        return `${s.key}: ${s.reason(w)} [${sc.toFixed(2)}]`;
      }),
    );
    evidence.push(ev);
  }
  return { suspicion, verdict, weight, reasons, evidence };
}
