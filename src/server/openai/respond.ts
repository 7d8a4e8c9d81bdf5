/**
 * How keel's OpenAI-compatible endpoint writes answers: OpenAI's error shape
 * {"error": {"message", "type", "param", "code"}}, token usage, and server-sent event streams.
 */
import type { FastifyReply } from "fastify";
import type { ErrorCode, KeelError } from "../../core/errors.js";
import { asKeelError, type Usage } from "../../providers/types.js";

export const now = () => Math.floor(Date.now() / 1000);

/** OpenAI's error type for an HTTP status. */
function errorType(status: number): string {
  return status === 401
    ? "authentication_error"
    : status === 429
      ? "rate_limit_error"
      : status >= 500
        ? "server_error"
        : "invalid_request_error";
}

/**
 * OpenAI's error shape for a message written for the caller (the answers the server gives before
 * a route runs: shutting down, a request not sent in time, a body that is not JSON).
 */
export const openAiErrorBody = (code: ErrorCode, message: string, status: number) => ({
  error: { message, type: errorType(status), param: null, code },
});

export function openAiError(e: KeelError) {
  const status = e.httpStatus;
  const type = errorType(status);
  const code =
    e.code === "KEEL_E_NOT_FOUND" && e.where?.field === "model" ? "model_not_found" : e.code;
  // A server-side failure's message can carry the upstream's URL, the model name this server
  // hides behind --model and the upstream's own error body (a traceback): the caller gets a
  // generic one, the log the details. (501 says what the request asked for that is not served;
  // an upstream's refusal of the request has become a 4xx with its own message, upstream.ts.)
  const message =
    status < 500 || status === 501
      ? e.message
      : e.code === "KEEL_E_UPSTREAM"
        ? "the model behind this server failed; the server log has the details"
        : "internal error; the server log has the details";
  return { error: { message, type, param: e.where?.field ?? null, code } };
}

/**
 * The usage of a whole answer from its choices' usages, `choicesPerPrompt` consecutive ones per
 * prompt: every choice of a prompt reads the same prompt, which OpenAI counts once.
 */
export function totalUsage(us: readonly Usage[], choicesPerPrompt = 1) {
  let prompt = 0;
  for (let i = 0; i < us.length; i += choicesPerPrompt)
    prompt += Math.max(...us.slice(i, i + choicesPerPrompt).map((u) => u.promptTokens));
  const completion = us.reduce((s, u) => s + u.completionTokens, 0);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
  };
}

/**
 * Writes a server-sent event stream: each frame the generator yields, then (when asked) a usage
 * chunk, then `data: [DONE]`. Nothing is sent before the first frame: a failure before it (a
 * prompt the provider refuses) throws, for the route's error handler to answer with a plain
 * JSON error and its status, as OpenAI and vLLM do; a stream that has begun is committed to
 * 200, so an error after the first byte is sent as an `error` event, which OpenAI's clients
 * raise.
 */
export async function streamSse(
  reply: FastifyReply,
  id: string,
  created: number,
  model: string,
  includeUsage: boolean,
  object: string,
  frames: () => AsyncGenerator<object, Usage, void>,
  stallMs = SEND_STALL_MS,
): Promise<void> {
  const it = frames();
  let next = await it.next();
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  const write = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
  try {
    while (!next.done) {
      // A client that reads slower than the model generates: wait for its socket to drain
      // rather than buffer the rest of the answer in memory (its close ends the wait, and the
      // route's abort signal ends the generation).
      if (!write(next.value)) await drained(res, stallMs);
      if (res.destroyed) {
        await it.return(undefined as never);
        return;
      }
      next = await it.next();
    }
    if (includeUsage) {
      write({ id, object, created, model, choices: [], usage: totalUsage([next.value]) });
    }
  } catch (e) {
    const err = asKeelError(e);
    reply.log.warn({ err }, "stream failed");
    write(openAiError(err));
  }
  res.end("data: [DONE]\n\n");
}

/**
 * How long a stream waits for its client to take the next part of an answer: a client that
 * stops reading (or reads a few bytes a minute) would otherwise hold one of the server's
 * --max-pending places for as long as its connection lives.
 */
export const SEND_STALL_MS = 60_000;

/**
 * Resolves once `res` can take more (its "drain"), or is closed; after `stallMs` without either,
 * destroys the connection (which aborts the generation and frees the request's place).
 */
function drained(res: FastifyReply["raw"], stallMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => res.destroy(), stallMs);
    const done = () => {
      clearTimeout(timer);
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
