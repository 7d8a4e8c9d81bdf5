/**
 * Safeguards config: one optional block per monitor (absent or null = off). Each block's
 * `action` says what an alarm does: "warn" writes an event, "stop" also ends the run (after
 * checkpointing the iteration that tripped it).
 *
 *   kl_budget     max mean per-sequence KL(π ‖ π_ref); warns at warn_fraction × max
 *   disagreement  reward-ensemble std over its baseline (first baseline_iters iterations)
 *   gold          oracle ("gold") reward tracking: alarm when the smoothed gold reward falls
 *                 max_drop below its best while the proxy reward has not fallen
 *   length        mean response length over its baseline: alarm outside [min_ratio, max_ratio]
 *   ema           EMA of the policy weights (decay); alarm when the relative distance of the
 *                 live weights from the EMA exceeds max_drift (null: track only)
 */
import { z } from "zod";
import { type ConfigSource, parseConfig } from "../train/common/config.js";

const Action = z.enum(["warn", "stop"]);

export const SafeguardsSchema = z.strictObject({
  kl_budget: z
    .strictObject({
      max: z.number().positive(),
      warn_fraction: z.number().gt(0).max(1).default(0.8),
      action: Action.default("stop"),
    })
    .nullable()
    .default(null),
  disagreement: z
    .strictObject({
      max_ratio: z.number().gt(1).default(2),
      baseline_iters: z.int().positive().default(3),
      action: Action.default("warn"),
    })
    .nullable()
    .default(null),
  gold: z
    .strictObject({
      max_drop: z.number().positive().default(0.1),
      smoothing: z.number().min(0).lt(1).default(0.5),
      action: Action.default("warn"),
    })
    .nullable()
    .default(null),
  length: z
    .strictObject({
      max_ratio: z.number().gt(1).default(2),
      min_ratio: z.number().gt(0).lt(1).default(0.5),
      baseline_iters: z.int().positive().default(1),
      action: Action.default("warn"),
    })
    .nullable()
    .default(null),
  ema: z
    .strictObject({
      decay: z.number().gt(0).lt(1).default(0.99),
      max_drift: z.number().positive().nullable().default(null),
      action: Action.default("warn"),
    })
    .nullable()
    .default(null),
});

export type SafeguardsConfig = z.output<typeof SafeguardsSchema>;
export type SafeguardsConfigInput = z.input<typeof SafeguardsSchema>;

export function parseSafeguards(raw: unknown, source?: ConfigSource): SafeguardsConfig {
  return parseConfig(SafeguardsSchema, raw, "safeguards config", source);
}
