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
 * max_tokens), and at most `maxPending` completion requests run or wait at once.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { z } from "zod";
import { KeelError } from "../../core/errors.js";
import { zodIssueMessage } from "../../core/issue-messages.js";
import { DEFAULT_MAX_PENDING, DEFAULT_MAX_REQUEST_TOKENS } from "../../core/serving-limits.js";
import { renderChat } from "../../providers/chat.js";
import {
  type ChatMessage,
  canStream,
  type FinishReason,
  type GenerationProvider,
  type GenerationRequest,
  type StreamingProvider,
  type Usage,
} from "../../providers/types.js";
import { admitInto, PendingLimit } from "../limits/pending.js";
import type { OutputGuard } from "./guard.js";
import { checkWork } from "./limits.js";
import { now, openAiError, streamSse, totalUsage } from "./respond.js";
import { ChatRequest, CompletionRequest, contentText } from "./schema.js";
import { asClientError } from "./upstream.js";

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
}

interface Choice {
  readonly text: string;
  readonly finish: FinishReason;
}

const newId = (p: string) => `${p}-${randomBytes(12).toString("base64url")}`;

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success) {
    const { field, message } = zodIssueMessage(r.error, { input: body, schema });
    // OpenAI's `param` names a field or is null: a fault of the body as a whole (an unknown
    // field, a body that is not an object) names none.
    throw new KeelError("KEEL_E_INVALID_RECORD", message, {
      ...(field === "(record)" ? {} : { where: { field } }),
    });
  }
  return r.data;
}

export async function buildModelApp(o: ModelAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: o.logLevel ?? "info",
      redact: ["req.headers.authorization"],
      ...(o.logStream ? { stream: o.logStream } : {}),
    } as never,
    bodyLimit: o.bodyLimit ?? 1 << 20,
    return503OnClosing: true,
  });
  const keyDigest = o.apiKey ? createHash("sha256").update(o.apiKey).digest() : undefined;
  const cap = o.maxTokens ?? Number.POSITIVE_INFINITY;
  const budget = o.maxRequestTokens ?? DEFAULT_MAX_REQUEST_TOKENS;
  const pending = new PendingLimit(o.maxPending ?? DEFAULT_MAX_PENDING);

  app.setErrorHandler((error, req, reply) => {
    let e: KeelError;
    if (error instanceof KeelError) e = error;
    else {
      const fe = error as { statusCode?: number; code?: string; message: string };
      if (fe.code === "FST_ERR_CTP_BODY_TOO_LARGE")
        e = new KeelError("KEEL_E_TOO_LARGE", "request body too large");
      else if (typeof fe.statusCode === "number" && fe.statusCode < 500)
        e = new KeelError("KEEL_E_INVALID_RECORD", fe.message);
      else {
        req.log.error({ err: error }, "unexpected error");
        e = new KeelError("KEEL_E_INTERNAL", "internal error; the server log has the details");
      }
    }
    if (e.httpStatus >= 500) req.log.error({ err: e }, "request failed");
    return reply.status(e.httpStatus).send(openAiError(e));
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .status(404)
      .send(
        openAiError(
          new KeelError("KEEL_E_NOT_FOUND", `no route ${req.method} ${req.url.split("?")[0]}`),
        ),
      ),
  );
  app.addHook("onRequest", async (req) => {
    if (!keyDigest || req.url === "/healthz") return;
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

  const checkModel = (m: string) => {
    if (m !== o.model)
      throw new KeelError(
        "KEEL_E_NOT_FOUND",
        `the model ${JSON.stringify(m)} does not exist; this server has ${JSON.stringify(o.model)}`,
        {
          where: { field: "model" },
        },
      );
  };

  /** Completion requests past `maxPending` are refused at once, before their bodies are read. */
  const admit = admitInto(
    pending,
    (s) =>
      new KeelError(
        "KEEL_E_RATE_LIMITED",
        `the server is busy: ${pending.max} completion request${pending.max === 1 ? " is" : "s are"} already in progress or waiting, its limit (--max-pending); retry after ${s} s`,
      ),
  );

  /** The provider's error as the client sees it; the log keeps what the provider said. */
  const failed = (req: FastifyRequest, e: KeelError): KeelError => {
    const c = asClientError(e, o.provider, o.model);
    if (c !== e) req.log.info({ err: e }, "the upstream refused the request");
    return c;
  };

  /**
   * A provider's stream as frames: nothing is yielded before the provider's first event, so a
   * request it refuses at once gets a plain error (see streamSse); `opening` frames (chat's role
   * frame) go before its first text.
   */
  async function* streamed(
    provider: StreamingProvider,
    req: FastifyRequest,
    g: GenerationRequest,
    opening: readonly object[],
    delta: (text: string) => object,
    finish: (reason: FinishReason) => object,
  ): AsyncGenerator<object, Usage, void> {
    let started = false;
    for await (const ev of provider.stream(g)) {
      if (ev.type === "error") throw failed(req, ev.error);
      if (!started) {
        started = true;
        yield* opening;
      }
      if (ev.type === "delta") yield delta(ev.text);
      else {
        yield finish(ev.finishReason);
        return ev.usage;
      }
    }
    throw new KeelError("KEEL_E_UPSTREAM", "the provider's stream ended without a finish");
  }

  /** Generates one choice (checked by the guard); throws the provider's error. */
  const one = async (
    req: FastifyRequest,
    endpoint: string,
    g: GenerationRequest,
    promptText: string,
  ): Promise<{ choice: Choice; usage: Usage }> => {
    const r = await o.provider.generate(g);
    if (!r.ok) throw failed(req, r.error);
    let choice: Choice = { text: r.value.text, finish: r.value.finishReason };
    if (o.guard) {
      const v = await o.guard.check(
        { requestId: req.id, endpoint, model: o.model },
        promptText,
        r.value.text,
      );
      if (v.refused) choice = { text: o.guard.refusal, finish: "content_filter" };
    }
    return { choice, usage: r.value.usage };
  };

  const sampling = (b: ChatRequest | CompletionRequest, i: number, signal: AbortSignal) => ({
    ...(b.temperature == null ? {} : { temperature: b.temperature }),
    ...(b.top_p == null ? {} : { topP: b.top_p }),
    ...(b.stop == null ? {} : { stop: typeof b.stop === "string" ? [b.stop] : b.stop }),
    ...(b.seed == null ? {} : { seed: b.seed + i }),
    signal,
  });

  /** Aborts the generation when the client goes away before the answer is complete. */
  const abortOnClose = (reply: FastifyReply) => {
    const ac = new AbortController();
    reply.raw.on("close", () => {
      if (!reply.raw.writableFinished) ac.abort("client closed the connection");
    });
    return ac.signal;
  };

  app.get("/healthz", { bodyLimit: 1024 }, async () => ({ ok: true, model: o.model }));
  app.get("/v1/models", { bodyLimit: 1024 }, async () => ({
    object: "list",
    data: [{ id: o.model, object: "model", created: 0, owned_by: "keel" }],
  }));
  app.get<{ Params: { id: string } }>("/v1/models/:id", { bodyLimit: 1024 }, async (req) => {
    checkModel(req.params.id);
    return { id: o.model, object: "model", created: 0, owned_by: "keel" };
  });

  app.post("/v1/chat/completions", { onRequest: admit }, async (req, reply) => {
    const b = parse(ChatRequest, req.body);
    checkModel(b.model);
    const messages: ChatMessage[] = b.messages.map((m) => ({
      role: m.role === "developer" ? "system" : m.role,
      content: contentText(m.content),
    }));
    const maxTokens = Math.min(
      cap,
      b.max_completion_tokens ?? b.max_tokens ?? o.chatMaxTokens ?? cap,
    );
    const n = b.n ?? 1;
    const id = newId("chatcmpl");
    // One timestamp for the whole completion, every chunk of a stream included, as OpenAI's.
    const created = now();
    const signal = abortOnClose(reply);
    const base = (i: number): GenerationRequest => ({
      messages,
      ...(Number.isFinite(maxTokens) ? { maxTokens } : {}),
      ...sampling(b, i, signal),
    });
    const promptText = renderChat(messages);
    if (b.stream && n > 1)
      // A 400, not a 501: clients (the openai SDK among them) retry server errors.
      throw new KeelError("KEEL_E_INVALID_RECORD", "streaming supports n = 1 only", {
        where: { field: "n" },
      });
    checkWork({ prompts: 1, n, maxTokens }, budget);
    if (b.stream) {
      const frame = (delta: object, finish: FinishReason | null) => ({
        id,
        object: "chat.completion.chunk",
        created,
        model: o.model,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      });
      return streamSse(
        reply,
        id,
        created,
        o.model,
        b.stream_options?.include_usage === true,
        "chat.completion.chunk",
        async function* () {
          const opening = frame({ role: "assistant", content: "" }, null);
          if (o.guard || !canStream(o.provider)) {
            const { choice, usage } = await one(req, "chat", base(0), promptText);
            yield opening;
            if (choice.text) yield frame({ content: choice.text }, null);
            yield frame({}, choice.finish);
            return usage;
          }
          return yield* streamed(
            o.provider,
            req,
            base(0),
            [opening],
            (text) => frame({ content: text }, null),
            (reason) => frame({}, reason),
          );
        },
      );
    }
    const results = [];
    for (let i = 0; i < n; i++) results.push(await one(req, "chat", base(i), promptText));
    return {
      id,
      object: "chat.completion",
      created,
      model: o.model,
      choices: results.map((r, i) => ({
        index: i,
        message: { role: "assistant", content: r.choice.text, refusal: null },
        logprobs: null,
        finish_reason: r.choice.finish,
      })),
      usage: totalUsage(
        results.map((r) => r.usage),
        n,
      ),
    };
  });

  app.post("/v1/completions", { onRequest: admit }, async (req, reply) => {
    const b = parse(CompletionRequest, req.body);
    checkModel(b.model);
    const prompts = typeof b.prompt === "string" ? [b.prompt] : b.prompt;
    const maxTokens = Math.min(cap, b.max_tokens ?? 16);
    const n = b.n ?? 1;
    const id = newId("cmpl");
    const created = now();
    const signal = abortOnClose(reply);
    const request = (p: string, i: number): GenerationRequest => ({
      prompt: p,
      ...(Number.isFinite(maxTokens) ? { maxTokens } : {}),
      ...sampling(b, i, signal),
    });
    if (b.stream && (n > 1 || prompts.length > 1))
      throw new KeelError("KEEL_E_INVALID_RECORD", "streaming supports one prompt and n = 1", {
        where: { field: "prompt" },
      });
    checkWork({ prompts: prompts.length, n, maxTokens }, budget);
    if (b.stream) {
      const frame = (text: string, finish: FinishReason | null) => ({
        id,
        object: "text_completion",
        created,
        model: o.model,
        choices: [{ index: 0, text, logprobs: null, finish_reason: finish }],
      });
      const p = prompts[0]!;
      return streamSse(
        reply,
        id,
        created,
        o.model,
        b.stream_options?.include_usage === true,
        "text_completion",
        async function* () {
          if (o.guard || !canStream(o.provider)) {
            const { choice, usage } = await one(req, "completions", request(p, 0), p);
            if (choice.text) yield frame(choice.text, null);
            yield frame("", choice.finish);
            return usage;
          }
          return yield* streamed(
            o.provider,
            req,
            request(p, 0),
            [],
            (text) => frame(text, null),
            (reason) => frame("", reason),
          );
        },
      );
    }
    const results: { choice: Choice; usage: Usage }[] = [];
    for (const p of prompts)
      for (let i = 0; i < n; i++) results.push(await one(req, "completions", request(p, i), p));
    return {
      id,
      object: "text_completion",
      created,
      model: o.model,
      choices: results.map((r, i) => ({
        index: i,
        text: r.choice.text,
        logprobs: null,
        finish_reason: r.choice.finish,
      })),
      usage: totalUsage(
        results.map((r) => r.usage),
        n,
      ),
    };
  });

  return app;
}
