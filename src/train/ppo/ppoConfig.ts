/**
 * PPO config (RLHF as Ziegler et al. 2019 / Ouyang et al. 2022; defaults after TRL and
 * OpenRLHF, scaled to keel's small models).
 *
 *   policy.init              the policy to fine-tune (the SFT model); its value head is the critic
 *   reference.init           the frozen reference for the KL penalty (default: policy.init)
 *   reward.model             reward model or ensemble dir (or a reward function given in code);
 *                            scoring / lambda override the ensemble's own rule
 *   cost                     Lagrangian mode (Safe-RLHF): a cost model, the threshold d on the
 *                            mean episode cost, λ's start, learning rate and cap; the cost critic
 *                            starts from policy.init
 *   rollout                  prompts per iteration, response length, sampling
 *   ppo                      epochs × minibatches, clip ε, value clip, coefficients, γ, λ_GAE,
 *                            advantage whitening, ratio_threshold (skip a minibatch whose mean
 *                            ratio exceeds it), target_kl (stop an iteration's epochs once the
 *                            mean approx KL to the rollout policy exceeds 1.5 × target)
 *   kl                       estimator k1 | k2 | k3, clamp c, controller fixed | adaptive (β = coef
 *                            initially; target and horizon for adaptive)
 *   reward_norm              running-moments normalisation of scores, then clip to ±clip
 *   missing_eos_penalty      added to the score of a response cut at max_new_tokens (default null,
 *                            off: on keel's world a penalty cuts every verbose answer short and
 *                            teaches a small policy to refuse benign prompts; see docs/train.md)
 *   eval                     greedy evaluation cadence and size (run.eval_every iterations)
 * Cross-field checks: minibatch_size divides rollout.batch_size; context leaves room for
 * max_new_tokens (rollout and eval; checked by the trainer, which knows the context); an
 * adaptive controller needs a target, a coefficient above 0 and a horizon above
 * 0.2 × rollout.batch_size (so β stays positive); cost.lambda_init ≤ cost.lambda_max.
 */
import { z } from "zod";
import { type ConfigSource, optimField, parseConfig, RunSchema } from "../common/config.js";
import { KL_ESTIMATORS } from "../losses/kl.js";
import { ENSEMBLE_SCORING } from "../rm/rmConfig.js";

const ScorerSchema = z.strictObject({
  model: z.string().min(1).optional(),
  scoring: z.enum(ENSEMBLE_SCORING).optional(),
  lambda: z.number().min(0).optional(),
});

export const RolloutSchema = z.strictObject({
  batch_size: z.int().positive().default(64),
  max_new_tokens: z.int().positive().default(32),
  temperature: z.number().positive().default(1),
  top_k: z.int().min(0).default(0),
  top_p: z.number().gt(0).max(1).default(1),
});

export const PpoSchema = z.strictObject({
  iterations: z.int().positive().default(100),
  epochs: z.int().positive().default(2),
  minibatch_size: z.int().positive().default(16),
  clip: z.number().positive().default(0.2),
  value_clip: z.number().positive().default(0.2),
  vf_coef: z.number().min(0).default(0.1),
  ent_coef: z.number().min(0).default(0),
  gamma: z.number().min(0).max(1).default(1),
  lam: z.number().min(0).max(1).default(0.95),
  whiten_advantages: z.boolean().default(true),
  ratio_threshold: z.number().gt(1).default(10),
  target_kl: z.number().positive().nullable().default(null),
});

export const KlSchema = z.strictObject({
  estimator: z.enum(KL_ESTIMATORS).default("k3"),
  clamp: z.number().positive().default(10),
  controller: z.enum(["fixed", "adaptive"]).default("fixed"),
  coef: z.number().min(0).default(0.05),
  target: z.number().positive().nullable().default(null),
  horizon: z.number().positive().default(10000),
});

export const CostSchema = z.strictObject({
  model: z.string().min(1).optional(),
  threshold: z.number().default(0),
  lambda_init: z.number().positive().default(1),
  lambda_lr: z.number().positive().default(0.05),
  lambda_max: z.number().positive().default(20),
});

export const PpoConfigSchema = z
  .strictObject({
    seed: z.int().default(1),
    policy: z.strictObject({ init: z.string().min(1) }),
    reference: z.strictObject({ init: z.string().min(1) }).optional(),
    reward: ScorerSchema.default({}),
    cost: CostSchema.nullable().default(null),
    rollout: RolloutSchema.default(RolloutSchema.parse({})),
    ppo: PpoSchema.default(PpoSchema.parse({})),
    kl: KlSchema.default(KlSchema.parse({})),
    reward_norm: z
      .strictObject({ enabled: z.boolean().default(true), clip: z.number().positive().default(5) })
      .default({ enabled: true, clip: 5 }),
    missing_eos_penalty: z.number().nullable().default(null),
    eval: z
      .strictObject({
        max_new_tokens: z.int().positive().optional(),
        batch_size: z.int().positive().default(64),
      })
      .default({ batch_size: 64 }),
    optim: optimField(1e-4),
    run: RunSchema.default(RunSchema.parse({ log_every: 1 })),
  })
  .superRefine((c, ctx) => {
    if (c.rollout.batch_size % c.ppo.minibatch_size !== 0)
      ctx.addIssue({
        code: "custom",
        message: `minibatch_size ${c.ppo.minibatch_size} must divide rollout.batch_size ${c.rollout.batch_size}`,
        path: ["ppo", "minibatch_size"],
      });
    if (c.kl.controller === "adaptive") adaptiveKlIssues(c, ctx);
    // λ is capped at lambda_max after each update; a start above the cap would run the first
    // iteration with a multiplier the config forbids.
    if (c.cost && c.cost.lambda_init > c.cost.lambda_max)
      ctx.addIssue({
        code: "custom",
        message: `cost.lambda_init ${c.cost.lambda_init} is above cost.lambda_max ${c.cost.lambda_max}`,
        path: ["cost", "lambda_init"],
      });
  });

/**
 * β ← β(1 + e·n/horizon) with e ∈ [−0.2, 0.2] and n = rollout.batch_size: β must start above 0
 * (0 stays 0, so the controller would never act), and one batch under target must not take it
 * to 0 or below (a negative coefficient would reward drifting from the reference).
 */
function adaptiveKlIssues(
  c: { kl: z.output<typeof KlSchema>; rollout: z.output<typeof RolloutSchema> },
  ctx: z.RefinementCtx,
): void {
  if (c.kl.target === null)
    ctx.addIssue({
      code: "custom",
      message: "the adaptive KL controller needs kl.target",
      path: ["kl", "target"],
    });
  if (c.kl.coef === 0)
    ctx.addIssue({
      code: "custom",
      message: "the adaptive KL controller scales kl.coef, so it must start above 0",
      path: ["kl", "coef"],
    });
  const floor = 0.2 * c.rollout.batch_size;
  if (c.kl.horizon <= floor)
    ctx.addIssue({
      code: "custom",
      message: `kl.horizon must exceed 0.2 × rollout.batch_size = ${floor}, or one batch under target would make the KL coefficient 0 or negative`,
      path: ["kl", "horizon"],
    });
}

export type PpoConfig = z.output<typeof PpoConfigSchema>;
export type PpoConfigInput = z.input<typeof PpoConfigSchema>;

export function parsePpoConfig(raw: unknown, source?: ConfigSource): PpoConfig {
  return parseConfig(PpoConfigSchema, raw, "ppo config", source);
}
