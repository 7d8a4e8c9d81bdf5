/**
 * The provider contract: where candidate responses and rewards come from. A provider is a
 * small object with an `id()` and one call; optional capabilities are sub-interfaces checked
 * with a type guard; failures come back as values (`{ ok: false, error }` with a catalogue
 * KeelError), so a batch of calls is never cut short by one upstream hiccup and the caller
 * decides what a failure means (retry, skip, fail closed).
 *
 *   GenerationProvider          generate(request) → Generation
 *     StreamingProvider         + stream(request) → text deltas, then the finish
 *     BatchGenerationProvider   + generateBatch(requests) → one engine batch
 *   RewardProvider              score(items) → one reward per (prompt, response)
 *   Closable                    + close() (sessions, sockets)
 */
import { KeelError } from "../core/errors.js";

export type ProviderResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: KeelError };

export function ok<T>(value: T): ProviderResult<T> {
  return { ok: true, value };
}

export function fail<T = never>(error: unknown): ProviderResult<T> {
  return { ok: false, error: asKeelError(error) };
}

/** Any thrown value as a catalogue error (unexpected ones become KEEL_E_INTERNAL). */
export function asKeelError(e: unknown): KeelError {
  if (e instanceof KeelError) return e;
  return new KeelError("KEEL_E_INTERNAL", e instanceof Error ? e.message : String(e), { cause: e });
}

/** Unwraps a result, throwing its error (for callers that want exceptions). */
export function unwrap<T>(r: ProviderResult<T>): T {
  if (!r.ok) throw r.error;
  return r.value;
}

export interface ChatMessage {
  readonly role: "system" | "user" | "assistant";
  readonly content: string;
}

/** One generation: a plain prompt (completions) or a conversation (chat), exactly one of them. */
export interface GenerationRequest {
  readonly prompt?: string;
  readonly messages?: readonly ChatMessage[];
  /** Most new tokens (provider default when absent). */
  readonly maxTokens?: number;
  /** 0 = greedy. */
  readonly temperature?: number;
  readonly topP?: number;
  /** The text ends before the first of these strings. */
  readonly stop?: readonly string[];
  readonly seed?: number;
  readonly signal?: AbortSignal;
}

export type FinishReason = "stop" | "length" | "content_filter";

export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
}

export interface Generation {
  readonly text: string;
  readonly finishReason: FinishReason;
  readonly usage: Usage;
  /** The model that answered (as the provider names it). */
  readonly model: string;
}

export interface GenerationProvider {
  id(): string;
  generate(request: GenerationRequest): Promise<ProviderResult<Generation>>;
}

export type StreamEvent =
  | { readonly type: "delta"; readonly text: string }
  | {
      readonly type: "done";
      readonly finishReason: FinishReason;
      readonly usage: Usage;
      readonly model: string;
    }
  | { readonly type: "error"; readonly error: KeelError };

export interface StreamingProvider extends GenerationProvider {
  /** Text deltas as they arrive, then one "done" (or one "error"; nothing after either). */
  stream(request: GenerationRequest): AsyncIterable<StreamEvent>;
}

export interface BatchGenerationProvider extends GenerationProvider {
  /**
   * Many requests in one engine batch per distinct set of sampling options (max tokens,
   * temperature, top-p); one result per request. A batch samples from its first request's seed,
   * so a sampled answer depends on the batch it ran in (greedy answers do not).
   */
  generateBatch(
    requests: readonly GenerationRequest[],
  ): Promise<readonly ProviderResult<Generation>[]>;
}

export interface Closable {
  close(): Promise<void>;
}

export function canStream(p: GenerationProvider): p is StreamingProvider {
  return typeof (p as Partial<StreamingProvider>).stream === "function";
}

export function canBatch(p: GenerationProvider): p is BatchGenerationProvider {
  return typeof (p as Partial<BatchGenerationProvider>).generateBatch === "function";
}

export function isClosable(p: object): p is Closable {
  return typeof (p as Partial<Closable>).close === "function";
}

/** One (prompt, response) to score, with the optional label OpenRLHF passes along. */
export interface RewardItem {
  readonly prompt: string;
  readonly response: string;
  readonly label?: string;
}

export interface RewardScores {
  /** One reward per item, in order. */
  readonly rewards: readonly number[];
  /** Further per-item numbers worth logging (ensemble spread, member scores, …). */
  readonly extras?: Readonly<Record<string, readonly number[]>>;
}

export interface RewardProvider {
  id(): string;
  score(
    items: readonly RewardItem[],
    opts?: { readonly signal?: AbortSignal },
  ): Promise<ProviderResult<RewardScores>>;
}

/** Checks a request names exactly one of prompt and messages. */
export function requestText(
  r: GenerationRequest,
): { kind: "prompt"; prompt: string } | { kind: "chat"; messages: readonly ChatMessage[] } {
  if ((r.prompt === undefined) === (r.messages === undefined)) {
    throw new KeelError(
      "KEEL_E_USAGE",
      "a generation request needs exactly one of prompt and messages",
    );
  }
  if (r.messages !== undefined) {
    if (r.messages.length === 0)
      throw new KeelError("KEEL_E_USAGE", "a chat request needs at least one message", {
        where: { field: "messages" },
      });
    return { kind: "chat", messages: r.messages };
  }
  return { kind: "prompt", prompt: r.prompt! };
}
