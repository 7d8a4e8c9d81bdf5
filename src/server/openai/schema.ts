/**
 * The request bodies keel's OpenAI-compatible endpoint accepts (OpenAI API reference,
 * "Create chat completion" and "Create completion"), validated with zod at the boundary.
 * Fields OpenAI defines that keel cannot honour are accepted only at their neutral value
 * (e.g. presence_penalty 0, logprobs false); any other field is an error, as everywhere in keel.
 */
import { z } from "zod";

/** The most choices a request may ask for (`n`). */
export const MAX_N = 8;

const Stop = z.union([z.string(), z.array(z.string()).max(4)]).nullish();
const Neutral0 = z.literal(0).nullish();

const Common = {
  model: z.string().min(1),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  n: z.number().int().min(1).max(MAX_N).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.strictObject({ include_usage: z.boolean().optional() }).nullish(),
  stop: Stop,
  // Choice i of n is generated with seed + i, so the largest seed leaves room for n − 1 more
  // safe integers: past 2^53 − 1, seed + 1 and seed + 2 are the same number (the same text twice).
  seed: z
    .number()
    .int()
    .max(Number.MAX_SAFE_INTEGER - (MAX_N - 1))
    .nullish(),
  user: z.string().max(256).optional(),
  presence_penalty: Neutral0,
  frequency_penalty: Neutral0,
};

const TextPart = z.strictObject({ type: z.literal("text"), text: z.string() });

export const ChatMessageIn = z.strictObject({
  role: z.enum(["system", "developer", "user", "assistant"]),
  content: z.union([z.string(), z.array(TextPart).min(1)]),
  name: z.string().max(64).optional(),
});

export const ChatRequest = z.strictObject({
  ...Common,
  messages: z.array(ChatMessageIn).min(1).max(256),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  logprobs: z.literal(false).nullish(),
  response_format: z.strictObject({ type: z.literal("text") }).nullish(),
});
export type ChatRequest = z.infer<typeof ChatRequest>;

export const CompletionRequest = z.strictObject({
  ...Common,
  prompt: z.union([z.string(), z.array(z.string()).min(1).max(64)]),
  max_tokens: z.number().int().positive().nullish(),
  echo: z.literal(false).nullish(),
  logprobs: z.null().optional(),
  suffix: z.null().optional(),
  best_of: z.literal(1).nullish(),
});
export type CompletionRequest = z.infer<typeof CompletionRequest>;

export function contentText(c: z.infer<typeof ChatMessageIn>["content"]): string {
  return typeof c === "string" ? c : c.map((p) => p.text).join("");
}
