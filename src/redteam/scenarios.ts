/**
 * Attack scenarios as configuration: which adversary, at what share of the rater panel, with
 * which trigger or target. `applyAttack` turns a clean world configuration into the attacked one
 * by giving the adversary its share of the panel at the honest raters' expense, so that sweeps
 * over the rate change one thing at a time.
 *
 * The rate is a share of raters. The share of poisoned judgments that results is measured from
 * the world's truth (each comparison records which raters voted adversarially), and reported
 * beside it: an attacker who poisons only triggered or harmful prompts poisons fewer judgments
 * than there are attacker votes.
 */
import { z } from "zod";
import { KeelError } from "../core/errors.js";
import type { RaterGroupConfig, WorldConfigInput } from "../world/config.js";

export const ATTACK_TYPES = [
  "none",
  "flip",
  "backdoor",
  "sybil",
  "sleeper",
  "length",
  "entity",
] as const;
export type AttackType = (typeof ATTACK_TYPES)[number];

/** The attack type each optional field belongs to. */
const FIELD_OF = {
  trigger: "backdoor",
  claim: "backdoor",
  target: "entity",
  group_size: "sybil",
} as const satisfies Record<string, AttackType>;

export const AttackSchema = z
  .strictObject({
    type: z.enum(ATTACK_TYPES),
    /** Share of the rater panel the adversary controls. */
    rate: z.number().finite().min(0).max(0.5),
    /** Backdoor trigger token (default: the world's). */
    trigger: z.string().regex(/^\S+$/, "must be one token without spaces").optional(),
    /** Entity an entity promoter pushes. */
    target: z.string().min(1).optional(),
    /** Accounts per sybil group. */
    group_size: z.int().min(2).optional(),
    /**
     * Backdoor: probability that the attacker claims a triggered comparison for its raters
     * (default 0.9). Rando & Tramèr's attacker controls the labels of the pairs it poisons; a
     * panel attacker gets there by rating the comparisons that carry its own trigger, which it
     * injected. With 0 its raters see triggered comparisons only by chance.
     */
    claim: z.number().min(0).max(1).optional(),
  })
  .superRefine((a, ctx) => {
    // A field the chosen attacker does not use would be dropped without a word: a sybil attack
    // given a target promoted nothing, and the run said nothing of it.
    for (const [field, type] of Object.entries(FIELD_OF)) {
      if (a[field as keyof typeof FIELD_OF] === undefined || a.type === type) continue;
      ctx.addIssue({
        code: "custom",
        path: [field],
        message: `only a ${type} attack uses it, and this one is ${a.type}: remove it, or set type: ${type}`,
      });
    }
  });
export type Attack = z.infer<typeof AttackSchema>;

/** How often a backdoor attacker claims its triggered comparisons unless told otherwise. */
export const BACKDOOR_CLAIM = 0.9;

type GroupInput = Record<string, unknown> & {
  type: RaterGroupConfig["type"];
  share?: number;
  count?: number;
};

function attackerGroup(a: Attack): GroupInput {
  switch (a.type) {
    case "flip":
      return { type: "flipper", share: a.rate };
    case "backdoor":
      return { type: "backdoor", share: a.rate, claim: a.claim ?? BACKDOOR_CLAIM };
    case "sybil":
      return {
        type: "sybil",
        share: a.rate,
        goal: "unsafe",
        ...(a.group_size ? { group_size: a.group_size } : {}),
      };
    case "sleeper":
      return { type: "sleeper", share: a.rate };
    case "length":
      return { type: "length_poisoner", share: a.rate };
    case "entity":
      return { type: "entity_promoter", share: a.rate, ...(a.target ? { entity: a.target } : {}) };
    case "none":
      throw new KeelError("KEEL_E_INTERNAL", "no attacker group for attack type none");
  }
}

/**
 * The attacked configuration: every panel group keeps its share except the honest ones, which
 * give up `rate` between them (proportionally). Groups must be given by share.
 *
 * The attacker's group goes right after the last honest group, where the raters it replaces
 * were: the groups after it keep their places in the roster (src/world/roster.ts), so their
 * raters keep their ids and draws, and the attacked world stays paired with the clean one of
 * the same seed (`attackerGroupIndex` finds it again).
 */
/**
 * Where `applyAttack` puts the attacker's group: right after the last honest group of the clean
 * panel, which is also the attacked panel's last honest group.
 */
export function attackerGroupIndex(groups: readonly { readonly type: string }[]): number {
  return groups.findLastIndex((g) => g.type === "honest") + 1;
}

export function applyAttack(base: WorldConfigInput, attack: Attack): WorldConfigInput {
  const panel = (base as { panel?: { size?: number; raters?: GroupInput[] } }).panel;
  // No attacker: the config as it is, whether its groups are given by share or by count.
  if (attack.type === "none" || attack.rate === 0) return base;
  const groups = panel?.raters ?? [{ type: "honest", share: 1 }];
  if (groups.some((g) => g.share === undefined)) {
    throw new KeelError(
      "KEEL_E_CONFIG",
      "attack scenarios need panel groups given by share, not count",
      {
        where: { field: "panel.raters" },
      },
    );
  }
  const honestShare = groups
    .filter((g) => g.type === "honest")
    .reduce((s, g) => s + (g.share ?? 0), 0);
  if (honestShare < attack.rate) {
    throw new KeelError(
      "KEEL_E_CONFIG",
      `attack rate ${attack.rate} exceeds the honest share ${honestShare}`,
      {
        where: { field: "attack.rate" },
      },
    );
  }
  const scale = (honestShare - attack.rate) / honestShare;
  const kept = groups.map((g) =>
    g.type === "honest" ? { ...g, share: (g.share ?? 0) * scale } : g,
  );
  const at = attackerGroupIndex(groups);
  const raters = [...kept.slice(0, at), attackerGroup(attack), ...kept.slice(at)];
  const trigger =
    attack.type === "backdoor" && attack.trigger
      ? { trigger: { ...((base as { trigger?: object }).trigger ?? {}), token: attack.trigger } }
      : {};
  return { ...base, ...trigger, panel: { ...panel, raters } } as WorldConfigInput;
}
