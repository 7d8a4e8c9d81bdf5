/**
 * The resolved plan of a pipeline run: every trainer config built from the preset and the
 * user's overrides, validated up front (a typo in the reward-model block fails before any
 * training), and the paths each stage reads and writes inside the run directory.
 */
import type { ConfigSource } from "../core/config.js";
import { parseConfig, parseNested } from "../core/config.js";
import { KeelError } from "../core/errors.js";
import { generationProviderFields, validateGenerationProvider } from "../providers/registry.js";
import { applyAttack, attackerGroupIndex } from "../redteam/scenarios.js";
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
import { emptyShareGroups, parseWorldConfig, type WorldConfig } from "../world/index.js";
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

/**
 * Refuses, before anything is written, a plan with no judgments to collect from the panel
 * (`world.comparisons.count` 0), no SFT row for a base policy it trains, no red-team split, or a
 * panel that leaves a group it names without a rater (its share of `panel.size` rounds to none;
 * the world stage would refuse that too, but `keel run --check` builds no world). The `attack`
 * block's group is named at `attack.rate`, the field the config gave it by. (Not in
 * resolvePlan: the poison sweep counts such cells' attackers through it, to refuse them in its
 * own words.)
 */
export function checkPlanSizes(plan: Plan, source: ConfigSource = {}): void {
  const at = (path: string[]) => {
    const line = source.lineOf?.(path);
    return {
      ...(source.file !== undefined ? { file: source.file } : {}),
      ...(line !== undefined ? { line } : {}),
      field: path.join("."),
    };
  };
  // Sizes the world accepts (a world file may hold no comparisons, or no red-team prompts) but
  // a run cannot go on from: collection would find no judgment, the evaluations no probe.
  if (plan.config.collect.from === "panel" && plan.world.comparisons.count === 0)
    throw new KeelError(
      "KEEL_E_CONFIG",
      "is 0, so the simulated panel makes no judgment and the collect stage would have none",
      { where: at(["world", "comparisons", "count"]), hint: "give it a count above 0" },
    );
  if (plan.sft && plan.world.sft.count === 0)
    throw new KeelError(
      "KEEL_E_CONFIG",
      "is 0, so the base stage would have no SFT row to train the base policy on",
      {
        where: at(["world", "sft", "count"]),
        hint: "give it a count above 0, or start from a trained policy (base.checkpoint)",
      },
    );
  if (!(plan.world.prompts.splits.redteam > 0))
    throw new KeelError(
      "KEEL_E_CONFIG",
      "is 0, so no prompt is held out for red-teaming and every evaluation stage would have no probe",
      {
        where: at(["world", "prompts", "splits", "redteam"]),
        hint: "give it a share (0.1 by default)",
      },
    );
  const empty = emptyShareGroups(plan.world)[0];
  if (empty === undefined) return;
  const size = plan.world.panel.size ?? 0;
  const attack = plan.config.attack;
  const isAttack =
    attack !== undefined &&
    attack.type !== "none" &&
    attack.rate > 0 &&
    empty.index === attackerGroupIndex(plan.world.panel.raters);
  const path = isAttack
    ? ["attack", "rate"]
    : ["world", "panel", "raters", String(empty.index), "share"];
  const raters = `${+(empty.share * size).toPrecision(3)} of a rater, which rounds to none`;
  throw new KeelError(
    "KEEL_E_CONFIG",
    isAttack
      ? `${attack.rate} of the ${size}-rater panel is ${raters}: the ${attack.type} attack would have no rater, and the run would be a clean one under its name`
      : `share ${empty.share} of the ${size}-rater panel is ${raters}: this ${plan.world.panel.raters[empty.index]!.type} group would have no rater`,
    {
      where: at(path),
      hint: `one rater is ${+(1 / size).toPrecision(3)} of this panel: raise the ${isAttack ? "rate" : "share"} or world.panel.size`,
    },
  );
}
