/**
 * `keel serve-model` at the protocol level, where it must answer as OpenAI's API (and vLLM) do:
 * an upstream's refusal of a request (400/413/422) reaches the client as a 4xx with the
 * upstream's own reason — never its address, model name or key — while its failures stay 502;
 * a stream whose provider fails before producing anything is a plain JSON error, not a 200
 * followed by an error event; and usage counts each prompt once, whatever `n` is.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { servedProvider } from "../../src/cli/actions/serve-model.js";
import type { ServeModelFlags } from "../../src/cli/commands/serve-model.js";
import {
  type EngineProvider,
  type GenerationProvider,
  OpenAiProvider,
  ok,
  parseOpenAiConfig,
  type StreamEvent,
} from "../../src/providers/index.js";
import { buildModelApp } from "../../src/server/openai/app.js";
import { tempDir } from "../helpers/stores.js";
import { PAIRS, tinyCheckpoint } from "../providers/tiny.js";

const LONG = "hello ".repeat(200); // far past the tiny model's 48-token context
const UPSTREAM_KEY = "sk-upstream-secret-key";
const closing: { close(): unknown }[] = [];
afterAll(async () => {
  for (const c of closing.reverse()) await c.close();
});

async function listen(app: FastifyInstance): Promise<string> {
  closing.push(app);
  await app.listen({ port: 0, host: "127.0.0.1" });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/** A bare upstream that answers every request with `status` and `body`. */
async function fixedUpstream(status: number, body: object): Promise<string> {
  const s: Server = createServer((req, res) => {
    req.resume();
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  closing.push({ close: () => new Promise<void>((r) => s.close(() => r())) });
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}/v1`;
}

async function proxyOver(baseUrl: string): Promise<FastifyInstance> {
  process.env.KEEL_TEST_UPSTREAM_KEY = UPSTREAM_KEY;
  const provider = new OpenAiProvider(
    parseOpenAiConfig({
      base_url: baseUrl,
      model: "internal-llama",
      api_key_env: "KEEL_TEST_UPSTREAM_KEY",
      retries: 0,
    }),
  );
  const app = await buildModelApp({ provider, model: "public", logLevel: "silent" });
  closing.push(app);
  return app;
}

const chat = (content: string, extra: object = {}) => ({
  method: "POST" as const,
  url: "/v1/chat/completions",
  payload: { model: "public", messages: [{ role: "user", content }], ...extra },
});

describe("keel serve-model in front of another OpenAI-compatible server", () => {
  let ckpt: string;
  let outer: FastifyInstance;
  let innerPort: string;
  beforeAll(async () => {
    ckpt = await tinyCheckpoint(tempDir());
    const inner = servedProvider({
      checkpoint: ckpt,
      port: 0,
      host: "127.0.0.1",
      seed: 0,
    } as ServeModelFlags);
    closing.push(inner.provider as EngineProvider);
    const innerUrl = await listen(
      await buildModelApp({
        provider: inner.provider,
        model: inner.model,
        chatMaxTokens: inner.chatDefault,
        ...(inner.cap === undefined ? {} : { maxTokens: inner.cap }),
        logLevel: "silent",
      }),
    );
    innerPort = new URL(innerUrl).port;
    const outerServed = servedProvider({
      upstream: `${innerUrl}/v1`,
      upstreamModel: "tiny",
      model: "public",
      port: 0,
      host: "127.0.0.1",
      seed: 0,
    } as ServeModelFlags);
    outer = await buildModelApp({
      provider: outerServed.provider,
      model: outerServed.model,
      chatMaxTokens: outerServed.chatDefault,
      logLevel: "silent",
    });
    closing.push(outer);
  }, 60_000);

  it("passes the inner server's 400 on as a 400 with its reason, streamed or not", async () => {
    for (const stream of [false, true]) {
      const res = await outer.inject(chat(LONG, { stream }));
      expect(res.statusCode, res.body).toBe(400);
      expect(res.headers["content-type"]).toMatch(/^application\/json/);
      const e = res.json().error;
      expect(e.type).toBe("invalid_request_error");
      expect(e.message).toMatch(/the prompt is \d+ tokens; public's context is 48 tokens/);
      for (const hidden of [innerPort, "127.0.0.1", "tiny"]) expect(res.body).not.toContain(hidden);
    }
    const fits = await outer.inject(chat(PAIRS[1]![0], { temperature: 0 }));
    expect(fits.statusCode, fits.body).toBe(200);
  }, 60_000);

  it("maps an upstream 413 to 413 and 422 to 400, keeping out its address and key", async () => {
    for (const [upstream, expected] of [
      [413, 413],
      [422, 400],
    ] as const) {
      const base = await fixedUpstream(upstream, {
        error: {
          message: `internal-llama at ${"HOST"} rejected key ${UPSTREAM_KEY}: too many tokens`,
        },
      });
      const app = await proxyOver(base);
      const res = await app.inject(chat("hi"));
      expect(res.statusCode, res.body).toBe(expected);
      const m: string = res.json().error.message;
      expect(m).toContain("too many tokens");
      expect(m).toContain("public at HOST");
      for (const hidden of [UPSTREAM_KEY, "internal-llama", new URL(base).port])
        expect(res.body).not.toContain(hidden);
    }
  });

  it("passes the upstream's param on, and its whole message even when it quotes keel's wording", async () => {
    const said = "bad value (the client answered HTTP 400: twice)";
    const app = await proxyOver(
      await fixedUpstream(400, { error: { message: said, param: "temperature" } }),
    );
    const res = await app.inject(chat("hi"));
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error).toMatchObject({
      param: "temperature",
      message: `temperature: the model refused the request: ${said}`,
    });
  });

  it("keeps an upstream 5xx or 401 a generic 502: those are the server's problem, not the caller's", async () => {
    for (const status of [500, 401, 404]) {
      const app = await proxyOver(
        await fixedUpstream(status, { error: { message: "Traceback: /srv/secret.py" } }),
      );
      for (const stream of [false, true]) {
        const res = await app.inject(chat("hi", { stream }));
        expect(res.statusCode, `${status} ${res.body}`).toBe(502);
        expect(res.json().error.message).toBe(
          "the model behind this server failed; the server log has the details",
        );
      }
    }
  });
});

describe("keel serve-model's usage and streams", () => {
  /** A provider whose prompt costs 10 tokens and each completion 3. */
  const fixed: GenerationProvider = {
    id: () => "fixed",
    generate: async () =>
      ok({
        text: "abc",
        finishReason: "stop",
        usage: { promptTokens: 10, completionTokens: 3 },
        model: "fixed",
      }),
  };
  /** A streaming one whose clock moves a minute between its events. */
  const slow: GenerationProvider & { stream(): AsyncIterable<StreamEvent> } = {
    ...fixed,
    async *stream() {
      for (const text of ["a", "b"]) {
        yield { type: "delta", text };
        vi.setSystemTime(Date.now() + 60_000);
      }
      yield {
        type: "done",
        finishReason: "length",
        usage: { promptTokens: 10, completionTokens: 2 },
        model: "slow",
      };
    },
  };
  let app: FastifyInstance;
  let slowApp: FastifyInstance;
  beforeAll(async () => {
    app = await buildModelApp({ provider: fixed, model: "m", logLevel: "silent" });
    slowApp = await buildModelApp({ provider: slow, model: "m", logLevel: "silent" });
    closing.push(app, slowApp);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("counts the prompt once however many choices it gets, per prompt for completions", async () => {
    const c = await app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      payload: { model: "m", messages: [{ role: "user", content: "x" }], n: 3, max_tokens: 4 },
    });
    expect(c.json().usage).toEqual({ prompt_tokens: 10, completion_tokens: 9, total_tokens: 19 });
    const t = await app.inject({
      method: "POST",
      url: "/v1/completions",
      payload: { model: "m", prompt: ["x", "y"], n: 2, max_tokens: 4 },
    });
    expect(t.json().choices).toHaveLength(4);
    expect(t.json().usage).toEqual({ prompt_tokens: 20, completion_tokens: 12, total_tokens: 32 });
  });

  it("stamps every chunk of a stream with the completion's one creation time", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    for (const [url, payload] of [
      ["/v1/chat/completions", { messages: [{ role: "user", content: "x" }] }],
      ["/v1/completions", { prompt: "x" }],
    ] as const) {
      const res = await slowApp.inject({
        method: "POST",
        url,
        payload: { model: "m", stream: true, stream_options: { include_usage: true }, ...payload },
      });
      const chunks = res.body
        .split("\n\n")
        .filter((l) => l.startsWith("data: {"))
        .map((l) => JSON.parse(l.slice(6)) as { id: string; created: number });
      expect(chunks.length).toBeGreaterThanOrEqual(4);
      expect(new Set(chunks.map((c) => c.created)).size, res.body).toBe(1);
      expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    }
  });

  it("names no param for a fault of the body as a whole, as OpenAI's null", async () => {
    for (const payload of [
      { model: "m", messages: [{ role: "user", content: "x" }], tools: [] },
      "not an object",
    ]) {
      const res = await app.inject({
        method: "POST",
        url: "/v1/chat/completions",
        headers: { "content-type": "application/json" },
        payload: JSON.stringify(payload),
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({ type: "invalid_request_error", param: null });
    }
    const named = await app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      payload: { model: "m", messages: [{ role: "user", content: "x" }], temperature: 9 },
    });
    expect(named.json().error.param).toBe("temperature");
  });
});
