/**
 * keel's OpenAI-compatible model endpoint (`keel serve-model`): any OpenAI client can talk to a
 * generation provider — usually a keel checkpoint through the engine provider — with
 *
 *   GET  /v1/models             the served model
 *   POST /v1/chat/completions   chat, streaming (server-sent events) or not
 *   POST /v1/completions        plain prompts, streaming or not
 *   GET  /healthz
 *
 * Shapes follow the OpenAI API reference (objects "chat.completion", "chat.completion.chunk",
 * "text_completion"; a stream ends with `data: [DONE]`; `stream_options.include_usage` adds a
 * final usage chunk); errors are {"error": {"message", "type", "param", "code"}} with the
 * catalogue code's HTTP status. With a guard (guard.ts) every completion is checked before any
 * of it is sent, so a stream carries either the checked completion or the refusal. Work limits
 * (limits.ts): a request may ask for at most `maxRequestTokens` tokens (prompts × n ×
 * max_tokens), and at most `maxPending` completion requests run or wait at once, each of which
 * must arrive whole within the request timeout (120 s, else 408). The answers Fastify and Node
 * give outside a route (a body that is not JSON: 415, the shutdown: 503 with Retry-After, a
 * request too slow or not HTTP) are in OpenAI's shape too, with the statuses `keel serve` uses.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { KeelError } from "../../core/errors.js";
import { DEFAULT_MAX_PENDING } from "../../core/serving-limits.js";
import type { GenerationProvider } from "../../providers/types.js";
import { clientErrorAs, registerClosing, requestTimeouts } from "../http/connections.js";
import { jsonBodiesOnly, tooLargeMessage, unsupportedMediaType } from "../http/errors.js";
import { allowedMethods, methodNotAllowed } from "../http/methods.js";
import { admitInto, PendingLimit } from "../limits/pending.js";
import { chatCompletions, textCompletions } from "./completions.js";
import { completionKit } from "./generate.js";
import type { OutputGuard } from "./guard.js";
import { openAiError, openAiErrorBody } from "./respond.js";

export interface ModelAppOptions {
  readonly provider: GenerationProvider;
  /** The model name clients send (and /v1/models lists). */
  readonly model: string;
  /** Require `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string;
  readonly guard?: OutputGuard;
  /** Cap on a request's max_tokens. */
  readonly maxTokens?: number;
  /** max_tokens of a chat request that gives none (completions default to 16, as OpenAI's). */
  readonly chatMaxTokens?: number;
  /** The most tokens one request may ask for: prompts × n × max_tokens (default 16384). */
  readonly maxRequestTokens?: number;
  /** The most completion requests in progress or waiting at once (default 16); more get 429. */
  readonly maxPending?: number;
  readonly logLevel?: string;
  readonly logStream?: NodeJS.WritableStream;
  readonly bodyLimit?: number;
  /** How long a client may take to send a whole request (default 120 s; tests shorten it). */
  readonly requestTimeoutMs?: number;
}

/** Every failure as OpenAI's error shape with a catalogue code (see respond.ts). */
function answerError(error: unknown, req: FastifyRequest, reply: FastifyReply) {
  let e: KeelError;
  if (error instanceof KeelError) e = error;
  else {
    const fe = error as { statusCode?: number; code?: string; message: string };
    if (fe.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
      const m = unsupportedMediaType(req);
      return reply.status(m.status).send(openAiErrorBody(m.code, m.message, m.status));
    }
    if (fe.code === "FST_ERR_CTP_BODY_TOO_LARGE")
      e = new KeelError("KEEL_E_TOO_LARGE", tooLargeMessage(req));
    else if (fe.code === "FST_ERR_MAX_PARAM_LENGTH")
      e = new KeelError(
        "KEEL_E_INVALID_RECORD",
        "at most 100 characters in a path (no served model has a longer id)",
        { where: { field: "model" } },
      );
    else if (typeof fe.statusCode === "number" && fe.statusCode < 500)
      e = new KeelError("KEEL_E_INVALID_RECORD", fe.message);
    else {
      req.log.error({ err: error }, "unexpected error");
      e = new KeelError("KEEL_E_INTERNAL", "internal error; the server log has the details");
    }
  }
  if (e.httpStatus >= 500) req.log.error({ err: e }, "request failed");
  return reply.status(e.httpStatus).send(openAiError(e));
}

export async function buildModelApp(o: ModelAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: o.logLevel ?? "info",
      redact: ["req.headers.authorization"],
      ...(o.logStream ? { stream: o.logStream } : {}),
    } as never,
    bodyLimit: o.bodyLimit ?? 1 << 20,
    ...requestTimeouts(o.requestTimeoutMs),
    clientErrorHandler: clientErrorAs(openAiErrorBody),
    // Answered by registerClosing instead, in OpenAI's error shape with Retry-After.
    return503OnClosing: false,
    // A malformed URL or an over-long path parameter (/v1/models/:id), which Fastify answers
    // before routing, in the same shape as every other error (its own shape repeated the URL).
    frameworkErrors: answerError,
  });
  const keyDigest = o.apiKey ? createHash("sha256").update(o.apiKey).digest() : undefined;
  const g = completionKit(o);
  const { checkModel } = g;
  const pending = new PendingLimit(o.maxPending ?? DEFAULT_MAX_PENDING);

  // Before the API key is checked: a request turned away for the shutdown needs no key.
  registerClosing(app, openAiErrorBody);
  jsonBodiesOnly(app);
  app.setErrorHandler(answerError);
  const notFound = (req: FastifyRequest, reply: FastifyReply) => {
    const allowed = allowedMethods(app, req);
    if (allowed.length > 0) {
      const message = methodNotAllowed(req, reply, allowed);
      return reply.send(openAiErrorBody("KEEL_E_INVALID_RECORD", message, 405));
    }
    return reply
      .status(404)
      .send(
        openAiError(
          new KeelError("KEEL_E_NOT_FOUND", `no route ${req.method} ${req.url.split("?")[0]}`),
        ),
      );
  };
  app.setNotFoundHandler(notFound);
  app.addHook("onRequest", async (req) => {
    // The route, not the URL: "/healthz?probe=1" is the health check too.
    if (!keyDigest || req.routeOptions.url === "/healthz") return;
    const h = req.headers.authorization ?? "";
    const given = createHash("sha256")
      .update(h.startsWith("Bearer ") ? h.slice(7) : "")
      .digest();
    if (!timingSafeEqual(given, keyDigest))
      throw new KeelError(
        "KEEL_E_UNAUTHORIZED",
        "missing or wrong API key (Authorization: Bearer …)",
      );
  });

  // After the API key: answered before the body is read, which the not-found route would read
  // and parse up to the server's body limit (its own routes cap theirs).
  app.addHook("onRequest", async (req, reply) => (req.is404 ? notFound(req, reply) : undefined));

  /** Completion requests past `maxPending` are refused at once, before their bodies are read. */
  const admit = admitInto(
    pending,
    (s) =>
      new KeelError(
        "KEEL_E_RATE_LIMITED",
        `the server is busy: ${pending.max} completion request${pending.max === 1 ? " is" : "s are"} already in progress or waiting, its limit (--max-pending); retry after ${s} s`,
      ),
  );

  app.get("/healthz", { bodyLimit: 1024 }, async () => ({ ok: true, model: o.model }));
  app.get("/v1/models", { bodyLimit: 1024 }, async () => ({
    object: "list",
    data: [{ id: o.model, object: "model", created: 0, owned_by: "keel" }],
  }));
  app.get<{ Params: { id: string } }>("/v1/models/:id", { bodyLimit: 1024 }, async (req) => {
    checkModel(req.params.id);
    return { id: o.model, object: "model", created: 0, owned_by: "keel" };
  });

  app.post("/v1/chat/completions", { onRequest: admit }, (req, reply) =>
    chatCompletions(g, req, reply),
  );

  app.post("/v1/completions", { onRequest: admit }, (req, reply) => textCompletions(g, req, reply));

  return app;
}
