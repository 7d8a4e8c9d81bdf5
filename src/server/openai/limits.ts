/**
 * The work limits of `keel serve-model`. The model runs one generation at a time, so what a
 * request costs is the number of tokens it may make the model produce:
 *
 *   work = prompts × n × max_tokens        (max_tokens after the server's cap)
 *
 * and a request whose work exceeds the per-request budget is refused before any generation
 * starts (400, the request's fault: the client must ask for less). Prompt tokens are not
 * counted: the server has no tokenizer to count them with, a prompt is already bounded by the
 * body limit (and, for a keel checkpoint, cut to the model's context), and reading it is one
 * forward pass per choice where each completion token is one more.
 *
 * Requests in progress or waiting for the model are capped as well (`PendingLimit`, shared with
 * serve-rm in ../limits/pending.ts): past the cap a request is refused at once with 429 and
 * Retry-After, as an overloaded inference server answers, instead of queueing without bound
 * behind the others.
 */
import { KeelError } from "../../core/errors.js";

export interface WorkAsk {
  readonly prompts: number;
  readonly n: number;
  /** Per choice, after the server's cap; Infinity when neither request nor server sets one. */
  readonly maxTokens: number;
}

/** Throws a 400 naming the limit and what the request asked for when `ask` exceeds `budget`. */
export function checkWork(ask: WorkAsk, budget: number): void {
  if (!Number.isFinite(budget)) return;
  const where = { field: "max_tokens" };
  const shape = `${ask.prompts} prompt${ask.prompts === 1 ? "" : "s"} × n ${ask.n}`;
  if (!Number.isFinite(ask.maxTokens)) {
    // The provider's own default decides the length, and the server cannot count it: a single
    // choice may run, several may not.
    if (ask.prompts * ask.n === 1) return;
    throw new KeelError(
      "KEEL_E_INVALID_RECORD",
      `this request (${shape}) gives no max_tokens and the server sets no default, so its work cannot be counted against the per-request limit of ${budget} tokens; set max_tokens`,
      { where },
    );
  }
  const work = ask.prompts * ask.n * ask.maxTokens;
  if (work <= budget) return;
  throw new KeelError(
    "KEEL_E_INVALID_RECORD",
    `this request asks for up to ${work} completion tokens (${shape} × max_tokens ${ask.maxTokens}); the most one request may ask for is ${budget} (--max-request-tokens): lower max_tokens or n, or send fewer prompts per request`,
    { where },
  );
}
