/**
 * Config blocks every trainer shares (zod, snake_case as in keel's YAML files), and the one
 * parser that turns a failure into KEEL_E_CONFIG naming the file, line and field.
 *
 *   model:  { init: <checkpoint dir> }  — start from a trained model (and its tokenizer), or
 *           { arch: {d_model, layers, heads, context}, tokenizer: {vocab_size} | {file} }
 *   optim:  AdamW + warm-up/cosine schedule
 *   run:    logging, evaluation and checkpoint cadence
 */
import { z } from "zod";
import { type ConfigSource, parseConfig as parseCoreConfig } from "../../core/config.js";

export const ArchSchema = z.strictObject({
  d_model: z.int().min(8).default(128),
  layers: z.int().min(1).default(2),
  heads: z.int().min(1).default(4),
  context: z.int().min(8).default(128),
});

export const TokenizerSourceSchema = z.union([
  z.strictObject({ vocab_size: z.int().min(260).max(65536) }),
  z.strictObject({ file: z.string().min(1) }),
]);

export const ModelSourceSchema = z
  .strictObject({
    init: z.string().min(1).optional(),
    arch: ArchSchema.optional(),
    tokenizer: TokenizerSourceSchema.optional(),
  })
  .superRefine((m, ctx) => {
    if ((m.init === undefined) === (m.arch === undefined))
      ctx.addIssue({ code: "custom", message: "give exactly one of init and arch", path: [] });
    if (m.arch && !m.tokenizer)
      ctx.addIssue({
        code: "custom",
        message: "a new model (arch) needs a tokenizer: {vocab_size} or {file}",
        path: ["tokenizer"],
      });
    if (m.init && m.tokenizer)
      ctx.addIssue({
        code: "custom",
        message: "a model loaded from init keeps its own tokenizer; remove tokenizer",
        path: ["tokenizer"],
      });
    if (m.arch && m.arch.d_model % m.arch.heads !== 0)
      ctx.addIssue({
        code: "custom",
        message: "d_model must be divisible by heads",
        path: ["arch", "heads"],
      });
  });
export type ModelSource = z.output<typeof ModelSourceSchema>;

/** The `optim` block, its `lr` defaulting to `lr` (each trainer's own). */
function optimWithLr(lr: number) {
  return (
    z
      .strictObject({
        lr: z.number().positive().default(lr),
        min_lr: z.number().min(0).default(0),
        warmup: z.int().min(0).default(0),
        weight_decay: z.number().min(0).default(0),
        beta1: z.number().min(0).lt(1).default(0.9),
        beta2: z.number().min(0).lt(1).default(0.95),
        eps: z.number().positive().default(1e-8),
        max_grad_norm: z.number().positive().nullable().default(1),
      })
      // The cosine runs from lr down to min_lr; above lr it would raise the rate as training ends.
      .superRefine((o, ctx) => {
        if (o.min_lr > o.lr)
          ctx.addIssue({
            code: "custom",
            message: `min_lr ${o.min_lr} is above lr ${o.lr}; the schedule decays from lr to min_lr`,
            path: ["min_lr"],
          });
      })
  );
}

export const OptimSchema = optimWithLr(1e-3);

/**
 * A trainer's `optim` field: absent, or given in part (`optim: {warmup: 10}`), its `lr` is the
 * trainer's own default. (A block given in part once took the shared 1e-3: ten times DPO's.)
 */
export function optimField(lr: number) {
  const schema = optimWithLr(lr);
  return schema.default(schema.parse({}));
}

export type Optim = z.output<typeof OptimSchema>;

export const RunSchema = z.strictObject({
  /** Steps between train-metric records (1 = every step). */
  log_every: z.int().min(1).default(10),
  /** Steps between evaluations (0 = only at the end). */
  eval_every: z.int().min(0).default(0),
  /** Steps between checkpoints (0 = none before the end). */
  checkpoint_every: z.int().min(0).default(0),
  keep_checkpoints: z.int().min(1).default(2),
});
export type RunOptions = z.output<typeof RunSchema>;

export type { ConfigSource } from "../../core/config.js";

/** Parses `raw` with `schema` or throws KEEL_E_CONFIG with file, line and field. */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  what: string,
  source: ConfigSource = {},
): z.output<S> {
  return parseCoreConfig(schema, raw, source, [], what);
}
