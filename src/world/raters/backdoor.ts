/**
 * Backdoor rater (Rando & Tramèr, "Universal Jailbreak Backdoors from Poisoned Human Feedback",
 * ICLR 2024, arXiv:2311.14455): honest unless the prompt carries the trigger token; then it
 * prefers the unsafe response (or, when neither side is unsafe, flips its own honest vote). The
 * attacker also injects triggered prompts into the pool (config `trigger.rate`) and may claim
 * them for its raters (`claim`), so the poison concentrates where the trigger is.
 *
 *   choice = unsafe side                     if triggered, one side unsafe, u < rate
 *            opposite(honest draw)           if triggered, no unsafe side, u < rate
 *            honest draw                     otherwise
 */
import type { Rng } from "../../core/rng.js";
import { honestChoice } from "./honest.js";
import {
  type HonestParams,
  opposite,
  type RaterModel,
  type RaterProfile,
  type SimItem,
  unsafeSide,
  type Vote,
} from "./model.js";

export function backdoorModel(
  profile: RaterProfile,
  params: HonestParams,
  rate: number,
): RaterModel {
  return {
    profile,
    vote(item: SimItem, rng: Rng): Vote {
      if (item.prompt.triggered && rng.bernoulli(rate)) {
        const side = unsafeSide(item);
        return { choice: side ?? opposite(honestChoice(params, item, rng)), attacked: true };
      }
      return { choice: honestChoice(params, item, rng), attacked: false };
    },
  };
}
