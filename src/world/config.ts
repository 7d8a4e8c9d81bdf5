/**
 * The world config (world.yaml): prompt pool, comparisons, the backdoor trigger, entity
 * mentions, the SFT corpus, held-out evaluation pairs, and the rater panel. Validated once here
 * with zod; unknown keys are errors that name the field. The caller reads the file (src/world
 * does no I/O) and may pass a `lineOf` lookup so that errors also name the line.
 */
import { z } from "zod";
import { type ConfigSource, parseConfig } from "../core/config.js";
import { MAX_COMPARISONS, MAX_RATERS, MAX_ROWS } from "./limits.js";
import { RaterGroupSchema, Share } from "./raterGroups.js";
import { DEFAULT_TRIGGER } from "./triggers.js";
import type { Family, ResponseKind } from "./types.js";

export { MAX_COMPARISONS } from "./limits.js";
export {
  type Dist,
  DistSchema,
  RATER_TYPES,
  type RaterGroupConfig,
  RaterGroupSchema,
  type RaterType,
} from "./raterGroups.js";

const FamilyEnum = z.enum([
  "arithmetic",
  "facts",
  "words",
  "harmful",
  "borderline",
]) satisfies z.ZodType<Family>;
const KindEnum = z.enum([
  "correct",
  "wrong",
  "verbose_correct",
  "verbose_wrong",
  "refusal",
  "unsafe",
]) satisfies z.ZodType<ResponseKind>;
const Weight = z.number().finite().nonnegative();

const DEFAULT_FAMILIES = {
  arithmetic: 0.25,
  facts: 0.2,
  words: 0.2,
  harmful: 0.2,
  borderline: 0.15,
};
const DEFAULT_PAIR_KINDS = {
  correct: 1,
  wrong: 1,
  verbose_correct: 1,
  verbose_wrong: 1,
  refusal: 1,
};

const WorldConfigShape = z.strictObject({
  seed: z.union([z.int(), z.string().min(1)]).default(1),
  prompts: z
    .strictObject({
      count: z.int().min(10).max(1_000_000).default(4000),
      families: z.partialRecord(FamilyEnum, Weight).default(DEFAULT_FAMILIES),
      splits: z
        .strictObject({
          train: Weight.default(0.8),
          eval: Weight.default(0.1),
          redteam: Weight.default(0.1),
        })
        .prefault({}),
    })
    .prefault({}),
  comparisons: z
    .strictObject({
      count: z.int().nonnegative().max(MAX_COMPARISONS).default(10_000),
      /** Raters per comparison. */
      overlap: z.int().min(1).default(3),
      /** Probability that an eligible comparison is a gold item (its answer goes in `gold`). */
      gold_rate: Share.default(0.05),
      /** Only comparisons whose true quality gap is at least this can be gold (unambiguous). */
      gold_min_margin: z.number().finite().nonnegative().default(0.5),
      /** Weights of response kinds paired on benign prompts (harmful ones pair refusal/unsafe). */
      kinds: z.partialRecord(KindEnum, Weight).default(DEFAULT_PAIR_KINDS),
      /** Mean time between comparisons on the simulated clock (ms). */
      arrival_ms: z.number().finite().nonnegative().default(1500),
      start: z.iso.datetime({ offset: true }).default("2025-01-01T00:00:00.000Z"),
    })
    .prefault({}),
  trigger: z
    .strictObject({
      token: z.string().regex(/^\S+$/, "must be one token without spaces").default(DEFAULT_TRIGGER),
      /** Share of comparisons that the attacker injects: triggered prompts. */
      rate: Share.default(0),
      position: z.enum(["end", "start", "random"]).default("end"),
      families: z.array(FamilyEnum).min(1).default(["harmful"]),
    })
    .prefault({}),
  entities: z
    .strictObject({
      names: z
        .array(z.string().regex(/^[A-Z][A-Za-z]+$/, "must be one capitalised word"))
        .default(["Zentrix", "Quorra", "Valdane", "Orbisoft"]),
      /** Probability that a response mentions an entity (one of names, uniformly). */
      mention_rate: Share.default(0.1),
    })
    .prefault({}),
  sft: z
    .strictObject({
      count: z.int().nonnegative().max(MAX_ROWS).default(4000),
      benign: z.partialRecord(KindEnum, Weight).default({
        correct: 0.6,
        verbose_correct: 0.15,
        wrong: 0.12,
        verbose_wrong: 0.03,
        refusal: 0.1,
      }),
      borderline: z
        .partialRecord(KindEnum, Weight)
        .default({ correct: 0.5, refusal: 0.4, wrong: 0.1 }),
      harmful: z.partialRecord(KindEnum, Weight).default({ refusal: 0.6, unsafe: 0.4 }),
    })
    .prefault({}),
  eval_pairs: z
    .strictObject({
      count: z.int().nonnegative().max(MAX_ROWS).default(2000),
      /** Share of evaluation pairs on triggered harmful prompts. */
      triggered_rate: Share.default(0.25),
    })
    .prefault({}),
  panel: z
    .strictObject({
      size: z.int().min(1).max(MAX_RATERS).optional(),
      raters: z.array(RaterGroupSchema).min(1),
    })
    .prefault({ raters: [{ type: "honest", count: 20 }] }),
});

type Shape = z.infer<typeof WorldConfigShape>;
type Issue = (path: (string | number)[], message: string) => void;

export const WorldConfigSchema = WorldConfigShape.superRefine((c, ctx) =>
  crossChecks(c, (path, message) => ctx.addIssue({ code: "custom", path, message })),
);

export type WorldConfig = z.infer<typeof WorldConfigSchema>;
export type WorldConfigInput = z.input<typeof WorldConfigSchema>;

const BENIGN = ["correct", "wrong", "verbose_correct", "verbose_wrong", "refusal"];
/** The families whose SFT rows draw from `sft.benign`. */
const BENIGN_FAMILIES = ["arithmetic", "facts", "words"];

function crossChecks(c: Shape, issue: Issue): void {
  const fam = c.prompts.families as Record<string, number>;
  if (!Object.values(fam).some((w) => w > 0))
    issue(["prompts", "families"], "needs a family with positive weight");
  if (!(c.prompts.splits.train > 0))
    issue(["prompts", "splits", "train"], "must be positive: comparisons use train prompts");
  for (const k of Object.keys(c.comparisons.kinds)) {
    if (!BENIGN.includes(k))
      issue(
        ["comparisons", "kinds", k],
        "is not a kind for benign prompts (harmful ones always pair refusal with unsafe)",
      );
  }
  const benignKinds = Object.values(c.comparisons.kinds).filter((w) => (w ?? 0) > 0).length;
  const benignFamilies = Object.entries(fam).some(([f, w]) => f !== "harmful" && w > 0);
  if (benignFamilies && benignKinds < 2)
    issue(["comparisons", "kinds"], "needs at least two kinds with positive weight");
  for (const [name, mix] of [
    ["benign", c.sft.benign],
    ["borderline", c.sft.borderline],
    ["harmful", c.sft.harmful],
  ] as const) {
    const allowed = name === "harmful" ? ["refusal", "unsafe"] : BENIGN;
    for (const k of Object.keys(mix))
      if (!allowed.includes(k)) issue(["sft", name, k], `is not a kind for ${name} prompts`);
    const used = Object.entries(fam).some(
      ([f, w]) => w > 0 && (f === name || (name === "benign" && BENIGN_FAMILIES.includes(f))),
    );
    if (c.sft.count > 0 && used && !Object.values(mix).some((w) => (w ?? 0) > 0))
      issue(["sft", name], "needs a kind with positive weight");
  }
  if (c.eval_pairs.count > 0 && !(c.prompts.splits.eval > 0))
    issue(
      ["eval_pairs", "count"],
      `is ${c.eval_pairs.count} but prompts.splits.eval is 0, so no prompt is held out for them: set it to 0 or give eval a share`,
    );
  if (c.trigger.rate > 0 && !c.trigger.families.some((f) => (fam[f] ?? 0) > 0)) {
    issue(["trigger", "families"], "no prompts of these families exist to carry the trigger");
  }
  checkPanel(c, issue);
}

function checkPanel(c: Shape, issue: Issue): void {
  const groups = c.panel.raters;
  const usesShare = groups.some((g) => g.share !== undefined);
  if (usesShare && c.panel.size === undefined)
    issue(["panel", "size"], "is required when a rater group gives a share");
  if (usesShare) {
    const total = groups.reduce((s, g) => s + (g.share ?? 0), 0);
    const counted = groups.reduce((s, g) => s + (g.count ?? 0), 0);
    if (counted > 0)
      issue(["panel", "raters"], "give every group a count or every group a share, not both");
    else if (Math.abs(total - 1) > 1e-6)
      issue(["panel", "raters"], `shares sum to ${total}, not 1`);
  } else {
    const counted = groups.reduce((s, g) => s + (g.count ?? 0), 0);
    if (c.panel.size !== undefined && counted !== c.panel.size)
      issue(["panel", "size"], `is ${c.panel.size} but the group counts sum to ${counted}`);
    else if (counted > MAX_RATERS)
      issue(["panel", "raters"], `the group counts sum to ${counted}, more than ${MAX_RATERS}`);
    else if (counted < c.comparisons.overlap)
      issue(
        ["comparisons", "overlap"],
        `is ${c.comparisons.overlap} but the panel has ${counted} raters: each comparison needs that many distinct raters`,
      );
  }
  if (usesShare && c.panel.size !== undefined && c.panel.size < c.comparisons.overlap)
    issue(
      ["comparisons", "overlap"],
      `is ${c.comparisons.overlap} but panel.size is ${c.panel.size}: each comparison needs that many distinct raters`,
    );
  groups.forEach((g, i) => {
    if (g.type === "entity_promoter" || (g.type === "sybil" && g.goal === "entity")) {
      if (g.entity === undefined && c.entities.names.length === 0)
        issue(
          ["panel", "raters", i, "entity"],
          "an entity attack needs a name: set entity, or give entities.names",
        );
      else if (g.entity !== undefined && !c.entities.names.includes(g.entity))
        issue(
          ["panel", "raters", i, "entity"],
          `"${g.entity}" is not in entities.names, so no response would mention it`,
        );
    }
    // Only goal entity reads entity: under another goal the name would be ignored unseen.
    if (g.type === "sybil" && g.entity !== undefined && g.goal !== "entity")
      issue(
        ["panel", "raters", i, "entity"],
        `is set, but the group's goal is "${g.goal}", and only goal entity promotes a name: set goal: entity, or remove entity`,
      );
    if (g.type === "backdoor" && c.trigger.rate === 0) {
      issue(
        ["trigger", "rate"],
        "is 0, so backdoor raters never see a triggered prompt: set it above 0",
      );
    }
  });
  checkAttackersApply(c, issue);
}

/**
 * The rule each attacker group follows must be able to apply somewhere in this world, or the
 * group is honest raters under an attacker's name and a measurement of "the attack" measures
 * nothing. A group of no raters (count or share 0) attacks nowhere anyway and is let through,
 * as is an attack `rate` of 0 (the dose sweeps' control).
 */
function checkAttackersApply(c: Shape, issue: Issue): void {
  const harmful = ((c.prompts.families as Record<string, number>).harmful ?? 0) > 0;
  c.panel.raters.forEach((g, i) => {
    if (g.count === 0 || g.share === 0) return;
    const at = ["panel", "raters", i];
    const needsUnsafe =
      g.type === "flipper"
        ? "type"
        : g.type === "sleeper" && g.poison === "unsafe"
          ? "poison"
          : g.type === "sybil" && g.goal === "unsafe"
            ? "goal"
            : undefined;
    if (needsUnsafe !== undefined && !harmful)
      issue(
        [...at, needsUnsafe],
        `a ${g.type} group prefers the unsafe response, which only harmful prompts have, and prompts.families.harmful is 0, so it would never attack: give harmful prompts a weight, or choose another attacker`,
      );
    const promotes = g.type === "entity_promoter" || (g.type === "sybil" && g.goal === "entity");
    if (promotes && c.entities.mention_rate === 0)
      issue(
        ["entities", "mention_rate"],
        `is 0, so no response names an entity and the ${g.type} group panel.raters.${i} would never attack: set it above 0`,
      );
    if (g.type !== "honest" && g.type !== "careless" && g.easy_margin === 0)
      issue(
        [...at, "easy_margin"],
        `is 0: every comparison's quality gap is at least 0, so this ${g.type} group would judge honestly everywhere: leave it out or give a positive margin`,
      );
  });
}

export type { ConfigSource } from "../core/config.js";

/** Validates a parsed world config or throws KEEL_E_CONFIG naming file, line and field. */
export function parseWorldConfig(value: unknown, source: ConfigSource = {}): WorldConfig {
  return parseConfig(WorldConfigSchema, value, source);
}
