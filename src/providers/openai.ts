/**
 * A generation provider over any OpenAI-compatible HTTP endpoint: vLLM (`vllm serve`), Ollama
 * (`/v1`), llama.cpp's `llama-server`, keel's own `keel serve-model`, or a hosted API. It speaks
 * the chat API (`POST {base}/chat/completions`, a prompt becomes one user message) or the
 * completions API (`POST {base}/completions`, plain prompts only), with or without streaming
 * (server-sent events, `data: [DONE]` at the end).
 *
 * Every call goes through one concurrency limit, a timeout per attempt, and retries with capped
 * exponential backoff and full jitter on network errors, timeouts, 429 and 5xx (see http/).
 * A stream is retried only until its first byte. Failures are KeelError values, errors the
 * upstream sends with status 200 included; a content filter's answer is not one (see
 * promptFiltered).
 */
import { z } from "zod";
import { KeelError } from "../core/errors.js";
import { zodIssueMessage } from "../core/issue-messages.js";
import { aborted, Limiter } from "./http/limiter.js";
import {
  HEADER_NAME,
  HEADER_VALUE_RULE,
  type HttpClientOptions,
  hasNoCredentials,
  isHeaderValue,
  quotable,
  readJsonCapped,
  scrub,
  send,
  URL_CREDENTIALS_RULE,
  upstreamFailure,
} from "./http/request.js";
import { Backoff, MAX_TIMER_MS } from "./http/retry.js";
import { sseData } from "./http/sse.js";
import {
  asKeelError,
  type ChatMessage,
  type FinishReason,
  fail,
  type Generation,
  type GenerationRequest,
  ok,
  type ProviderResult,
  requestText,
  type StreamEvent,
  type StreamingProvider,
  type Usage,
} from "./types.js";

export const OpenAiConfigSchema = z.strictObject({
  /** Up to and including the API version: http://127.0.0.1:8000/v1 */
  base_url: z
    .url({ protocol: /^https?$/ })
    .refine(hasNoCredentials, URL_CREDENTIALS_RULE)
    // The API's path is appended to it: after a query, it would become part of the query.
    .refine(
      (u) => !/[?#]/.test(u),
      "must not have a query or fragment (/chat/completions is appended to it)",
    ),
  model: z.string().min(1),
  api: z.enum(["chat", "completions"]).default("chat"),
  /** The key itself, or the name of an environment variable holding it. */
  api_key: z.string().min(1).refine(isHeaderValue, HEADER_VALUE_RULE).optional(),
  api_key_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .optional(),
  /**
   * The header the key goes in, as it is (Azure OpenAI's `api-key`); by default it is sent as
   * `Authorization: Bearer <key>`.
   */
  api_key_header: z.string().regex(HEADER_NAME, "must be a header name").optional(),
  max_tokens: z.number().int().positive().default(256),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().gt(0).max(1).optional(),
  timeout_ms: z.number().int().positive().max(MAX_TIMER_MS).default(60_000),
  retries: z.number().int().min(0).max(20).default(3),
  base_delay_ms: z.number().int().min(0).max(MAX_TIMER_MS).default(500),
  max_delay_ms: z.number().int().min(0).max(MAX_TIMER_MS).default(20_000),
  concurrency: z.number().int().positive().max(1024).default(8),
  /** Ask for token usage in streams (`stream_options.include_usage`). */
  stream_usage: z.boolean().default(true),
  headers: z
    .record(
      z.string().regex(HEADER_NAME, "must be a header name"),
      z.string().refine(isHeaderValue, HEADER_VALUE_RULE),
    )
    .optional(),
  /** Seed of the retry jitter. */
  seed: z.number().int().default(0),
});
export type OpenAiConfig = z.output<typeof OpenAiConfigSchema>;
export type OpenAiConfigInput = z.input<typeof OpenAiConfigSchema>;

export function parseOpenAiConfig(raw: unknown): OpenAiConfig {
  const r = OpenAiConfigSchema.safeParse(raw);
  if (!r.success) {
    const { field, message } = zodIssueMessage(r.error);
    throw new KeelError("KEEL_E_CONFIG", `openai provider: ${field}: ${message}`);
  }
  // Both given, one would be ignored without a word: the key sent might not be the one meant.
  if (r.data.api_key !== undefined && r.data.api_key_env !== undefined) {
    throw new KeelError(
      "KEEL_E_CONFIG",
      "openai provider: api_key_env: give api_key or api_key_env, not both",
      { where: { field: "api_key_env" } },
    );
  }
  // An empty one (a secret that failed to load) would send no key at all, and get a 401.
  if (r.data.api_key_env && !process.env[r.data.api_key_env]?.trim()) {
    throw new KeelError(
      "KEEL_E_CONFIG",
      `openai provider: environment variable ${r.data.api_key_env} is ${process.env[r.data.api_key_env] === undefined ? "not set" : "empty"}`,
      { where: { field: "api_key_env" } },
    );
  }
  if (r.data.api_key_env && !isHeaderValue(process.env[r.data.api_key_env]!)) {
    throw new KeelError(
      "KEEL_E_CONFIG",
      `openai provider: the key in ${r.data.api_key_env} ${HEADER_VALUE_RULE}`,
      { where: { field: "api_key_env" } },
    );
  }
  return r.data;
}

// What is read from upstream answers: vendors add fields of their own, which are ignored.
const UsageIn = z
  .object({ prompt_tokens: z.number().optional(), completion_tokens: z.number().optional() })
  .nullish();
const ChatOut = z.object({
  model: z.string().optional(),
  choices: z
    .array(
      z.object({
        message: z.object({ content: z.string().nullish() }),
        finish_reason: z.string().nullish(),
      }),
    )
    .min(1),
  usage: UsageIn,
});
const CompletionOut = z.object({
  model: z.string().optional(),
  choices: z.array(z.object({ text: z.string(), finish_reason: z.string().nullish() })).min(1),
  usage: UsageIn,
});
const ChunkOut = z.object({
  model: z.string().optional(),
  choices: z
    .array(
      z.object({
        delta: z.object({ content: z.string().nullish() }).optional(),
        text: z.string().nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
    .default([]),
  usage: UsageIn,
});

/**
 * The message of an error an upstream sends with status 200: as a stream event (vLLM,
 * llama.cpp's server and OpenAI send `{"error": {...}}` mid-stream, then end it) or as a whole
 * answer (vLLM's older `{"object": "error", "message"}`). Undefined for anything else.
 */
function errorIn(json: unknown): string | undefined {
  if (typeof json !== "object" || json === null) return undefined;
  const j = json as { error?: unknown; object?: unknown; message?: unknown };
  const e = j.error;
  if (typeof e === "string") return e;
  if (typeof e === "object" && e !== null) {
    const m = (e as { message?: unknown }).message;
    return typeof m === "string" ? m : "";
  }
  if (j.object === "error") return typeof j.message === "string" ? j.message : "";
  return undefined;
}

/**
 * Azure OpenAI's prompt filter: HTTP 400 with error code "content_filter". The service declined
 * to answer, as it does when it filters a completion, so the answer is an empty one with finish
 * "content_filter" — not a failure, which would stop a red-team run at its first jailbreak probe.
 */
function promptFiltered(e: unknown): boolean {
  const f = upstreamFailure(e);
  return f?.status === 400 && f.code === "content_filter";
}

function finishOf(r: string | null | undefined): FinishReason {
  return r === "length" ? "length" : r === "content_filter" ? "content_filter" : "stop";
}

function usageOf(u: z.infer<typeof UsageIn>): Usage {
  return { promptTokens: u?.prompt_tokens ?? 0, completionTokens: u?.completion_tokens ?? 0 };
}

export class OpenAiProvider implements StreamingProvider {
  private readonly http: HttpClientOptions;
  private readonly base: string;

  constructor(readonly config: OpenAiConfig) {
    this.base = config.base_url.replace(/\/+$/, "");
    const key =
      config.api_key ?? (config.api_key_env ? process.env[config.api_key_env] : undefined);
    this.http = {
      name: this.id(),
      timeoutMs: config.timeout_ms,
      backoff: new Backoff({
        retries: config.retries,
        baseDelayMs: config.base_delay_ms,
        maxDelayMs: config.max_delay_ms,
        seed: config.seed,
      }),
      limiter: new Limiter(config.concurrency),
      headers: {
        ...(key
          ? config.api_key_header
            ? { [config.api_key_header.toLowerCase()]: key }
            : { authorization: `Bearer ${key}` }
          : {}),
        ...config.headers,
      },
    };
  }

  id(): string {
    return `openai:${this.config.model}@${this.config.base_url}`;
  }

  /** The request body for either API (streaming or not). */
  private body(r: GenerationRequest, stream: boolean): { path: string; body: object } {
    const t = requestText(r);
    const c = this.config;
    const common = {
      model: c.model,
      max_tokens: r.maxTokens ?? c.max_tokens,
      ...((r.temperature ?? c.temperature) === undefined
        ? {}
        : { temperature: r.temperature ?? c.temperature }),
      ...((r.topP ?? c.top_p) === undefined ? {} : { top_p: r.topP ?? c.top_p }),
      ...(r.stop && r.stop.length > 0 ? { stop: [...r.stop] } : {}),
      ...(r.seed === undefined ? {} : { seed: r.seed }),
      ...(stream
        ? { stream: true, ...(c.stream_usage ? { stream_options: { include_usage: true } } : {}) }
        : {}),
    };
    if (c.api === "completions") {
      if (t.kind === "chat")
        throw new KeelError(
          "KEEL_E_USAGE",
          `${this.id()} speaks the completions API: send a prompt, not chat messages`,
          { hint: "configure api: chat to send conversations" },
        );
      return { path: "/completions", body: { ...common, prompt: t.prompt } };
    }
    const messages: readonly ChatMessage[] =
      t.kind === "chat" ? t.messages : [{ role: "user", content: t.prompt }];
    return { path: "/chat/completions", body: { ...common, messages } };
  }

  async generate(r: GenerationRequest): Promise<ProviderResult<Generation>> {
    try {
      const { path, body } = this.body(r, false);
      let res: Response;
      try {
        res = await send(this.http, "POST", this.base + path, body, r.signal);
      } catch (e) {
        if (!promptFiltered(e)) throw e;
        return ok({
          text: "",
          finishReason: "content_filter",
          usage: { promptTokens: 0, completionTokens: 0 },
          model: this.config.model,
        });
      }
      const json = await readJsonCapped(res, this.http.name);
      const error = errorIn(json);
      if (error !== undefined) return fail(this.answeredError(path, error));
      if (this.config.api === "completions") {
        const p = CompletionOut.safeParse(json);
        if (!p.success) return fail(this.malformed(path, p.error));
        const ch = p.data.choices[0]!;
        return ok({
          text: ch.text,
          finishReason: finishOf(ch.finish_reason),
          usage: usageOf(p.data.usage),
          model: p.data.model ?? this.config.model,
        });
      }
      const p = ChatOut.safeParse(json);
      if (!p.success) return fail(this.malformed(path, p.error));
      const ch = p.data.choices[0]!;
      return ok({
        text: ch.message.content ?? "",
        finishReason: finishOf(ch.finish_reason),
        usage: usageOf(p.data.usage),
        model: p.data.model ?? this.config.model,
      });
    } catch (e) {
      return fail(r.signal?.aborted ? aborted(r.signal) : e);
    }
  }

  async *stream(r: GenerationRequest): AsyncGenerator<StreamEvent> {
    let finish: FinishReason = "stop";
    let usage: Usage = { promptTokens: 0, completionTokens: 0 };
    let model = this.config.model;
    try {
      const { path, body } = this.body(r, true);
      const res = await send(this.http, "POST", this.base + path, body, r.signal);
      if (!res.body) throw new KeelError("KEEL_E_UPSTREAM", `${this.id()}: empty stream`);
      let ended = false;
      for await (const data of sseData(res.body, this.id())) {
        if (data.trim() === "[DONE]") {
          ended = true;
          break;
        }
        let json: unknown;
        try {
          json = JSON.parse(data);
        } catch {
          throw new KeelError("KEEL_E_UPSTREAM", `${this.id()}: a stream event is not JSON`);
        }
        const error = errorIn(json);
        // Without this, the [DONE] that follows would pass the text so far as the whole answer.
        if (error !== undefined) throw this.answeredError(path, error);
        const p = ChunkOut.safeParse(json);
        if (!p.success) throw this.malformed(path, p.error);
        model = p.data.model ?? model;
        if (p.data.usage) usage = usageOf(p.data.usage);
        for (const ch of p.data.choices) {
          const text = ch.delta?.content ?? ch.text ?? "";
          if (text) yield { type: "delta", text };
          if (ch.finish_reason) finish = finishOf(ch.finish_reason);
        }
      }
      if (!ended)
        throw new KeelError("KEEL_E_UPSTREAM", `${this.id()}: the stream ended without [DONE]`);
      yield { type: "done", finishReason: finish, usage, model };
    } catch (e) {
      if (promptFiltered(e)) yield { type: "done", finishReason: "content_filter", usage, model };
      else yield { type: "error", error: r.signal?.aborted ? aborted(r.signal) : asKeelError(e) };
    }
  }

  private answeredError(path: string, message: string): KeelError {
    const m = quotable(scrub(message, this.http.headers));
    return new KeelError(
      "KEEL_E_UPSTREAM",
      `${this.id()}: ${path} answered with an error${m ? `: ${m}` : ""}`,
    );
  }

  private malformed(path: string, e: z.ZodError): KeelError {
    const { field, message } = zodIssueMessage(e);
    return new KeelError(
      "KEEL_E_UPSTREAM",
      `${this.id()}: unexpected answer from ${path}: ${field}: ${message}`,
      { hint: "is this endpoint OpenAI-compatible?" },
    );
  }
}
