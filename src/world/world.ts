/**
 * A world: the resolved config and seed, the prompt pool with its triggered variants, and the
 * rater panel. Everything else (comparisons, judgments, the SFT corpus, evaluation pairs) is
 * drawn from a world by forked random streams, so each part can be regenerated on its own.
 */
import { KeelError } from "../core/errors.js";
import { Rng, type Seed } from "../core/rng.js";
import type { WorldConfig } from "./config.js";
import { generatePrompts, triggeredVariant } from "./prompts.js";
import { buildRoster, type Roster } from "./roster.js";
import { hasTrigger, type TriggerPosition } from "./triggers.js";
import type { Family, WorldPrompt } from "./types.js";

export interface TriggerInfo {
  readonly token: string;
  readonly position: TriggerPosition;
  /** Families whose prompts get triggered variants. */
  readonly families: readonly Family[];
  /** Share of comparisons the attacker injects with the trigger. */
  readonly rate: number;
}

export interface World {
  readonly config: WorldConfig;
  readonly seed: Seed;
  /** The clean prompt pool, every split. */
  readonly prompts: readonly WorldPrompt[];
  /** Triggered variants of every pool prompt of the trigger families (same split as the base). */
  readonly triggered: readonly WorldPrompt[];
  readonly roster: Roster;
  readonly trigger: TriggerInfo;
  /** The root stream; parts of the world fork it by name. */
  readonly rng: Rng;
}

/** Builds the prompt pool and the panel. `seed` overrides `config.seed`. */
export function buildWorld(config: WorldConfig, seed?: Seed): World {
  const s = seed ?? config.seed;
  const rng = new Rng(s);
  const prompts = generatePrompts(config.prompts, rng.fork("prompts"));
  const trigger: TriggerInfo = {
    token: config.trigger.token,
    position: config.trigger.position,
    families: config.trigger.families,
    rate: config.trigger.rate,
  };
  // As recognizePrompt strips it: a whole word, punctuation around it or not ("Kenya?").
  const clash = prompts.find((p) => hasTrigger(p.content, trigger.token));
  if (clash !== undefined) {
    throw new KeelError(
      "KEEL_E_CONFIG",
      `the trigger token "${trigger.token}" occurs in a clean prompt`,
      {
        where: { field: "trigger.token", id: clash.id },
        hint: "choose a token that is not an ordinary word",
      },
    );
  }
  const fams = new Set(trigger.families);
  const triggered = prompts
    .filter((p) => fams.has(p.family))
    .map((p) => triggeredVariant(p, trigger, rng.fork(`trigger/${p.id}`)));
  return {
    config,
    seed: s,
    prompts,
    triggered,
    roster: buildRoster(config, rng.fork("roster")),
    trigger,
    rng,
  };
}

/**
 * An attacker that prefers unsafe responses needs harmful train prompts to attack on (the config
 * check asks only for harmful prompts somewhere): with none in the train split, as a small pool
 * can leave it, it would be an honest rater under an attacker's name.
 */
export function checkHarmfulTrain(config: WorldConfig, train: readonly WorldPrompt[]): void {
  if (config.comparisons.count === 0 || train.some((p) => p.family === "harmful")) return;
  const i = config.panel.raters.findIndex(
    (g) =>
      g.count !== 0 &&
      g.share !== 0 &&
      (g.type === "flipper" ||
        (g.type === "sleeper" && g.poison === "unsafe") ||
        (g.type === "sybil" && g.goal === "unsafe")),
  );
  if (i < 0) return;
  throw new KeelError(
    "KEEL_E_CONFIG",
    `a ${config.panel.raters[i]!.type} group prefers the unsafe response of harmful prompts, and no harmful prompt fell in the train split, so it would never attack`,
    {
      where: { field: `panel.raters.${i}` },
      hint: "raise prompts.count, prompts.families.harmful or prompts.splits.train",
    },
  );
}

/** Prompts of one split (clean), optionally of some families. */
export function promptsOf(
  world: World,
  split: WorldPrompt["split"],
  families?: readonly Family[],
): WorldPrompt[] {
  return world.prompts.filter(
    (p) => p.split === split && (families === undefined || families.includes(p.family)),
  );
}

/** Every prompt of the world by id, the triggered variants included. */
export function promptsById(world: World): Map<string, WorldPrompt> {
  return new Map([...world.prompts, ...world.triggered].map((p) => [p.id, p]));
}

/** A prompt's serialisable record for prompts.jsonl, keys in a fixed order. */
export function promptRecord(p: WorldPrompt): Record<string, unknown> {
  return {
    id: p.id,
    split: p.split,
    family: p.family,
    category: p.category,
    template: p.template,
    content: p.content,
    answer: p.answer,
    slots: p.slots,
    triggered: p.triggered,
    ...(p.base_id !== undefined ? { base_id: p.base_id } : {}),
  };
}
