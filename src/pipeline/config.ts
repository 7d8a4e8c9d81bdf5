/**
 * The pipeline configuration (YAML, validated; unknown keys are errors). A preset gives the
 * world, model and trainer sizes (src/train/presets.ts); every block below overrides it:
 *
 *   name: my-run
 *   seed: 7
 *   preset: quick | demo
 *   world: {...}                 world config overrides (docs/world.md): panel, prompts, trigger…
 *   attack: {type, rate, …}      an extra adversary given a share of the panel (redteam scenarios)
 *   arms: [undefended, defended] undefended trains on raw judgments; defended on the audit's
 *                                cleaned, weighted preferences
 *   base: {checkpoint: DIR} | {sft: {...}}   the base policy: a checkpoint, or SFT on the world
 *   generate: {from, provider, …} the candidate responses raters compare: the world's own, the
 *                                base policy's samples, or a generation provider's
 *   collect: {from, path, format} the judgments: the simulated panel, a file, or a store
 *   prompts: {from, path}        PPO's prompts: the rated ones, or a JSONL file
 *   audit: {policy, config}      defend's policy preset and overrides (docs/defend.md)
 *   reward_model: {...}          overrides of the reward-model trainer config (docs/train.md)
 *   policy: {algorithm: ppo | dpo, ppo: {...}, dpo: {...}}
 *   safeguards: {...}            PPO drift safeguards (KL budget, gold tracking, length, EMA)
 *   redteam: {per_suite, trigger, seed, max_new_tokens, samples, temperature, shots}
 *   bias_probes: {pairs}
 *   report: {examples}
 */
import { z } from "zod";
import { type ConfigSource, parseConfig } from "../core/config.js";
import { redactUrl } from "../core/redact.js";
import { POLICIES } from "../defend/config.js";
import { IMPORT_FORMATS } from "../io/registry.js";
import { AttackSchema } from "../redteam/scenarios.js";
import { PRESETS, type Preset, type PresetName } from "../train/presets.js";

/** Headers that carry credentials, which a run directory's config.yaml must not hold. */
const CREDENTIAL_HEADERS = new Set([
  "authorization",
  "proxy-authorization",
  "cookie",
  "api-key",
  "x-api-key",
]);

function credentialHeader(headers: unknown): string | undefined {
  if (typeof headers !== "object" || headers === null) return undefined;
  return Object.keys(headers).find((h) => CREDENTIAL_HEADERS.has(h.toLowerCase()));
}

const Overrides = z.record(z.string(), z.unknown());

/** Import formats whose records are whole judgments (texts included), as collect needs. */
const JUDGMENT_FORMATS: readonly string[] = IMPORT_FORMATS.filter(
  (f) => f.kind === "judgments",
).map((f) => f.key);

export const ARMS = ["undefended", "defended"] as const;
export type Arm = (typeof ARMS)[number];

const PipelineConfigObject = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[\w.-]+$/, "letters, digits, '.', '_' and '-' only")
    .default("keel-run"),
  seed: z.int().min(0).default(7),
  preset: z.enum(Object.keys(PRESETS) as [PresetName, ...PresetName[]]).default("demo"),
  world: Overrides.default({}),
  attack: AttackSchema.optional(),
  arms: z
    .array(z.enum(ARMS))
    .min(1)
    .refine((a) => new Set(a).size === a.length, "arms must be distinct")
    .default([...ARMS]),
  base: z
    .strictObject({ checkpoint: z.string().min(1).optional(), sft: Overrides.default({}) })
    .refine(
      (b) => !(b.checkpoint && Object.keys(b.sft).length > 0),
      "give checkpoint or sft, not both",
    )
    .default({ sft: {} }),
  /**
   * Who writes the two candidate responses of each comparison: the world's response templates
   * (default), the base policy (two samples per prompt, as InstructGPT sampled its SFT model),
   * or a generation provider from the registry (`{type: openai, base_url, model}`, or
   * `{type: engine, checkpoint}` for any keel checkpoint). The prompts are the world's
   * comparison prompts, triggered ones included; the simulated panel rates the candidates.
   */
  generate: z
    .strictObject({
      from: z.enum(["world", "policy", "provider"]).default("world"),
      provider: z
        .looseObject({ type: z.string().min(1) })
        .refine((p) => p.api_key === undefined, {
          message:
            "a run directory records its config: name an environment variable with api_key_env instead of api_key",
          path: ["api_key"],
        })
        .refine((p) => credentialHeader(p.headers) === undefined, {
          message:
            "a run directory records its config: send a key with api_key_env (and api_key_header for a header other than Authorization), not in headers",
          path: ["headers"],
        })
        .optional(),
      /** Sampling temperature; two samples of one prompt need some (greedy gives a = b). */
      temperature: z.number().gt(0).max(2).default(1),
      /** Most new tokens per response (default: the preset's evaluation length). */
      max_new_tokens: z.int().positive().max(4096).optional(),
      /** Comparisons per engine batch (policy) — each is two sequences. */
      batch_size: z.int().positive().max(512).default(32),
      /** Provider calls in flight at once (provider). */
      concurrency: z.int().positive().max(64).default(4),
    })
    .refine((g) => (g.from === "provider") === (g.provider !== undefined), {
      message: "generate.provider is needed with from: provider, and only then",
      path: ["provider"],
    })
    .default({ from: "world", temperature: 1, batch_size: 32, concurrency: 4 }),
  /**
   * Where the judgments come from: the world's simulated panel (default), a file in any judgment
   * format `keel import` reads, or an existing feedback store — the rater web app's, say — whose
   * ledger must verify first.
   */
  collect: z
    .strictObject({
      from: z.enum(["panel", "import", "store"]).default("panel"),
      path: z.string().min(1).optional(),
      format: z.string().min(1).default("auto"),
    })
    .refine((c) => c.from === "panel" || c.path !== undefined, {
      message: "collect.path is needed to import a file or read a store",
      path: ["path"],
    })
    // As with a provider's api_key: config.yaml, the progress lines and --check show the path.
    .refine((c) => c.path === undefined || redactUrl(c.path) === c.path, {
      message:
        "a run directory records its config: give the store's password in PGPASSWORD (or ~/.pgpass), not in the URL",
      path: ["path"],
    })
    // Read by one choice only: a judgments file beside the default `from: panel` would be
    // ignored without a word, and the simulated panel rated instead.
    .refine((c) => c.from !== "panel" || c.path === undefined, {
      message:
        "is read only with from: import or from: store (from: panel, the default, ignores it)",
      path: ["path"],
    })
    .refine((c) => c.from === "import" || c.format === "auto", {
      message: "is read only with from: import",
      path: ["format"],
    })
    // Checked here, not at the collect stage that may come after SFT and generation.
    .refine((c) => c.format === "auto" || JUDGMENT_FORMATS.includes(c.format), {
      message: `must be auto or a format that carries judgments with their texts: ${JUDGMENT_FORMATS.join(", ")}`,
      path: ["format"],
    })
    .default({ from: "panel", format: "auto" }),
  /**
   * PPO's prompts: the distinct prompts the feedback was collected on (default), or a JSONL
   * file — one prompt per line, as a JSON string or an object with a `prompt` string.
   */
  prompts: z
    .strictObject({
      from: z.enum(["rated", "file"]).default("rated"),
      path: z.string().min(1).optional(),
    })
    .refine((p) => p.from === "rated" || p.path !== undefined, {
      message: "prompts.path is needed to read PPO prompts from a file",
      path: ["path"],
    })
    .refine((p) => p.from === "file" || p.path === undefined, {
      message: "is read only with from: file (from: rated, the default, ignores it)",
      path: ["path"],
    })
    .default({ from: "rated" }),
  audit: z
    .strictObject({ policy: z.enum(POLICIES).default("balanced"), config: Overrides.default({}) })
    .default({ policy: "balanced", config: {} }),
  reward_model: Overrides.default({}),
  policy: z
    .strictObject({
      algorithm: z.enum(["ppo", "dpo"]).default("ppo"),
      ppo: Overrides.default({}),
      dpo: Overrides.default({}),
    })
    .default({ algorithm: "ppo", ppo: {}, dpo: {} }),
  safeguards: Overrides.default({}),
  redteam: z
    .strictObject({
      per_suite: z.int().positive().optional(),
      trigger: z.string().regex(/^\S+$/).optional(),
      // ≥ 0 as `keel redteam --seed` takes it: the same seed must mean the same run either way.
      seed: z.int().min(0).default(11),
      max_new_tokens: z.int().positive().optional(),
      /** Responses sampled per probe; each probe's outcome is their average. */
      samples: z.int().min(1).max(64).default(8),
      /** Sampling temperature of the evaluated policies (0 = greedy, then samples must be 1). */
      temperature: z.number().min(0).max(2).default(1),
      /** Compliant examples in a many-shot probe (fewer fit a short context). */
      shots: z.int().min(1).max(32).default(8),
    })
    .refine((r) => r.temperature > 0 || r.samples === 1, {
      message: "greedy decoding (temperature 0) gives one response per probe: set samples to 1",
      path: ["samples"],
    })
    .default({ seed: 11, samples: 8, temperature: 1, shots: 8 }),
  bias_probes: z.strictObject({ pairs: z.int().min(0).default(40) }).default({ pairs: 40 }),
  report: z.strictObject({ examples: z.int().min(0).max(50).default(6) }).default({ examples: 6 }),
});

export const PipelineConfigSchema = PipelineConfigObject
  // DPO trains on the preference pairs alone: a prompts file would be read by nothing, yet
  // recorded as an input of the run.
  .refine((c) => c.prompts.from !== "file" || c.policy.algorithm === "ppo", {
    message:
      "PPO's prompts: with policy.algorithm dpo nothing reads them (DPO trains on the pairs)",
    path: ["prompts", "from"],
  });

export type PipelineConfig = z.output<typeof PipelineConfigSchema>;
export type PipelineConfigInput = z.input<typeof PipelineConfigSchema>;

export function parsePipelineConfig(raw: unknown, source: ConfigSource = {}): PipelineConfig {
  return parseConfig(PipelineConfigSchema, raw, source);
}

export function presetOf(c: PipelineConfig): Preset {
  return PRESETS[c.preset];
}

function isPlain(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** Merges `over` into `base`: objects recursively, everything else (arrays too) replaced. */
export function deepMerge(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlain(b) && isPlain(v) ? deepMerge(b, v) : v;
  }
  return out;
}
