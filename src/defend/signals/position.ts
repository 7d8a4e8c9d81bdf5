/**
 * Position bias, measured where it matters: on the judgments where rater w disagrees with the
 * majority of the other raters, did w pick the response shown first (left) or second?
 *
 *   k = #{disagreements where w chose the side shown first},  n = #disagreements
 *   score_w = P(|s − ½| > tolerance),  s ~ Beta(5 + k, 5 + n − k)        (a McNemar-style test)
 *
 * Agreements carry no information about bias (the rater and the others chose the same side);
 * disagreements of an unbiased rater fall left and right alike. "Shown first" honours
 * `shown_order: "ba"`. An always-A rater disagrees only by choosing left.
 */

import { LABEL_TIE } from "../data.js";
import {
  emptySignal,
  pct,
  type RaterSignal,
  type SignalContext,
  type Stats,
  sideShareScore,
} from "./signal.js";

export function positionSignal(ctx: SignalContext): RaterSignal {
  const { data, loo, config } = ctx;
  const cfg = config.signals.position;
  const W = data.nRaters;
  if (!cfg.enabled) return emptySignal("position", W);
  const left = new Float64Array(W);
  const total = new Float64Array(W);
  for (let q = 0; q < data.order.length; q++) {
    const j = data.order[q]!;
    const maj = loo.majority[j]!;
    const l = data.label[j]!;
    if (maj < 0 || l === LABEL_TIE || l === maj) continue;
    const w = data.rater[j]!;
    total[w]! += 1;
    // label a shown first unless swapped
    if ((l === 0) !== (data.swapped[j] === 1)) left[w]! += 1;
  }
  const score = new Float64Array(W);
  const stats: (Stats | undefined)[] = new Array(W).fill(undefined);
  for (let w = 0; w < W; w++) {
    const n = total[w]!;
    if (n === 0) continue;
    score[w] = sideShareScore(left[w]!, n, cfg.tolerance);
    stats[w] = { position_disagreements: n, position_first_share: left[w]! / n };
  }
  return {
    key: "position",
    score,
    stats,
    reason: (w) => {
      const s = stats[w]!;
      const first = s.position_first_share!;
      return `when disagreeing with the other raters, chose the response shown ${first >= 0.5 ? "first" : "second"} ${pct(first >= 0.5 ? first : 1 - first)} of the time (${s.position_disagreements} disagreements)`;
    },
  };
}
