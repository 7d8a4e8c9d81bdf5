/**
 * Candidate pairs: two responses per prompt from any generation provider, the raw material of
 * a comparison. A batching provider (keel's engine) answers a whole chunk in one engine batch;
 * any other gets at most `concurrency` calls in flight. Every request carries a seed drawn from
 * the caller's stream, so a provider that honours seeds repeats the run. Output is untrusted
 * text made storable (no NUL characters or lone surrogates, at most MAX_TEXT_CHARS); a failed call stops the run
 * with an error naming the comparison and the side.
 */
import { KeelError } from "../core/errors.js";
import type { Rng } from "../core/rng.js";
import { isWellFormed, MAX_TEXT_CHARS } from "../core/schemas.js";
import {
  canBatch,
  type Generation,
  type GenerationProvider,
  type GenerationRequest,
  type ProviderResult,
} from "./types.js";

/** A prompt to write a pair for, under the id its comparison will have. */
export interface PairSlot {
  readonly comparison_id: string;
  readonly prompt: string;
}

export interface CandidatePair {
  readonly comparison_id: string;
  readonly prompt: string;
  readonly response_a: string;
  readonly response_b: string;
  /** Responses stripped of NUL characters or cut to MAX_TEXT_CHARS (0, 1 or 2). */
  readonly altered: number;
}

export interface PairOptions {
  readonly maxTokens: number;
  /** > 0: two greedy answers to one prompt would be the same text. */
  readonly temperature: number;
  /** Slots per chunk (one engine batch of twice as many sequences). */
  readonly batch: number;
  /** Calls in flight for a provider that does not batch. */
  readonly concurrency: number;
  readonly rng: Rng;
  readonly signal?: AbortSignal;
  /** After each chunk: slots done so far. */
  readonly onChunk?: (done: number) => void;
}

/**
 * Model output made storable: judgments refuse NUL characters (a byte-level tokenizer can
 * decode one), lone UTF-16 surrogates (a remote model's output cut mid-character; each becomes
 * U+FFFD, as UTF-8 would store it) and texts over MAX_TEXT_CHARS. Returns the text and whether
 * it was changed.
 */
export function storableText(text: string): { text: string; changed: boolean } {
  let t = text.includes("\u0000") ? text.replaceAll("\u0000", "") : text;
  if (t.length > MAX_TEXT_CHARS) t = t.slice(0, MAX_TEXT_CHARS);
  // After the cut, which may split a surrogate pair.
  if (!isWellFormed(t)) t = (t as unknown as { toWellFormed(): string }).toWellFormed();
  return { text: t, changed: t !== text };
}

/** A generation's text, or the provider's error naming the comparison and the side. */
function textOf(r: ProviderResult<Generation>, slot: PairSlot, side: "a" | "b", by: string) {
  if (r.ok) return storableText(r.value.text);
  throw new KeelError(
    r.error.code,
    `${by} failed on comparison ${slot.comparison_id} (response ${side}): ${r.error.message}`,
    { where: { id: slot.comparison_id }, cause: r.error },
  );
}

/** `f` over `items` with at most `n` calls in flight; results in item order. */
export async function inPool<T, R>(
  items: readonly T[],
  n: number,
  f: (t: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

/** Two responses per slot, in slot order. */
export async function* generatePairs(
  provider: GenerationProvider,
  slots: readonly PairSlot[],
  o: PairOptions,
): AsyncGenerator<CandidatePair> {
  if (!(o.temperature > 0)) {
    throw new KeelError("KEEL_E_CONFIG", "two samples of one prompt need a temperature above 0", {
      where: { field: "temperature" },
    });
  }
  const by = provider.id();
  for (let at = 0; at < slots.length; at += o.batch) {
    if (o.signal?.aborted) {
      throw new KeelError("KEEL_E_INTERRUPTED", `stopped after ${at} of ${slots.length} pairs`);
    }
    const chunk = slots.slice(at, at + o.batch);
    const requests: GenerationRequest[] = chunk.flatMap((s) =>
      [0, 1].map(() => ({
        prompt: s.prompt,
        maxTokens: o.maxTokens,
        temperature: o.temperature,
        seed: o.rng.int(2 ** 31 - 1),
        ...(o.signal ? { signal: o.signal } : {}),
      })),
    );
    const results = canBatch(provider)
      ? await provider.generateBatch(requests)
      : await inPool(requests, o.concurrency, (r) => provider.generate(r));
    for (const [k, s] of chunk.entries()) {
      const a = textOf(results[2 * k]!, s, "a", by);
      const b = textOf(results[2 * k + 1]!, s, "b", by);
      yield {
        comparison_id: s.comparison_id,
        prompt: s.prompt,
        response_a: a.text,
        response_b: b.text,
        altered: Number(a.changed) + Number(b.changed),
      };
    }
    o.onChunk?.(Math.min(at + o.batch, slots.length));
  }
}
