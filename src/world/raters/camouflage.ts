/**
 * Camouflage: what an attacker who knows the audit does to stay under it. It judges honestly
 *   - on a gold item it recognises as gold (probability `gold_detection`),
 *   - on an easy item, whose true quality gap is at least `easy_margin` (honest raters agree
 *     there, so a departure shows; every gold item is at least `gold_min_margin` apart),
 *   - on its first `wake_after` judgments (a sleeper's switch point: it builds a record first),
 * and follows its attack rule everywhere else. With none of the three set, the model is returned
 * as it is and draws nothing more, so a world without camouflage keeps its bytes.
 *
 *   choice = honest draw       if asleep, or gold and recognised, or |q_a − q_b| ≥ easy_margin
 *            attack(item)      otherwise
 */
import type { Rng } from "../../core/rng.js";
import { honestChoice } from "./honest.js";
import type { HonestParams, RaterModel, SimItem } from "./model.js";

export interface Camouflage {
  readonly gold_detection?: number | undefined;
  readonly easy_margin?: number | undefined;
  readonly wake_after?: number | undefined;
}

/** The camouflage keys a group sets, as truth.json records them (absent keys left out). */
export function camouflageParams(c: Camouflage): Record<string, number> {
  const out: Record<string, number> = {};
  if (c.gold_detection !== undefined) out.gold_detection = c.gold_detection;
  if (c.easy_margin !== undefined) out.easy_margin = c.easy_margin;
  if (c.wake_after !== undefined) out.wake_after = c.wake_after;
  return out;
}

export function hasCamouflage(c: Camouflage): boolean {
  return Object.keys(camouflageParams(c)).length > 0;
}

/**
 * Whether the attacker hides on this item (gold it recognises, or an easy one). Draws from
 * `rng` only on a gold item with `gold_detection` above 0 (0 behaves as absent).
 */
export function hidesOn(c: Camouflage, item: SimItem, rng: Rng): boolean {
  const gd = c.gold_detection ?? 0;
  if (item.gold && gd > 0 && rng.bernoulli(gd)) return true;
  return c.easy_margin !== undefined && Math.abs(item.a.quality - item.b.quality) >= c.easy_margin;
}

/** Counts an attacker's turns for `wake_after`; `restart` for a new simulation of the world. */
export class WakeClock {
  private seen = 0;
  constructor(private readonly wakeAfter: number | undefined) {}
  /** True while the attacker is still asleep; counts this turn. */
  asleep(): boolean {
    const a = this.wakeAfter !== undefined && this.seen < this.wakeAfter;
    this.seen++;
    return a;
  }
  restart(): void {
    this.seen = 0;
  }
}

/** `model` with camouflage: honest where it hides, its own rule elsewhere. */
export function camouflaged(model: RaterModel, params: HonestParams, c: Camouflage): RaterModel {
  if (!hasCamouflage(c)) return model;
  const clock = new WakeClock(c.wake_after);
  return {
    profile: model.profile,
    restart() {
      clock.restart();
      model.restart?.();
    },
    vote(item, rng) {
      if (clock.asleep() || hidesOn(c, item, rng))
        return { choice: honestChoice(params, item, rng), attacked: false };
      return model.vote(item, rng);
    },
  };
}
