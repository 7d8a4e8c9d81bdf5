/**
 * Supervised fine-tuning config. Defaults suit keel's small world models (see presets.ts).
 *
 *   seed, model (init | arch + tokenizer), optim, run
 *   train.epochs | train.steps   how long (steps win when both are given)
 *   train.batch_size             rows per step
 *   train.seq_len                row length (default: the model's context)
 *   train.packing                several examples per row (whole examples, first-fit)
 *   train.eval_fraction          held-out share of the training data when no eval set is given
 */
import { z } from "zod";
import {
  type ConfigSource,
  ModelSourceSchema,
  optimField,
  parseConfig,
  RunSchema,
} from "../common/config.js";

export const SftTrainSchema = z.strictObject({
  epochs: z.number().positive().default(1),
  steps: z.int().positive().optional(),
  batch_size: z.int().positive().default(16),
  seq_len: z.int().min(4).optional(),
  packing: z.boolean().default(true),
  eval_fraction: z.number().min(0).max(0.5).default(0),
  eval_batch_size: z.int().positive().default(32),
});

export const SftConfigSchema = z.strictObject({
  seed: z.int().default(1),
  model: ModelSourceSchema,
  train: SftTrainSchema.default(SftTrainSchema.parse({})),
  optim: optimField(1e-3),
  run: RunSchema.default(RunSchema.parse({})),
});

export type SftConfig = z.output<typeof SftConfigSchema>;
export type SftConfigInput = z.input<typeof SftConfigSchema>;

export function parseSftConfig(raw: unknown, source?: ConfigSource): SftConfig {
  return parseConfig(SftConfigSchema, raw, "sft config", source);
}
