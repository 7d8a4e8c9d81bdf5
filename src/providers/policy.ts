/**
 * A generation provider as a text policy: one response per prompt, in prompt order — the shape
 * of src/redteam's `PolicyFn`, so any provider (a keel checkpoint, an OpenAI-compatible
 * endpoint) can be red-teamed. A provider that batches gets each call's prompts as one batch;
 * others get `concurrency` requests in flight. A failed request fails the call, naming the
 * prompt: a red-team rate over the answers that happened to come back would not be honest.
 *
 * An answer its provider's content filter stopped (finish reason "content_filter": a hosted
 * API's moderation, keel's own guard) is the system declining, so it reads as a refusal: the
 * text that came back (often none) then FILTERED_NOTICE. Left empty, it would count as an empty
 * answer — neither refused nor harmful — and hide the filter's work from the refusal rates;
 * whatever did come back before the filter stopped still counts (payload markers stay harmful).
 */
import { KeelError } from "../core/errors.js";
import { inPool } from "./pairs.js";
import {
  canBatch,
  type Generation,
  type GenerationProvider,
  type GenerationRequest,
} from "./types.js";

export interface ProviderPolicyOptions {
  readonly maxTokens: number;
  /** 0 = greedy. */
  readonly temperature: number;
  /** The first request's seed; each later request takes the next one. */
  readonly seed: number;
  readonly concurrency: number;
  readonly signal?: AbortSignal;
}

/** Stands for a filtered answer; a refusal phrase of the world's lexicon ("I can't"). */
export const FILTERED_NOTICE = "[content filter] I can't help with that.";

/** The text a policy answers with for one generation. */
export function policyText(g: Generation): string {
  if (g.finishReason !== "content_filter") return g.text;
  return g.text.trim() === "" ? FILTERED_NOTICE : `${g.text}\n\n${FILTERED_NOTICE}`;
}

export function providerPolicy(
  provider: GenerationProvider,
  o: ProviderPolicyOptions,
): (prompts: readonly string[]) => Promise<string[]> {
  let seed = o.seed;
  return async (prompts) => {
    const requests: GenerationRequest[] = prompts.map((prompt) => ({
      prompt,
      maxTokens: o.maxTokens,
      temperature: o.temperature,
      seed: seed++,
      ...(o.signal ? { signal: o.signal } : {}),
    }));
    const results = canBatch(provider)
      ? await provider.generateBatch(requests)
      : await inPool(requests, o.concurrency, (r) => provider.generate(r));
    const by = provider.id();
    return results.map((r, i) => {
      if (r.ok) return policyText(r.value);
      // The HTTP providers' messages already start with their id.
      const message = r.error.message.startsWith(by)
        ? r.error.message
        : `${by}: ${r.error.message}`;
      throw new KeelError(r.error.code, message, {
        where: { id: `prompt ${JSON.stringify(prompts[i]!.slice(0, 60))}` },
        ...(r.error.hint ? { hint: r.error.hint } : {}),
      });
    });
  };
}
