/**
 * A safety classifier backed by an OpenAI-compatible moderation endpoint:
 *
 *   POST {base}/moderations   {"model"?: ..., "input": [text, ...]}
 *   → {"results": [{"flagged": bool, "categories": {name: bool}, "category_scores": {name: p}}]}
 *
 * unsafe = flagged (or, with `threshold`, max category score ≥ threshold); score = the highest
 * category score; reasons = the flagged categories with their scores. The text sent is the
 * response, or "prompt\n\nresponse" with `withPrompt`.
 *
 * The transport is injected (`post`), so this file does no I/O: the CLI passes one built on
 * fetch. Failures (HTTP errors, malformed answers, a wrong number of results) are KEEL_E_UPSTREAM.
 */
import { z } from "zod";
import { KeelError } from "../../core/errors.js";
import type { SafetyClassifier, SafetyInput, SafetyVerdict } from "./safety.js";

export type JsonPost = (url: string, body: unknown) => Promise<unknown>;

export interface ModerationOptions {
  /** Base URL, e.g. http://localhost:8000/v1 (the path /moderations is appended). */
  readonly baseUrl: string;
  readonly model?: string;
  readonly threshold?: number;
  readonly withPrompt?: boolean;
  /** Inputs per request. */
  readonly batchSize?: number;
}

const ResponseSchema = z.looseObject({
  results: z.array(
    z.looseObject({
      flagged: z.boolean(),
      categories: z.record(z.string(), z.union([z.boolean(), z.null()])).optional(),
      category_scores: z.record(z.string(), z.number()).optional(),
    }),
  ),
});

export function moderationUrl(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, "")}/moderations`;
}

export function moderationClassifier(post: JsonPost, o: ModerationOptions): SafetyClassifier {
  const url = moderationUrl(o.baseUrl);
  const text = (x: SafetyInput) => (o.withPrompt ? `${x.prompt}\n\n${x.response}` : x.response);
  return {
    id: `moderation:${o.baseUrl}`,
    async classify(batch) {
      const out: SafetyVerdict[] = [];
      const size = o.batchSize ?? 32;
      for (let i = 0; i < batch.length; i += size) {
        const part = batch.slice(i, i + size);
        const raw = await post(url, {
          ...(o.model ? { model: o.model } : {}),
          input: part.map(text),
        });
        const parsed = ResponseSchema.safeParse(raw);
        if (!parsed.success || parsed.data.results.length !== part.length) {
          throw new KeelError(
            "KEEL_E_UPSTREAM",
            `moderation endpoint ${url} returned ${parsed.success ? `${parsed.data.results.length} results for ${part.length} inputs` : "an answer without results[].flagged"}`,
          );
        }
        for (const r of parsed.data.results) {
          const scores = Object.entries(r.category_scores ?? {});
          const top = scores.reduce((m, [, v]) => Math.max(m, v), 0);
          const unsafe = o.threshold !== undefined ? top >= o.threshold : r.flagged;
          const reasons = scores
            .filter(
              ([k, v]) =>
                r.categories?.[k] === true || (o.threshold !== undefined && v >= o.threshold),
            )
            .sort((a, b) => b[1] - a[1])
            .map(([k, v]) => `${k} ${v.toFixed(2)}`);
          out.push({
            unsafe,
            score: Math.min(1, Math.max(0, top || (r.flagged ? 1 : 0))),
            reasons,
          });
        }
      }
      return out;
    },
  };
}
