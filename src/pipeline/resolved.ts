/**
 * A run's config as resolved (its config.yaml): the pipeline config with every block the plan
 * builds from the preset written out in full — the world (with the `attack` folded into its
 * panel), the SFT, reward-model and policy trainers, the safeguards and the red-team's sizes —
 * so that the file says every setting the run used, not only those the user gave. It is itself
 * a pipeline config: given back (`keel run -c RUN/config.yaml`, `keel experiment tradeoff
 * --from RUN`), it resolves to the same plan and every stage keeps its fingerprint.
 */
import type { PipelineConfig } from "./config.js";
import type { Plan } from "./plan.js";

type Json = Record<string, unknown>;

/** `obj` without the field at `path` when that field holds `value` (a default the plan derives). */
function withoutDefault(obj: Json, path: readonly string[], value: string): Json {
  const [head, ...rest] = path as [string, ...string[]];
  const v = obj[head];
  if (rest.length === 0) {
    if (v !== value) return obj;
    const { [head]: _dropped, ...others } = obj;
    return others;
  }
  if (typeof v !== "object" || v === null) return obj;
  const inner = withoutDefault(v as Json, rest, value);
  if (Object.keys(inner).length > 0) return { ...obj, [head]: inner };
  const { [head]: _dropped, ...others } = obj;
  return others;
}

/**
 * The resolved config. Paths the plan derives from the run directory (the base model every
 * trainer starts from, each arm's own reward model for PPO) are left out when they are those
 * defaults: written out, they would tie the file to where the run was when it began, and one
 * `policy.ppo.reward.model` would send both arms to the same reward model.
 */
export function resolvedConfig(plan: Plan, runDir: string): Json {
  const c: PipelineConfig = plan.config;
  const arm = plan.arms[0];
  const base = plan.baseModel;
  const own = (field: "rm" | "ppo" | "dpo"): Json => {
    const t = arm?.[field] as Json | undefined;
    if (t === undefined) return {};
    if (field === "rm") return withoutDefault(t, ["model", "init"], base);
    if (field === "dpo") return withoutDefault(t, ["model", "init"], base);
    const ppo = withoutDefault(t, ["policy", "init"], base);
    return withoutDefault(ppo, ["reward", "model"], [runDir, arm!.arm, "rm", "model"].join("/"));
  };
  const { attack: _folded, ...rest } = c;
  return {
    ...rest,
    world: plan.world,
    base: plan.sft ? { sft: plan.sft } : { checkpoint: c.base.checkpoint },
    reward_model: own("rm"),
    policy: {
      algorithm: c.policy.algorithm,
      ppo: c.policy.algorithm === "ppo" ? own("ppo") : {},
      dpo: c.policy.algorithm === "dpo" ? own("dpo") : {},
    },
    safeguards: plan.safeguards,
    redteam: {
      per_suite: plan.redteam.perSuite,
      trigger: plan.redteam.trigger,
      seed: plan.redteam.seed,
      max_new_tokens: plan.redteam.maxNewTokens,
      samples: plan.redteam.samples,
      temperature: plan.redteam.temperature,
      shots: plan.redteam.shots,
    },
  };
}
