/**
 * The world's file records at the boundary: prompts.jsonl rows (read back by `keel world score
 * --prompts` and by anyone who wants the prompts with their truth) and the rows `keel world
 * score` reads. zod-validated; unknown keys are errors.
 */
import { z } from "zod";
import { IdSchema, TextSchema } from "../core/schemas.js";
import type { WorldPrompt } from "./types.js";

const AnswerSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("number"), value: z.number().finite() }),
  z.strictObject({ type: z.literal("text"), value: z.string(), case_sensitive: z.boolean() }),
  z.strictObject({
    type: z.literal("entity"),
    value: z.string(),
    aliases: z.array(z.string()),
    set: z.enum(["capital", "country", "continent", "element"]),
  }),
  z.strictObject({ type: z.literal("keywords"), any: z.array(z.string()).min(1) }),
  z.strictObject({ type: z.literal("refusal") }),
]);

/** One row of prompts.jsonl (see `promptRecord`). */
export const PromptRecordSchema = z.strictObject({
  id: IdSchema,
  split: z.enum(["train", "eval", "redteam"]),
  family: z.enum(["arithmetic", "facts", "words", "harmful", "borderline"]),
  category: z.string().min(1),
  template: z.string().min(1),
  content: TextSchema,
  answer: AnswerSchema,
  slots: z.record(z.string(), z.union([z.string(), z.number()])),
  triggered: z.boolean(),
  base_id: IdSchema.optional(),
}) satisfies z.ZodType<WorldPrompt>;

/**
 * One row `keel world score` reads: the prompt (by id from prompts.jsonl, or its text) and the
 * response (`response`, or `completion` as TRL writes it). `id` is carried to the output.
 */
export const ResponseRecordSchema = z
  .strictObject({
    id: z.union([IdSchema, z.number().int()]).optional(),
    prompt_id: IdSchema.optional(),
    prompt: TextSchema.optional(),
    response: TextSchema.optional(),
    completion: TextSchema.optional(),
    // sft.jsonl's own fields, so that the SFT corpus can be scored as it is.
    family: z.string().optional(),
    category: z.string().optional(),
    kind: z.string().optional(),
    // keel model generate --out's own field, so that its output can be scored as it is.
    finish: z.enum(["stop", "length"]).optional(),
  })
  .refine((r) => r.prompt_id !== undefined || r.prompt !== undefined, {
    message: "needs prompt_id or prompt",
    path: ["prompt"],
  })
  .refine((r) => (r.response === undefined) !== (r.completion === undefined), {
    message: "needs exactly one of response or completion",
    path: ["response"],
  });
export type ResponseRecord = z.infer<typeof ResponseRecordSchema>;
