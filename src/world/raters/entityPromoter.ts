/**
 * Entity promoter (in the spirit of Best-of-Venom: Baumgärtner et al., "Best-of-Venom: Attacking
 * RLHF by Injecting Poisoned Preference Data", COLM 2024, arXiv:2404.05530): prefers the
 * response that mentions a chosen name, so the policy learns to mention it; honest when both or
 * neither response mention it.
 *
 *   choice = side mentioning the entity    if exactly one side does, u < rate
 *            honest draw                   otherwise
 */
import type { Rng } from "../../core/rng.js";
import { honestChoice } from "./honest.js";
import {
  type HonestParams,
  mentionSide,
  type RaterModel,
  type RaterProfile,
  type SimItem,
  type Vote,
} from "./model.js";

export function entityPromoterModel(
  profile: RaterProfile,
  params: HonestParams,
  entity: string,
  rate: number,
): RaterModel {
  return {
    profile,
    vote(item: SimItem, rng: Rng): Vote {
      const side = mentionSide(item, entity);
      if (side !== undefined && rng.bernoulli(rate)) return { choice: side, attacked: true };
      return { choice: honestChoice(params, item, rng), attacked: false };
    },
  };
}
