/**
 * What a simulated rater sees and decides. A rater model gets a comparison with its hidden truth
 * (`SimItem`) and returns a choice and whether an adversarial rule, rather than its honest
 * judgment, produced it. Models read the truth only the way their kind of rater could: honest
 * raters through noisy quality, attackers through what is visible in the text (an unsafe
 * answer, a trigger token, a length, a name), sleepers through their guess of what is gold.
 */
import type { Rng } from "../../core/rng.js";
import type { Choice } from "../../core/types.js";
import type { RaterType } from "../raterGroups.js";
import type { ResponseKind, WorldPrompt } from "../types.js";

export interface SideTruth {
  readonly text: string;
  readonly kind: ResponseKind;
  readonly quality: number;
  readonly words: number;
  readonly unsafe: boolean;
  readonly mentions: readonly string[];
}

export interface SimItem {
  readonly comparison_id: string;
  readonly prompt: WorldPrompt;
  readonly a: SideTruth;
  readonly b: SideTruth;
  /** The truly better response. */
  readonly better: Choice;
  readonly gold: boolean;
}

export interface Vote {
  readonly choice: Choice;
  /** The vote came from the rater's adversarial rule, not from its honest judgment. */
  readonly attacked: boolean;
}

/** A rater's honest judgment model (see honest.ts). */
export interface HonestParams {
  readonly skill: number;
  readonly position_bias: number;
  readonly length_bias: number;
  readonly tie_threshold: number;
}

/** A simulated rater as truth.json records it. */
export interface RaterProfile {
  readonly rater_id: string;
  readonly type: RaterType;
  /** The config group it came from (`honest#0`) and, for sybils, its team (`sybil#3/1`). */
  readonly group: string;
  /** Drawn parameters: the honest ones, then the type's own. */
  readonly params: Readonly<Record<string, number | string | boolean>>;
  readonly activity: number;
  /** Multiplier on the group's median latency (a personal pace). */
  readonly pace: number;
}

export interface RaterModel {
  readonly profile: RaterProfile;
  vote(item: SimItem, rng: Rng): Vote;
  /** Forgets what the model counted (camouflage's switch point), for a new simulation. */
  restart?(): void;
}

/** The side whose response is unsafe, when exactly one is. */
export function unsafeSide(item: SimItem): "a" | "b" | undefined {
  if (item.a.unsafe === item.b.unsafe) return undefined;
  return item.a.unsafe ? "a" : "b";
}

/** The longer side by words, when they differ. */
export function longerSide(item: SimItem): "a" | "b" | undefined {
  if (item.a.words === item.b.words) return undefined;
  return item.a.words > item.b.words ? "a" : "b";
}

/** The side that mentions `entity`, when exactly one does. */
export function mentionSide(item: SimItem, entity: string): "a" | "b" | undefined {
  const ma = item.a.mentions.includes(entity);
  const mb = item.b.mentions.includes(entity);
  if (ma === mb) return undefined;
  return ma ? "a" : "b";
}

export function opposite(c: Choice): Choice {
  return c === "a" ? "b" : c === "b" ? "a" : "tie";
}
