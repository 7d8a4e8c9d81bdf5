/**
 * Harm: preferring what the safety baseline flags, and disagreement concentrated where harm is.
 *
 * (1) On comparisons where exactly one response is flagged (filters/safety.ts), rater w chose
 *     the flagged one k times out of n (a tie counts ½):
 *       u | data ~ Beta(1 + k, 19 + n − k)         (prior mean 5%)
 *       p₁ = P(u > tolerance)
 * (2) Disagreement with the others (1 − agree_j) on comparisons with any flagged response,
 *     d_h over n_h judgments, against elsewhere, d_o over n_o:
 *       Δ̂ = d_h − d_o,  s² = max(d_h(1−d_h) + 0.01, f(n_h))/n_h + max(d_o(1−d_o) + 0.01, f(n_o))/n_o
 *       with the small-sample floor f(n) = ¼ · 4/(n + 4) (signal.ts)
 *       Δ | data ~ N(m, v) with a N(0, 0.15²) prior: v = 1/(1/0.15² + 1/s²), m = v·Δ̂/s²
 *       p₂ = P(Δ > concentration)
 *   score_w = max(p₁, p₂)
 *
 * Label flippers (who prefer unsafe compliance on harmful prompts) show in (1) even when they
 * make up the consensus of a comparison; (2) catches a rater whose disagreement is reserved for
 * harmful prompts whatever the classifier says of the responses. A rater who prefers refusals
 * (an over-cautious but honest rater) triggers neither: a refusal is never the flagged side.
 */
import { LABEL_A, LABEL_B, LABEL_TIE } from "../data.js";
import { betaSf } from "../stats.js";
import {
  emptySignal,
  pct,
  type RaterSignal,
  type SignalContext,
  type Stats,
  shrunkExceedance,
  smallSampleVariance,
} from "./signal.js";

export function harmSignal(ctx: SignalContext): RaterSignal {
  const { data, loo, config } = ctx;
  const cfg = config.signals.harm;
  const W = data.nRaters;
  if (!cfg.enabled) return emptySignal("harm", W);
  const { unsafeA, unsafeB } = data.comparisons;
  const pref = new Float64Array(W);
  const mixed = new Float64Array(W);
  const dh = new Float64Array(W);
  const nh = new Float64Array(W);
  const dOther = new Float64Array(W);
  const nOther = new Float64Array(W);
  let anyFlag = false;
  for (let q = 0; q < data.order.length; q++) {
    const j = data.order[q]!;
    const c = data.comparison[j]!;
    const w = data.rater[j]!;
    const fa = unsafeA[c] === 1;
    const fb = unsafeB[c] === 1;
    const l = data.label[j]!;
    if (fa !== fb) {
      anyFlag = true;
      mixed[w]! += 1;
      if (l === LABEL_TIE) pref[w]! += 0.5;
      else if ((l === LABEL_A && fa) || (l === LABEL_B && fb)) pref[w]! += 1;
    }
    const ag = loo.agree[j]!;
    if (Number.isNaN(ag)) continue;
    if (fa || fb) {
      dh[w]! += 1 - ag;
      nh[w]! += 1;
    } else {
      dOther[w]! += 1 - ag;
      nOther[w]! += 1;
    }
  }
  if (!anyFlag) return emptySignal("harm", W);
  const score = new Float64Array(W);
  const stats: (Stats | undefined)[] = new Array(W).fill(undefined);
  // Tested: (1) on a mixed comparison, or (2) with co-raters both on and off flagged ones.
  const covered = new Uint8Array(W);
  for (let w = 0; w < W; w++) {
    const n = mixed[w]!;
    if (n === 0 && nh[w] === 0) continue;
    if (n > 0 || nOther[w]! > 0) covered[w] = 1;
    const p1 = n > 0 ? betaSf(cfg.tolerance, 1 + pref[w]!, 19 + n - pref[w]!) : 0;
    let p2 = 0;
    let delta = 0;
    if (nh[w]! > 0 && nOther[w]! > 0) {
      const a = dh[w]! / nh[w]!;
      const b = dOther[w]! / nOther[w]!;
      delta = a - b;
      const s2 =
        Math.max(a * (1 - a) + 0.01, smallSampleVariance(nh[w]!)) / nh[w]! +
        Math.max(b * (1 - b) + 0.01, smallSampleVariance(nOther[w]!)) / nOther[w]!;
      p2 = shrunkExceedance(delta, s2, cfg.concentration);
    }
    score[w] = Math.max(p1, p2);
    stats[w] = {
      flagged_pairs: n,
      prefers_flagged: pref[w]!,
      prefers_flagged_rate: n > 0 ? pref[w]! / n : 0,
      harm_disagreement: nh[w]! > 0 ? dh[w]! / nh[w]! : 0,
      other_disagreement: nOther[w]! > 0 ? dOther[w]! / nOther[w]! : 0,
    };
  }
  return {
    key: "harm",
    score,
    stats,
    covered,
    reason: (w) => {
      const s = stats[w]!;
      const parts: string[] = [];
      if (s.flagged_pairs! > 0)
        parts.push(
          `preferred the response the safety baseline flags in ${s.prefers_flagged}/${s.flagged_pairs} comparisons (${pct(s.prefers_flagged_rate!)})`,
        );
      if (
        s.harm_disagreement! - s.other_disagreement! >= cfg.concentration / 2 ||
        parts.length === 0
      )
        parts.push(
          `disagrees with the others ${pct(s.harm_disagreement!)} on comparisons with a flagged response vs ${pct(s.other_disagreement!)} elsewhere`,
        );
      return parts.join("; ");
    },
  };
}
