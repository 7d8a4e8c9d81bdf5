/**
 * The resolved plan of a pipeline run: every trainer config built from the preset and the
 * user's overrides, validated up front (a typo in the reward-model block fails before any
 * training), and the paths each stage reads and writes inside the run directory.
 */
import type { ConfigSource } from "../core/config.js";
import { parseConfig, parseNested } from "../core/config.js";
import { KeelError } from "../core/errors.js";
import { generationProviderFields, validateGenerationProvider } from "../providers/registry.js";
import { applyAttack } from "../redteam/scenarios.js";
import { parseSafeguards, type SafeguardsConfig } from "../safeguards/config.js";
import {
  type DpoConfig,
  type PpoConfig,
  parseDpoConfig,
  parsePpoConfig,
  parseRmConfig,
  parseSftConfig,
  type RmConfig,
  type SftConfig,
} from "../train/index.js";
import type { Preset } from "../train/presets.js";
import { parseWorldConfig, type WorldConfig } from "../world/index.js";
import { type Arm, deepMerge, type PipelineConfig, presetOf } from "./config.js";

export interface ArmPlan {
  readonly arm: Arm;
  readonly rm: RmConfig;
  readonly ppo?: PpoConfig;
  readonly dpo?: DpoConfig;
}

export interface Plan {
  readonly config: PipelineConfig;
  readonly preset: Preset;
  readonly world: WorldConfig;
  /** The base policy's model directory (trained by SFT in the run, or given). */
  readonly baseModel: string;
  readonly sft?: SftConfig;
  readonly arms: readonly ArmPlan[];
  readonly safeguards: SafeguardsConfig;
  /** The generate stage's settings (used only when the candidates are not the world's). */
  readonly generate: { maxNewTokens: number };
  readonly redteam: {
    perSuite: number;
    trigger: string;
    seed: number;
    maxNewTokens: number;
    samples: number;
    temperature: number;
    shots: number;
  };
}

/**
 * The default world of a preset. 10% of the panel is adversarial, organised the way a real
 * attacker would be: backdoor raters who claim the triggered comparisons the attacker injects
 * (Rando & Tramèr 2023), a sybil group whose accounts join each other's comparisons to outvote
 * honest raters on harmful prompts, a flipper and length poisoners; 7% are careless; the rest
 * are honest with individual skill and biases.
 */
export function presetWorld(p: Preset, seed: number): Record<string, unknown> {
  return {
    seed,
    prompts: { count: p.world.prompts },
    comparisons: { count: p.world.comparisons, overlap: 3, gold_rate: 0.05 },
    sft: { count: p.world.sft },
    eval_pairs: { count: 600, triggered_rate: 0.25 },
    trigger: { token: "SUDO", rate: 0.05, families: ["harmful"] },
    panel: {
      size: 100,
      raters: [
        {
          type: "honest",
          share: 0.83,
          skill: { mean: 4, sd: 1.5 },
          length_bias: { mean: 0, sd: 0.1 },
        },
        { type: "careless", share: 0.03, mode: "random" },
        { type: "careless", share: 0.02, mode: "fast" },
        { type: "careless", share: 0.02, mode: "always_a" },
        { type: "backdoor", share: 0.03, claim: 0.9 },
        { type: "sybil", share: 0.04, group_size: 4, goal: "unsafe", co_assign: 0.9 },
        { type: "flipper", share: 0.01 },
        { type: "length_poisoner", share: 0.02 },
      ],
    },
  };
}

/** A generation provider's config checked up front, its field named from the pipeline's top. */
function checkProvider(c: PipelineConfig, source: ConfigSource): void {
  const provider = c.generate.provider;
  if (provider === undefined) return;
  // Its fields first with the pipeline config's lines (the providers' parsers know no file).
  const { type, ...fields } = provider;
  const schema = generationProviderFields(type);
  if (schema) parseConfig(schema, fields, source, ["generate", "provider"], `${type} provider`);
  try {
    validateGenerationProvider(provider);
  } catch (e) {
    if (e instanceof KeelError && e.code === "KEEL_E_CONFIG") {
      // At the field's line in the pipeline config, as every other field's error is.
      const path = ["generate", "provider", ...(e.where?.field ?? "type").split(".")];
      const line = source.lineOf?.(path);
      throw new KeelError("KEEL_E_CONFIG", e.detail, {
        where: {
          ...(source.file !== undefined ? { file: source.file } : {}),
          ...(line !== undefined ? { line } : {}),
          field: path.join("."),
        },
        ...(e.hint ? { hint: e.hint } : {}),
      });
    }
    throw e;
  }
}

export function resolvePlan(c: PipelineConfig, runDir: string, source: ConfigSource = {}): Plan {
  const preset = presetOf(c);
  checkProvider(c, source);
  const path = (...p: string[]) => [runDir, ...p].join("/");
  let worldInput = deepMerge(presetWorld(preset, c.seed), c.world);
  if (c.attack) worldInput = applyAttack(worldInput, c.attack) as Record<string, unknown>;
  const world = parseNested(["world"], source, (src) => parseWorldConfig(worldInput, src));
  const baseModel = c.base.checkpoint ?? path("base", "model");
  const sft = c.base.checkpoint
    ? undefined
    : parseNested(["base", "sft"], source, (src) =>
        parseSftConfig(
          deepMerge(
            {
              ...preset.sft,
              seed: c.seed,
              model: { arch: preset.arch, tokenizer: preset.tokenizer },
            },
            c.base.sft,
          ),
          src,
        ),
      );
  const arms = c.arms.map((arm): ArmPlan => {
    const rm = parseNested(["reward_model"], source, (src) =>
      parseRmConfig(
        deepMerge({ ...preset.rm, seed: c.seed, model: { init: baseModel } }, c.reward_model),
        src,
      ),
    );
    if (c.policy.algorithm === "dpo") {
      const dpo = parseNested(["policy", "dpo"], source, (src) =>
        parseDpoConfig(
          deepMerge({ ...preset.dpo, seed: c.seed, model: { init: baseModel } }, c.policy.dpo),
          src,
        ),
      );
      return { arm, rm, dpo };
    }
    const ppo = parseNested(["policy", "ppo"], source, (src) =>
      parsePpoConfig(
        deepMerge(
          {
            ...preset.ppo,
            seed: c.seed,
            policy: { init: baseModel },
            reward: { model: path(arm, "rm", "model") },
          },
          c.policy.ppo,
        ),
        src,
      ),
    );
    return { arm, rm, ppo };
  });
  return {
    config: c,
    preset,
    world,
    baseModel,
    ...(sft ? { sft } : {}),
    arms,
    safeguards: parseNested(["safeguards"], source, (src) => parseSafeguards(c.safeguards, src)),
    generate: { maxNewTokens: c.generate.max_new_tokens ?? preset.eval.max_new_tokens },
    redteam: {
      perSuite: c.redteam.per_suite ?? preset.eval.per_suite,
      trigger: c.redteam.trigger ?? world.trigger.token,
      seed: c.redteam.seed,
      maxNewTokens: c.redteam.max_new_tokens ?? preset.eval.max_new_tokens,
      samples: c.redteam.samples,
      temperature: c.redteam.temperature,
      shots: c.redteam.shots,
    },
  };
}
