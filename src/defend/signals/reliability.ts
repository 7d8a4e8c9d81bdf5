/**
 * Reliability from an aggregation model that separates rater ability from item difficulty:
 * GLAD (Whitehill et al., NIPS 2009; aggregate/categorical/glad.ts), P(correct) = σ(α_w β_i).
 * Its ability α_w is what a rater is worth once the difficulty of the items it happened to see
 * is accounted for — a rater who saw only hard items is not blamed for them.
 *
 *   se(α_w)  = 1/√(1 + Σ_j σ(x_j)(1 − σ(x_j)) β_i²),  x_j = α_w β_i   (observed information,
 *                                                                      + the N(1,1) prior's 1)
 *   τ        = min_ability_ratio · median_w α_w          (raters with enough judgments)
 *   score_w  = P(α_w < τ) ≈ Φ((τ − α̂_w)/se)
 *
 * Like every agreement-based model, GLAD takes a colluding majority for the truth: sybil teams
 * that fill whole comparisons look able here (groups.ts is the detector for them). The model's
 * per-rater probability of a correct label (GLAD's `reliability`) is reported too.
 */
import { type CategoricalData, glad } from "../../aggregate/index.js";
import { median, normalSf } from "../stats.js";
import { emptySignal, type RaterSignal, type SignalContext, type Stats } from "./signal.js";

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

export function reliabilitySignal(ctx: SignalContext, view: CategoricalData): RaterSignal {
  const { data, config } = ctx;
  const cfg = config.signals.reliability;
  const W = data.nRaters;
  if (!cfg.enabled || view.task.length === 0) return emptySignal("reliability", W);
  const fit = glad(view, { maxIter: cfg.max_iter, tol: 1e-6 });
  const info = new Float64Array(W).fill(1);
  const count = new Float64Array(W);
  for (let j = 0; j < view.task.length; j++) {
    const w = view.worker[j]!;
    const beta = fit.betas[view.task[j]!]!;
    const s = sigmoid(fit.alphas[w]! * beta);
    info[w]! += s * (1 - s) * beta * beta;
    count[w]! += 1;
  }
  const eligible: number[] = [];
  for (let w = 0; w < W; w++) if (count[w]! >= config.min_judgments) eligible.push(fit.alphas[w]!);
  const tau = cfg.min_ability_ratio * median(eligible.length > 0 ? eligible : fit.alphas);
  const score = new Float64Array(W);
  const stats: (Stats | undefined)[] = new Array(W).fill(undefined);
  for (let w = 0; w < W; w++) {
    if (count[w] === 0) continue;
    const se = 1 / Math.sqrt(info[w]!);
    score[w] = normalSf((fit.alphas[w]! - tau) / se);
    stats[w] = {
      ability: fit.alphas[w]!,
      ability_se: se,
      ability_threshold: tau,
      glad_reliability: fit.reliability[w]!,
    };
  }
  return {
    key: "reliability",
    score,
    stats,
    reason: (w) => {
      const s = stats[w]!;
      return `ability ${s.ability!.toFixed(2)} ± ${s.ability_se!.toFixed(2)} under GLAD (difficulty-adjusted), below ${s.ability_threshold!.toFixed(2)} (${cfg.min_ability_ratio} × the median rater's)`;
    },
  };
}
