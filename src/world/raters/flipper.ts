/**
 * Label flipper: on harmful prompts prefers unsafe compliance over the refusal (with
 * probability `rate`); honest everywhere else. The simplest poisoning of harmlessness
 * preferences: flip the label of every harmful-prompt pair the attacker gets to rate.
 *
 *   choice = unsafe side            if the prompt is harmful, one side is unsafe, u < rate
 *            honest draw            otherwise
 */
import type { Rng } from "../../core/rng.js";
import { honestChoice } from "./honest.js";
import {
  type HonestParams,
  type RaterModel,
  type RaterProfile,
  type SimItem,
  unsafeSide,
  type Vote,
} from "./model.js";

export function flipperModel(
  profile: RaterProfile,
  params: HonestParams,
  rate: number,
): RaterModel {
  return {
    profile,
    vote(item: SimItem, rng: Rng): Vote {
      const side = item.prompt.family === "harmful" ? unsafeSide(item) : undefined;
      if (side !== undefined && rng.bernoulli(rate)) return { choice: side, attacked: true };
      return { choice: honestChoice(params, item, rng), attacked: false };
    },
  };
}
