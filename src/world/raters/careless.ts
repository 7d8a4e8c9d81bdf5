/**
 * Careless rater: does not read. Modes: `random` (a or b uniformly, a tie with probability
 * tie_rate), `always_a` (always the first response), `fast` (random, with latencies a fifth of
 * an honest rater's base and no reading time). With probability `attention` a careless rater
 * judges honestly anyway.
 *
 *   P(a) = P(b) = (1 − tie_rate)/2            (random, fast; when not attentive)
 */
import type { Rng } from "../../core/rng.js";
import { honestChoice } from "./honest.js";
import type { HonestParams, RaterModel, RaterProfile, SimItem, Vote } from "./model.js";

export type CarelessMode = "random" | "always_a" | "fast";

export function carelessModel(
  profile: RaterProfile,
  params: HonestParams,
  mode: CarelessMode,
  attention: number,
  tieRate: number,
): RaterModel {
  return {
    profile,
    vote(item: SimItem, rng: Rng): Vote {
      if (attention > 0 && rng.bernoulli(attention))
        return { choice: honestChoice(params, item, rng), attacked: false };
      if (mode === "always_a") return { choice: "a", attacked: false };
      if (tieRate > 0 && rng.bernoulli(tieRate)) return { choice: "tie", attacked: false };
      return { choice: rng.bernoulli(0.5) ? "a" : "b", attacked: false };
    },
  };
}
