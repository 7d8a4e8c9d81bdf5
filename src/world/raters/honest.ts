/**
 * Honest rater: a Bradley–Terry judgment of the true quality difference with personal noise,
 * position bias and length bias, and Rao–Kupper ties.
 *
 *   z      = skill · (q_a − q_b) + position_bias + length_bias · ln(words_a / words_b)
 *   P(a)   = σ(z − θ),  P(b) = σ(−z − θ),  P(tie) = 1 − P(a) − P(b)      (θ = tie_threshold ≥ 0)
 *
 * skill = 0 is a coin flip; large skill approaches the truth. Position bias favours the response
 * shown first (A); length bias favours the longer response. θ = 0 gives no ties.
 * Bradley & Terry, Biometrika 39 (1952), doi:10.2307/2334029; Rao & Kupper, JASA 62 (1967),
 * doi:10.1080/01621459.1967.10482901.
 * Example: skill 4, q_a − q_b = 0.9 (correct vs wrong), no biases → P(a) = σ(3.6) ≈ 0.973.
 */
import type { Rng } from "../../core/rng.js";
import type { Choice } from "../../core/types.js";
import type { HonestParams, RaterModel, RaterProfile, SimItem, Vote } from "./model.js";

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** The honest logit z for response A. */
export function honestLogit(p: HonestParams, item: SimItem): number {
  return (
    p.skill * (item.a.quality - item.b.quality) +
    p.position_bias +
    p.length_bias * Math.log(Math.max(1, item.a.words) / Math.max(1, item.b.words))
  );
}

/** Probabilities of a, b and tie under Rao–Kupper with threshold θ. */
export function choiceProbabilities(
  z: number,
  theta: number,
): { a: number; b: number; tie: number } {
  const a = sigmoid(z - theta);
  const b = sigmoid(-z - theta);
  return { a, b, tie: Math.max(0, 1 - a - b) };
}

/** One honest draw. */
export function honestChoice(p: HonestParams, item: SimItem, rng: Rng): Choice {
  const pr = choiceProbabilities(honestLogit(p, item), p.tie_threshold);
  const u = rng.float();
  if (u < pr.a) return "a";
  if (u < pr.a + pr.b) return "b";
  return "tie";
}

/** Probability that an honest rater picks the truly better side of an item (ties count as misses). */
export function honestAccuracy(p: HonestParams, item: SimItem): number {
  if (item.better === "tie") return Number.NaN;
  const pr = choiceProbabilities(honestLogit(p, item), p.tie_threshold);
  return item.better === "a" ? pr.a : pr.b;
}

export function honestModel(profile: RaterProfile, params: HonestParams): RaterModel {
  return {
    profile,
    vote: (item: SimItem, rng: Rng): Vote => ({
      choice: honestChoice(params, item, rng),
      attacked: false,
    }),
  };
}
