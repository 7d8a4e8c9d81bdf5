/**
 * Gold accuracy as a Beta posterior. On gold comparisons (known answer) rater w gave c correct
 * and e wrong answers (a tie against a side counts half of each):
 *
 *   θ_w | data ~ Beta(α₀ + c, β₀ + e)          (prior Beta(α₀, β₀), default Beta(8, 2): mean 0.8)
 *   score_w    = P(θ_w < min_accuracy | data)
 *
 * Why a posterior and not the raw ratio: one miss out of two gold items is a 50% ratio but
 * almost no evidence; the posterior says so (score ≈ 0.20 at the defaults), while ten misses out
 * of twenty give 0.70 and twenty of forty 0.90: a rater at chance on gold needs about forty gold
 * answers to be excluded on gold alone. Sleepers answer gold honestly, so this detector cannot
 * see them; the agreement detector can.
 */
import { LABEL_TIE } from "../data.js";
import { betaCdf } from "../stats.js";
import { emptySignal, pct, type RaterSignal, type SignalContext, type Stats } from "./signal.js";

export function goldSignal(ctx: SignalContext): RaterSignal {
  const { data, config } = ctx;
  const cfg = config.signals.gold;
  const W = data.nRaters;
  if (!cfg.enabled) return emptySignal("gold", W);
  const correct = new Float64Array(W);
  const wrong = new Float64Array(W);
  const gold = data.comparisons.gold;
  let any = false;
  for (let q = 0; q < data.order.length; q++) {
    const j = data.order[q]!;
    const g = gold[data.comparison[j]!]!;
    if (g < 0) continue;
    any = true;
    const w = data.rater[j]!;
    const l = data.label[j]!;
    if (l === g) correct[w]! += 1;
    else if (l === LABEL_TIE || g === LABEL_TIE) {
      correct[w]! += 0.5;
      wrong[w]! += 0.5;
    } else wrong[w]! += 1;
  }
  if (!any) return emptySignal("gold", W);
  const score = new Float64Array(W);
  const stats: (Stats | undefined)[] = new Array(W).fill(undefined);
  for (let w = 0; w < W; w++) {
    const n = correct[w]! + wrong[w]!;
    if (n === 0) continue;
    const a = cfg.prior_correct + correct[w]!;
    const b = cfg.prior_wrong + wrong[w]!;
    score[w] = betaCdf(cfg.min_accuracy, a, b);
    stats[w] = { gold_items: n, gold_correct: correct[w]!, gold_accuracy_mean: a / (a + b) };
  }
  return {
    key: "gold",
    score,
    stats,
    reason: (w) => {
      const s = stats[w]!;
      return `gold accuracy ${s.gold_correct}/${s.gold_items} (posterior mean ${pct(s.gold_accuracy_mean!)}), probably below ${pct(cfg.min_accuracy)}`;
    },
  };
}
