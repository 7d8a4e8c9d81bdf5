/**
 * Reward-model config (and, with `loss: safe_rlhf_cost`, the cost model's; see costConfig.ts).
 *
 *   loss                  bradley_terry | safe_rlhf_cost
 *   train.use_margin      subtract each pair's `margin` inside the sigmoid (Llama 2)
 *   train.centring        η of the centring term η(r_c + r_r)² (Eisenstein et al. 2023)
 *   train.label_smoothing ε: each label is right with probability 1 − ε (noisy single
 *                         judgments); 0 = off; bradley_terry only
 *   train.lm_coef         weight of a language-modelling loss on the chosen responses (tokens
 *                         weighted by their pair's weight), added to the pair loss to keep the
 *                         trunk a language model (the regulariser of Yang et al. 2024,
 *                         "generalizable reward model"); 0 = off
 *   ensemble.size         k members, each its own seed (reward-head init, data order)
 *   ensemble.bootstrap    each member trains on a bootstrap resample of the pairs
 *   ensemble.scoring      mean | worst | uncertainty (mean − λ·std; Coste et al. 2023)
 *   ensemble.normalise    score each member in units of its own training-reward std
 * Cross-field checks: bootstrap needs size ≥ 2; uncertainty scoring needs size ≥ 2.
 */
import { z } from "zod";
import {
  type ConfigSource,
  ModelSourceSchema,
  optimField,
  parseConfig,
  RunSchema,
} from "../common/config.js";
import { REWARD_LOSS_TYPES } from "../losses/reward.js";

export const ENSEMBLE_SCORING = ["mean", "worst", "uncertainty"] as const;
export type EnsembleScoring = (typeof ENSEMBLE_SCORING)[number];

export const RmTrainSchema = z.strictObject({
  epochs: z.number().positive().default(1),
  steps: z.int().positive().optional(),
  batch_size: z.int().positive().default(16),
  seq_len: z.int().min(4).optional(),
  use_margin: z.boolean().default(false),
  centring: z.number().min(0).default(0),
  label_smoothing: z.number().min(0).lt(0.5).default(0),
  lm_coef: z.number().min(0).default(0),
  eval_fraction: z.number().min(0).max(0.5).default(0),
  eval_batch_size: z.int().positive().default(32),
  /** Re-initialise the reward head per member (on by default: a policy's head is untrained). */
  reinit_head: z.boolean().default(true),
});

export const EnsembleSchema = z.strictObject({
  size: z.int().min(1).max(16).default(1),
  bootstrap: z.boolean().default(false),
  scoring: z.enum(ENSEMBLE_SCORING).default("mean"),
  lambda: z.number().min(0).default(1),
  normalise: z.boolean().default(true),
});
export type EnsembleOptions = z.output<typeof EnsembleSchema>;

export const RmConfigSchema = z
  .strictObject({
    seed: z.int().default(1),
    model: ModelSourceSchema,
    loss: z.enum(REWARD_LOSS_TYPES).default("bradley_terry"),
    train: RmTrainSchema.default(RmTrainSchema.parse({})),
    ensemble: EnsembleSchema.default(EnsembleSchema.parse({})),
    optim: optimField(3e-4),
    run: RunSchema.default(RunSchema.parse({})),
  })
  .superRefine((c, ctx) => {
    if (c.ensemble.bootstrap && c.ensemble.size < 2)
      ctx.addIssue({
        code: "custom",
        message: "bootstrap resampling needs an ensemble of size ≥ 2",
        path: ["ensemble", "bootstrap"],
      });
    if (c.ensemble.scoring === "uncertainty" && c.ensemble.size < 2)
      ctx.addIssue({
        code: "custom",
        message: "uncertainty scoring (mean − λ·std) needs an ensemble of size ≥ 2",
        path: ["ensemble", "scoring"],
      });
    if (c.loss === "safe_rlhf_cost" && c.train.use_margin)
      ctx.addIssue({
        code: "custom",
        message: "the cost loss takes no margin",
        path: ["train", "use_margin"],
      });
    if (c.loss === "safe_rlhf_cost" && c.train.label_smoothing > 0)
      ctx.addIssue({
        code: "custom",
        message: "label smoothing applies to bradley_terry only",
        path: ["train", "label_smoothing"],
      });
  });

export type RmConfig = z.output<typeof RmConfigSchema>;
export type RmConfigInput = z.input<typeof RmConfigSchema>;

export function parseRmConfig(raw: unknown, source?: ConfigSource): RmConfig {
  return parseConfig(RmConfigSchema, raw, "reward-model config", source);
}
