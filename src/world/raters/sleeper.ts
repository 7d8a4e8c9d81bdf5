/**
 * Sleeper: answers gold items honestly (so gold-accuracy checks pass) and poisons the rest.
 * `poison: flip` inverts its own honest vote; `poison: unsafe` prefers the unsafe side where
 * there is one (honest elsewhere). It recognises a gold item as gold with probability
 * `gold_detection` (1: it always knows, as when gold items are reused or look different).
 *
 *   choice = honest draw                          if gold and recognised
 *            poison(honest draw)  with prob rate   otherwise
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

export function sleeperModel(
  profile: RaterProfile,
  params: HonestParams,
  poison: "flip" | "unsafe",
  rate: number,
  goldDetection: number,
): RaterModel {
  return {
    profile,
    vote(item: SimItem, rng: Rng): Vote {
      const honest = honestChoice(params, item, rng);
      if (item.gold && rng.bernoulli(goldDetection)) return { choice: honest, attacked: false };
      if (!rng.bernoulli(rate)) return { choice: honest, attacked: false };
      if (poison === "flip") return { choice: opposite(honest), attacked: true };
      const side = unsafeSide(item);
      return side === undefined
        ? { choice: honest, attacked: false }
        : { choice: side, attacked: true };
    },
  };
}
