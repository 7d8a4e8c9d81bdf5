/**
 * Length poisoner (RankPoison, in Wang et al., "RLHFPoison: Reward Poisoning Attack for
 * Reinforcement Learning with Human Feedback in Large Language Models", ACL 2024,
 * arXiv:2311.09641): prefers the longer
 * response with probability `rate`, so that a reward model learns length and the policy grows
 * verbose; honest otherwise and when lengths are equal.
 *
 *   choice = longer side       if words differ, u < rate
 *            honest draw       otherwise
 */
import type { Rng } from "../../core/rng.js";
import { honestChoice } from "./honest.js";
import {
  type HonestParams,
  longerSide,
  type RaterModel,
  type RaterProfile,
  type SimItem,
  type Vote,
} from "./model.js";

export function lengthPoisonerModel(
  profile: RaterProfile,
  params: HonestParams,
  rate: number,
): RaterModel {
  return {
    profile,
    vote(item: SimItem, rng: Rng): Vote {
      const side = longerSide(item);
      if (side !== undefined && rng.bernoulli(rate)) return { choice: side, attacked: true };
      return { choice: honestChoice(params, item, rng), attacked: false };
    },
  };
}
