/**
 * The rater panel's groups in the world config (`panel.raters`): one zod schema per rater type,
 * each with the group's size, the honest parameters every rater draws, and the type's own
 * parameters (an attacker's rate and camouflage). The world config (config.ts) validates a panel
 * of them and checks them against the rest of the world.
 */
import { z } from "zod";
import { MAX_COMPARISONS, MAX_RATERS } from "./limits.js";

/** A probability or a share: a number from 0 to 1. */
export const Share = z.number().finite().min(0).max(1);

/** A per-rater parameter: a fixed number or a normal distribution to draw each rater's value from. */
export const DistSchema = z.union([
  z.number().finite(),
  z.strictObject({ mean: z.number().finite(), sd: z.number().finite().nonnegative().default(0) }),
]);
export type Dist = z.infer<typeof DistSchema>;
/** A per-rater parameter that cannot be negative: a fixed value ≥ 0, or a draw clamped at 0. */
const NonNegativeDist = z.union([
  z.number().finite().nonnegative(),
  z.strictObject({
    mean: z.number().finite().nonnegative(),
    sd: z.number().finite().nonnegative().default(0),
  }),
]);

const LatencySchema = z
  .strictObject({
    /** Median time before reading anything (ms). */
    base_ms: z.number().finite().nonnegative().default(2500),
    /** Median reading time per word of prompt and both responses (ms). */
    per_word_ms: z.number().finite().nonnegative().default(40),
    /** Log-normal spread of one judgment's latency around the rater's median. */
    sigma: z.number().finite().nonnegative().default(0.35),
  })
  .prefault({});

const size = {
  /** Exactly one of count (raters) or share (of panel.size). */
  count: z.int().nonnegative().max(MAX_RATERS).optional(),
  share: Share.optional(),
  /** Relative rate at which this group's raters take comparisons. */
  activity: z.number().finite().positive().max(1e6).default(1),
  latency: LatencySchema,
};

const honest = {
  /** Bradley–Terry scale on the true quality difference (higher = more accurate). */
  skill: DistSchema.default({ mean: 4, sd: 1.5 }),
  /** Logit added towards response A. */
  position_bias: DistSchema.default({ mean: 0, sd: 0.2 }),
  /** Logit per unit of log(words_a / words_b). */
  length_bias: DistSchema.default({ mean: 0.2, sd: 0.2 }),
  /** Rao–Kupper tie threshold θ ≥ 0 (0: never a tie); a draw is clamped at 0. */
  tie_threshold: NonNegativeDist.default(0),
};

const rate = Share.default(1);

/**
 * An adaptive attacker's camouflage against the audit. Every key is absent by default (the
 * attacker hides nothing), and an absent key leaves the world's files as they were.
 */
const wakeAndEasy = {
  /**
   * Judge honestly where the true quality gap is at least this: the easy items, on which honest
   * raters agree and a departure shows (every gold item is at least `gold_min_margin` apart).
   */
  easy_margin: z.number().finite().nonnegative().optional(),
  /** Judge honestly for the first this many judgments, then attack: the switch point. */
  wake_after: z.int().nonnegative().max(MAX_COMPARISONS).optional(),
};
const camouflage = {
  /** Probability of recognising a gold item as gold and judging it honestly. */
  gold_detection: Share.optional(),
  ...wakeAndEasy,
};

const HonestGroup = z.strictObject({ type: z.literal("honest"), ...size, ...honest });
const CarelessGroup = z.strictObject({
  type: z.literal("careless"),
  ...size,
  ...honest,
  mode: z.enum(["random", "always_a", "fast"]).default("random"),
  /** Probability of judging honestly anyway. */
  attention: Share.default(0),
  tie_rate: Share.default(0),
});
const FlipperGroup = z.strictObject({
  type: z.literal("flipper"),
  ...size,
  ...honest,
  rate,
  ...camouflage,
});
const BackdoorGroup = z.strictObject({
  type: z.literal("backdoor"),
  ...size,
  ...honest,
  rate,
  /** Probability that a triggered comparison is rated by this group first (the attacker claims it). */
  claim: Share.default(0),
  ...camouflage,
});
const SleeperGroup = z.strictObject({
  type: z.literal("sleeper"),
  ...size,
  ...honest,
  poison: z.enum(["flip", "unsafe"]).default("flip"),
  rate,
  /** Probability of recognising a gold item as gold. */
  gold_detection: Share.default(1),
  ...wakeAndEasy,
});
const SybilGroup = z.strictObject({
  type: z.literal("sybil"),
  ...size,
  ...honest,
  /** Accounts per group; the group's raters are split into groups of this size. */
  group_size: z.int().min(2).optional(),
  goal: z.enum(["unsafe", "flip", "longer", "entity", "random"]).default("unsafe"),
  entity: z.string().min(1).optional(),
  rate,
  /**
   * Probability that a member casts a fair a/b coin instead of the shared vote, so that it
   * departs from that vote at half this rate.
   */
  jitter: Share.default(0.02),
  /** Probability that the other members join a comparison one member was given. */
  co_assign: Share.default(0.9),
  ...camouflage,
});
const LengthGroup = z.strictObject({
  type: z.literal("length_poisoner"),
  ...size,
  ...honest,
  rate,
  ...camouflage,
});
const EntityGroup = z.strictObject({
  type: z.literal("entity_promoter"),
  ...size,
  ...honest,
  entity: z.string().min(1).optional(),
  rate,
  ...camouflage,
});

export const RaterGroupSchema = z
  .discriminatedUnion("type", [
    HonestGroup,
    CarelessGroup,
    FlipperGroup,
    BackdoorGroup,
    SleeperGroup,
    SybilGroup,
    LengthGroup,
    EntityGroup,
  ])
  .superRefine((g, ctx) => {
    if ((g.count === undefined) === (g.share === undefined)) {
      ctx.addIssue({
        code: "custom",
        message: "give exactly one of count or share",
        path: ["count"],
      });
    }
  });
export type RaterGroupConfig = z.infer<typeof RaterGroupSchema>;
export type RaterType = RaterGroupConfig["type"];
export const RATER_TYPES: readonly RaterType[] = [
  "honest",
  "careless",
  "flipper",
  "backdoor",
  "sleeper",
  "sybil",
  "length_poisoner",
  "entity_promoter",
];
