/**
 * DPO-family config.
 *
 *   model.init             the policy to fine-tune (usually the SFT model)
 *   reference              the frozen reference (default: the same checkpoint as model.init)
 *   loss                   sigmoid | cdpo | robust | ipo | hinge (losses/dpo.ts)
 *   beta                   β (τ for IPO)
 *   label_smoothing        ε, the assumed label-flip rate (cdpo, robust only)
 * Cross-field checks: cdpo and robust need 0 < ε < ½; the other losses take no ε.
 */
import { z } from "zod";
import {
  type ConfigSource,
  ModelSourceSchema,
  optimField,
  parseConfig,
  RunSchema,
} from "../common/config.js";
import { DPO_LOSS_TYPES } from "../losses/dpo.js";

export const DpoTrainSchema = z.strictObject({
  epochs: z.number().positive().default(1),
  steps: z.int().positive().optional(),
  batch_size: z.int().positive().default(16),
  seq_len: z.int().min(4).optional(),
  eval_fraction: z.number().min(0).max(0.5).default(0),
  eval_batch_size: z.int().positive().default(32),
});

export const DpoConfigSchema = z
  .strictObject({
    seed: z.int().default(1),
    model: ModelSourceSchema,
    reference: z.strictObject({ init: z.string().min(1) }).optional(),
    loss: z.enum(DPO_LOSS_TYPES).default("sigmoid"),
    beta: z.number().positive().default(0.1),
    label_smoothing: z.number().min(0).lt(0.5).default(0),
    train: DpoTrainSchema.default(DpoTrainSchema.parse({})),
    optim: optimField(1e-4),
    run: RunSchema.default(RunSchema.parse({})),
  })
  .superRefine((c, ctx) => {
    const smoothed = c.loss === "cdpo" || c.loss === "robust";
    if (smoothed && !(c.label_smoothing > 0))
      ctx.addIssue({
        code: "custom",
        message: `${c.loss} needs label_smoothing > 0 (the assumed flip rate)`,
        path: ["label_smoothing"],
      });
    if (!smoothed && c.label_smoothing > 0)
      ctx.addIssue({
        code: "custom",
        message: `${c.loss} takes no label_smoothing; use cdpo or robust for noisy labels`,
        path: ["label_smoothing"],
      });
    if (!c.model.init && !c.reference)
      ctx.addIssue({
        code: "custom",
        message: "a new model (arch) needs an explicit reference.init",
        path: ["reference"],
      });
  });

export type DpoConfig = z.output<typeof DpoConfigSchema>;
export type DpoConfigInput = z.input<typeof DpoConfigSchema>;

export function parseDpoConfig(raw: unknown, source?: ConfigSource): DpoConfig {
  return parseConfig(DpoConfigSchema, raw, "dpo config", source);
}
