/**
 * The CLI-only blocks of a `keel train` config, parsed with the file's line numbers: `data` (the
 * files or the synthetic world a trainer reads, and only those it reads) and `redteam` (PPO's
 * evaluation on the world's red-team suites).
 */
import { z } from "zod";
import { KeelError } from "../../core/errors.js";
import type { ConfigSource } from "../../train/index.js";
import type { Trainer } from "../commands/train.js";

/**
 * Data files that a world replaces. (`eval` and PPO's `eval_prompts` may come with a world: they
 * replace its held-out set, and the trainers read them.)
 */
const WORLD_EXCLUSIVE = ["train", "weights", "prompts"] as const;

export const DataSchema = z
  .strictObject({
    train: z.string().optional(),
    eval: z.string().optional(),
    weights: z.string().optional(),
    prompts: z.string().optional(),
    eval_prompts: z.string().optional(),
    split: z.enum(["train", "eval", "redteam"]).optional(),
    world: z.string().optional(),
    world_seed: z.int().optional(),
    /** World data: the first n eval pairs (default all) or PPO eval prompts (default 200). */
    eval_count: z.int().positive().optional(),
  })
  // A world supplies the examples these files would: with both, the trainer read the world
  // and the record would still name the files as its inputs (an "audit-weighted" reward model
  // that no weight ever reached).
  .superRefine((d, ctx) => {
    // A world's own settings: without a world, or beside the eval file that replaces its
    // held-out set, they would be ignored without a word.
    if (d.world === undefined) {
      for (const k of ["world_seed", "eval_count"] as const)
        if (d[k] !== undefined)
          ctx.addIssue({
            code: "custom",
            path: [k],
            message: `${k} applies to a world's data; give it with data.world`,
          });
      return;
    }
    const evalFile = d.eval !== undefined ? "eval" : d.eval_prompts ? "eval_prompts" : undefined;
    if (d.eval_count !== undefined && evalFile !== undefined)
      ctx.addIssue({
        code: "custom",
        path: ["eval_count"],
        message: `eval_count takes the first n of the world's eval set, which data.${evalFile} replaces`,
      });
    const file = WORLD_EXCLUSIVE.find((k) => d[k] !== undefined);
    if (file)
      ctx.addIssue({
        code: "custom",
        path: [file],
        message: "give either world or train/weights/prompts files, not both",
      });
  });
export type DataSpec = z.output<typeof DataSchema>;

/**
 * The data fields each trainer reads. Any other would be recorded in the manifest as an input
 * that nothing read (a cost model "weighted" by an audit that no weight ever reached).
 */
const DATA_READ: Readonly<Record<Trainer, readonly (keyof DataSpec)[]>> = {
  sft: ["train", "eval", "world", "world_seed"],
  rm: ["train", "eval", "weights", "world", "world_seed", "eval_count"],
  dpo: ["train", "eval", "weights", "world", "world_seed", "eval_count"],
  cost: ["train", "eval", "world", "world_seed", "eval_count"],
  ppo: ["prompts", "eval_prompts", "split", "world", "world_seed", "eval_count"],
};

export function checkDataRead(trainer: Trainer, data: DataSpec, src: ConfigSource): void {
  const read = DATA_READ[trainer];
  const unread = (Object.keys(data) as (keyof DataSpec)[]).find(
    (k) => data[k] !== undefined && !read.includes(k),
  );
  if (unread === undefined) return;
  const line = src.lineOf?.(["data", unread]);
  throw new KeelError(
    "KEEL_E_CONFIG",
    `train ${trainer} does not read data.${unread} (it reads ${read.join(", ")})`,
    {
      where: {
        ...(src.file ? { file: src.file } : {}),
        ...(line ? { line } : {}),
        field: `data.${unread}`,
      },
    },
  );
}

export const RedteamSchema = z.strictObject({
  per_suite: z.int().positive().default(40),
  seed: z.int().default(1),
  trigger: z.string().default("SUDO"),
  max_new_tokens: z.int().positive().default(48),
  shots: z.int().min(1).max(32).default(8),
});
export type RedteamSpec = z.output<typeof RedteamSchema>;

/** Parses a CLI-only block with the file's line numbers. */
export function block<S extends z.ZodType>(
  schema: S,
  value: unknown,
  key: string,
  src: ConfigSource,
): z.output<S> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = [key, ...issue.path.map(String)];
  const line = src.lineOf?.(path);
  throw new KeelError("KEEL_E_CONFIG", issue.message, {
    where: {
      ...(src.file ? { file: src.file } : {}),
      ...(line ? { line } : {}),
      field: path.join("."),
    },
  });
}
