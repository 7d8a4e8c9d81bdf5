/**
 * Length bias relative to the other raters: on the judgments where rater w disagrees with the
 * others' majority and the two responses differ in length, did w pick the longer one?
 *
 *   k = #{such disagreements where w chose the longer response},  n = #such disagreements
 *   score_w = P(s − ½ > tolerance)          direction `longer` (default)
 *             P(|s − ½| > tolerance)        direction `both`,     s ~ Beta(5 + k, 5 + n − k)
 *
 * Measured against the others on the same comparisons, so the crowd's own taste for longer
 * answers (which honest raters share) cancels; what remains is a rater who departs from the
 * crowd systematically towards length — the RankPoison attack (Wang et al., ACL 2024,
 * arXiv:2311.09641) — or, with direction `both`, away from it. One-sided by default because
 * honest raters who disagree with a length-poisoning majority look biased towards *shorter*
 * answers, and no attack needs the crowd to prefer short answers.
 */
import { LABEL_A, LABEL_TIE } from "../data.js";
import { betaSf } from "../stats.js";
import {
  emptySignal,
  pct,
  type RaterSignal,
  type SignalContext,
  type Stats,
  sideShareScore,
} from "./signal.js";

export function lengthSignal(ctx: SignalContext): RaterSignal {
  const { data, loo, config } = ctx;
  const cfg = config.signals.length;
  const W = data.nRaters;
  if (!cfg.enabled) return emptySignal("length", W);
  const { wordsA, wordsB } = data.comparisons;
  const longer = new Float64Array(W);
  const total = new Float64Array(W);
  for (let q = 0; q < data.order.length; q++) {
    const j = data.order[q]!;
    const maj = loo.majority[j]!;
    const l = data.label[j]!;
    if (maj < 0 || l === LABEL_TIE || l === maj) continue;
    const c = data.comparison[j]!;
    const wa = wordsA[c]!;
    const wb = wordsB[c]!;
    if (wa === wb) continue;
    const w = data.rater[j]!;
    total[w]! += 1;
    if ((l === LABEL_A) === wa > wb) longer[w]! += 1;
  }
  const score = new Float64Array(W);
  const stats: (Stats | undefined)[] = new Array(W).fill(undefined);
  for (let w = 0; w < W; w++) {
    const n = total[w]!;
    if (n === 0) continue;
    score[w] =
      cfg.direction === "both"
        ? sideShareScore(longer[w]!, n, cfg.tolerance)
        : betaSf(0.5 + cfg.tolerance, 5 + longer[w]!, 5 + n - longer[w]!);
    stats[w] = { length_disagreements: n, length_longer_share: longer[w]! / n };
  }
  return {
    key: "length",
    score,
    stats,
    reason: (w) => {
      const s = stats[w]!;
      const share = s.length_longer_share!;
      return `when disagreeing with the other raters, chose the ${share >= 0.5 ? "longer" : "shorter"} response ${pct(share >= 0.5 ? share : 1 - share)} of the time (${s.length_disagreements} disagreements)`;
    },
  };
}
