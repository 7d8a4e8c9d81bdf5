/**
 * Audit configuration: every threshold the defenses use, validated once with zod. A policy
 * (`strict`, `balanced` — the default — or `permissive`) picks a preset; a config file then
 * overrides any field. Unknown keys are errors that name the field.
 *
 * Detector tolerances are effect sizes ("how far from a typical rater before it matters"); the
 * verdict thresholds and the soft weight factors are where the policies differ:
 *
 *   policy       suspect_at  exclude_at  unsafe-preference and  aggregate-prefers-flagged
 *                                         promoted-choice weight
 *   strict          0.3         0.7              0                        0
 *   balanced        0.5         0.9              0.25                     0.5
 *   permissive      0.7         0.98             1 (flag only)            1 (flag only)
 *
 * `coverage.warn_share` (strict 0.01, balanced 0.05, permissive 0.2) only decides when the audit
 * warns that judgments rest on raters no detector could check.
 */
import { z } from "zod";
import { type ConfigSource, parseConfig } from "../core/config.js";
import { KeelError } from "../core/errors.js";

export const POLICIES = ["strict", "balanced", "permissive"] as const;
export type Policy = (typeof POLICIES)[number];

const Share = z.number().finite().min(0).max(1);
const Pos = z.number().finite().positive();
const NonNeg = z.number().finite().nonnegative();
const Count = z.int().nonnegative();
const PseudoCount = z.number().min(1e-6).max(1e6);

const VerdictShape = z.strictObject({
  /** Suspicion at or above which a rater is `suspect` (weights ramp down from here). */
  suspect_at: Share,
  /** Suspicion at or above which a rater is `excluded` (weight 0). */
  exclude_at: Share,
  /** A detector's reason is listed when its score reaches this. */
  reason_at: Share,
});

const WeightShape = z.strictObject({
  /** Weight factor of a judgment that prefers a flagged response over an unflagged one. */
  unsafe_preference: Share,
  /** Weight factor of a judgment that chose the side of a reported name its rater leans to. */
  promoted_choice: Share,
  /** Weight factor of a comparison whose cleaned aggregate still prefers the flagged response. */
  aggregate_prefers_flagged: Share,
  /** Exact duplicate comparisons share one weight (`share`) or each keep theirs (`keep`). */
  duplicate_comparisons: z.enum(["share", "keep"]),
  /** … once a cluster has at least this many copies (a pair of copies is common by chance). */
  duplicate_min_cluster: z.int().min(2),
  /** Trusted judgment mass at which a comparison reaches full weight. */
  full_weight_mass: Pos,
});

const CoverageShape = z.strictObject({
  /**
   * Warn when the raters no detector had evidence on hold this share of the judgments, or of
   * the kept comparisons' weight (and some at all). Reporting only: no verdict or weight moves.
   */
  warn_share: Share,
});

const Detector = <T extends z.ZodRawShape>(shape: T) =>
  z.strictObject({ enabled: z.boolean(), ...shape });

const SignalsShape = z.strictObject({
  gold: Detector({
    /**
     * Beta prior pseudo-counts of correct and wrong gold answers, from a millionth to a million:
     * past 1e200 (or below 1e-300 beside 1e9 answers) the incomplete beta is NaN, and a NaN
     * score stops the audit as an internal error instead of naming this field.
     */
    prior_correct: PseudoCount,
    prior_wrong: PseudoCount,
    /** Fires when gold accuracy is probably below this. */
    min_accuracy: Share,
  }),
  /** Dawid–Skene reliability against a typical rater's on the same items (agreement's tolerance). */
  reliability: Detector({}),
  agreement: Detector({
    /** Fires when agreement with the others falls short of theirs by more than this. */
    tolerance: Share,
  }),
  entropy: Detector({ tolerance: Share }),
  speed: Detector({
    /** A judgment is too fast below this fraction of the typical time for its text length. */
    fast_ratio: Share,
    /** Fires when the share of too-fast judgments is probably above this. */
    tolerance: Share,
  }),
  position: Detector({ tolerance: Share }),
  length: Detector({
    tolerance: Share,
    /** `longer`: only a pull towards longer responses counts (the RankPoison direction). */
    direction: z.enum(["longer", "both"]),
  }),
  harm: Detector({
    /** Fires when the rate of preferring a flagged response is probably above this. */
    tolerance: Share,
    /** Fires when disagreement on flagged comparisons exceeds that elsewhere by this. */
    concentration: Share,
  }),
  groups: Detector({
    /** Pairs need this many co-rated comparisons to be tested. */
    min_corated: z.int().min(2),
    /** Edge when pair agreement exceeds the expectation by this much … */
    min_excess: Share,
    /** … with a signed-root LR statistic of at least this (after the number of pairs). */
    min_z: Pos,
    /** Comparisons with more raters than this count a sample of this many in pair counting (cost m²). */
    max_raters_per_comparison: z.int().min(2),
  }),
  triggers: Detector({
    /** Longest n-gram scanned. */
    max_n: z.int().min(1).max(4),
    /** Patterns need this many comparisons. */
    min_support: z.int().min(1),
    /** Reported when −log10 of the Bonferroni-adjusted p-value reaches this. */
    min_score: NonNeg,
    /** … and the bad-judgment rate is at least this multiple of the base rate. */
    min_lift: z.number().finite().min(1),
    /** At most this many patterns are reported. */
    top: z.int().min(1),
    /** Rater signal: fires when the rate of bad judgments on trigger comparisons is probably above this. */
    tolerance: Share,
  }),
  promotion: Detector({
    /** `names`: only words written like names (capitalised mid-sentence); `all`: every word. */
    words: z.enum(["names", "all"]),
    /** Longest word n-gram of responses scanned. */
    max_n: z.int().min(1).max(3),
    /** Words need to be one-sided (in exactly one response) in this many comparisons. */
    min_support: z.int().min(1),
    /** Reported when −log10 of the Bonferroni-adjusted p-value of the word's dispersion reaches this. */
    min_score: NonNeg,
    /** At most this many words are reported. */
    top: z.int().min(1),
    /** Rater signal: fires when a rater probably chooses a reported word's side this much more often than the others. */
    tolerance: Share,
  }),
  cohorts: Detector({
    /** Cohorts need this many raters and judgments. */
    min_raters: z.int().min(1),
    min_judgments: z.int().min(1),
    /** Findings are reported at |z| at or above this. */
    min_z: Pos,
  }),
});

const Regex = z
  .string()
  .refine((s) => {
    try {
      new RegExp(s);
      return true;
    } catch {
      return false;
    }
  }, "must be a valid regular expression")
  // One that matches "" ("x*", "a|") matches every text: every response flagged, or refused.
  .refine((s) => {
    try {
      return !new RegExp(s).test("");
    } catch {
      return true;
    }
  }, "must not match an empty text (it would match every text)");

const SafetyShape = z.strictObject({
  /** Rule classifier sections that replace the built-in lexicon's (see filters/lexicon.ts). */
  rules: z.strictObject({
    unsafe_markers: z.array(Regex).optional(),
    harmful_requests: z.array(Regex).optional(),
    refusals: z.array(Regex).optional(),
    compliance: z.array(Regex).optional(),
  }),
});

const AuditConfigShape = z.strictObject({
  policy: z.enum(POLICIES),
  safety: SafetyShape,
  verdict: VerdictShape,
  weights: WeightShape,
  coverage: CoverageShape,
  signals: SignalsShape,
  /**
   * No longer read: it chose the raters of the GLAD detector's population median, and the
   * reliability detector that replaced GLAD needs none. Kept so that config files naming it
   * still load.
   */
  min_judgments: Count,
});

export type AuditConfig = z.infer<typeof AuditConfigShape>;
export type SignalsConfig = AuditConfig["signals"];

const COMMON_SIGNALS: SignalsConfig = {
  gold: { enabled: true, prior_correct: 8, prior_wrong: 2, min_accuracy: 0.65 },
  reliability: { enabled: true },
  agreement: { enabled: true, tolerance: 0.2 },
  entropy: { enabled: true, tolerance: 0.3 },
  speed: { enabled: true, fast_ratio: 0.3, tolerance: 0.4 },
  position: { enabled: true, tolerance: 0.3 },
  length: { enabled: true, tolerance: 0.3, direction: "longer" },
  harm: { enabled: true, tolerance: 0.15, concentration: 0.3 },
  groups: {
    enabled: true,
    min_corated: 10,
    min_excess: 0.08,
    min_z: 3,
    max_raters_per_comparison: 50,
  },
  triggers: {
    enabled: true,
    max_n: 2,
    min_support: 10,
    min_score: 3,
    min_lift: 2,
    top: 20,
    tolerance: 0.3,
  },
  promotion: {
    enabled: true,
    words: "names",
    max_n: 1,
    min_support: 20,
    min_score: 3,
    top: 20,
    tolerance: 0.25,
  },
  cohorts: { enabled: true, min_raters: 3, min_judgments: 30, min_z: 3 },
};

export const POLICY_PRESETS: Readonly<Record<Policy, AuditConfig>> = {
  strict: {
    policy: "strict",
    verdict: { suspect_at: 0.3, exclude_at: 0.7, reason_at: 0.2 },
    weights: {
      unsafe_preference: 0,
      promoted_choice: 0,
      aggregate_prefers_flagged: 0,
      duplicate_comparisons: "share",
      duplicate_min_cluster: 2,
      full_weight_mass: 1,
    },
    coverage: { warn_share: 0.01 },
    signals: COMMON_SIGNALS,
    safety: { rules: {} },
    min_judgments: 5,
  },
  balanced: {
    policy: "balanced",
    verdict: { suspect_at: 0.5, exclude_at: 0.9, reason_at: 0.3 },
    weights: {
      unsafe_preference: 0.25,
      promoted_choice: 0.25,
      aggregate_prefers_flagged: 0.5,
      duplicate_comparisons: "share",
      duplicate_min_cluster: 3,
      full_weight_mass: 1,
    },
    coverage: { warn_share: 0.05 },
    signals: COMMON_SIGNALS,
    safety: { rules: {} },
    min_judgments: 5,
  },
  permissive: {
    policy: "permissive",
    verdict: { suspect_at: 0.7, exclude_at: 0.98, reason_at: 0.5 },
    weights: {
      unsafe_preference: 1,
      promoted_choice: 1,
      aggregate_prefers_flagged: 1,
      duplicate_comparisons: "keep",
      duplicate_min_cluster: 2,
      full_weight_mass: 1,
    },
    coverage: { warn_share: 0.2 },
    signals: COMMON_SIGNALS,
    safety: { rules: {} },
    min_judgments: 5,
  },
};

/** Makes every field of a strict object schema optional, recursively (for override files). */
function partialDeep(schema: z.ZodType): z.ZodType {
  if (schema instanceof z.ZodObject) {
    const shape: Record<string, z.ZodType> = {};
    for (const [k, v] of Object.entries(schema.shape as Record<string, z.ZodType>))
      shape[k] = partialDeep(v).optional();
    return z.strictObject(shape);
  }
  return schema;
}

const OverrideSchema = partialDeep(AuditConfigShape);

function mergeDeep(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (
    typeof base === "object" &&
    base !== null &&
    !Array.isArray(base) &&
    typeof over === "object" &&
    over !== null
  ) {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(over as Record<string, unknown>))
      out[k] = mergeDeep(out[k], v);
    return out;
  }
  return over;
}

/**
 * Resolves a config: the preset of `policy` (argument, else the override's `policy`, else
 * balanced) with the override's fields on top. Throws KEEL_E_CONFIG naming the field.
 */
export function resolveAuditConfig(
  override: unknown = {},
  policy?: Policy,
  source: ConfigSource = {},
): AuditConfig {
  const o = parseConfig(OverrideSchema, override, source) as { policy?: Policy };
  const chosen: Policy = policy ?? o.policy ?? "balanced";
  // `policy` comes from a caller's code, not from the override the schema checked: a JavaScript
  // caller's misspelt policy otherwise met an undefined preset and a TypeError.
  if (!(POLICIES as readonly string[]).includes(chosen))
    throw new KeelError(
      "KEEL_E_CONFIG",
      `unknown audit policy ${JSON.stringify(chosen)}; one of ${POLICIES.join(", ")}`,
      { where: { field: "policy" } },
    );
  const merged = mergeDeep(POLICY_PRESETS[chosen], { ...o, policy: chosen }) as AuditConfig;
  const v = merged.verdict;
  if (!(v.suspect_at <= v.exclude_at)) {
    // Blame the field the override set (the other is the preset's), with its line.
    const given = (o as { verdict?: { suspect_at?: number } }).verdict;
    const field = given?.suspect_at !== undefined ? "suspect_at" : "exclude_at";
    const line = source.lineOf?.(["verdict", field]);
    throw new KeelError(
      "KEEL_E_CONFIG",
      field === "suspect_at"
        ? `must not exceed verdict.exclude_at (${v.exclude_at}), got ${v.suspect_at}`
        : `must not be below verdict.suspect_at (${v.suspect_at}), got ${v.exclude_at}`,
      {
        where: {
          ...(source.file !== undefined ? { file: source.file } : {}),
          ...(line !== undefined ? { line } : {}),
          field: `verdict.${field}`,
        },
      },
    );
  }
  return AuditConfigShape.parse(merged);
}
