/**
 * `keel serve-model` (the OpenAI-compatible app), every route fuzzed (service-driver.ts) in
 * front of a model that echoes its prompt, with an API key: never a 5xx, always OpenAI's error
 * shape with a KEEL_E_* code naming the param at fault, a refused request never reaching the
 * model, and the service answering afterwards.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type GenerationRequest,
  ok,
  type StreamEvent,
  type StreamingProvider,
} from "../../src/providers/index.js";
import { buildModelApp } from "../../src/server/openai/app.js";
import { ChatRequest, CompletionRequest } from "../../src/server/openai/schema.js";
import { servedRoutes, shapeOf } from "./routes.js";
import { fuzzRoute, type Service, type ServiceRoute } from "./service-driver.js";

const KEY = "sk-fuzz-key";
const LIMIT = 64 * 1024;
let calls = 0;

const said = (r: GenerationRequest) =>
  (r.prompt ?? r.messages?.map((m) => m.content).join("\n") ?? "").slice(0, 40);

/** A model that repeats the first 40 characters of its prompt, untrusted text included. */
const echo: StreamingProvider = {
  id: () => "echo",
  generate: async (r) => {
    calls++;
    return ok({
      text: said(r),
      finishReason: "stop",
      usage: { promptTokens: 1, completionTokens: 1 },
      model: "echo",
    });
  },
  async *stream(r): AsyncIterable<StreamEvent> {
    calls++;
    yield { type: "delta", text: said(r) };
    yield {
      type: "done",
      finishReason: "stop",
      usage: { promptTokens: 1, completionTokens: 1 },
      model: "echo",
    };
  },
};

/** The model name the server answers to, in every valid body. */
const named = (b: unknown) => ({ ...(b as object), model: "public" });

const ROUTES: ServiceRoute[] = [
  { method: "GET", url: "/healthz", bodyLimit: 1024 },
  { method: "GET", url: "/v1/models", bodyLimit: 1024 },
  { method: "GET", url: "/v1/models/:id", bodyLimit: 1024, good: { id: ["public", "echo"] } },
  { method: "POST", url: "/v1/chat/completions", body: ChatRequest, bodyLimit: LIMIT, fix: named },
  { method: "POST", url: "/v1/completions", body: CompletionRequest, bodyLimit: LIMIT, fix: named },
];

let app: FastifyInstance;
let service: Service;
beforeAll(async () => {
  app = await buildModelApp({
    provider: echo,
    model: "public",
    apiKey: KEY,
    maxTokens: 8,
    logLevel: "silent",
    bodyLimit: LIMIT,
  });
  const auth = (h: string) => ({ authorization: h });
  service = {
    app,
    envelope: { shape: "openai", bodyPrefix: "" },
    work: () => calls,
    callers: {
      none: {},
      key: auth(`Bearer ${KEY}`),
      wrongKey: auth("Bearer sk-other"),
      lowercase: auth(`bearer ${KEY}`),
      basic: auth("Basic c2s6Zg=="),
      empty: auth("Bearer "),
    },
    probe: { method: "GET", url: "/v1/models", headers: auth(`Bearer ${KEY}`) },
  };
});
afterAll(async () => {
  await app.close();
});

describe("keel serve-model, every route fuzzed", () => {
  it("fuzzes every route the app serves", () => {
    expect([...servedRoutes(app)].sort()).toEqual(
      ROUTES.map((r) => shapeOf(r.method, r.url)).sort(),
    );
  });

  for (const route of ROUTES) {
    it(`${route.method} ${route.url}: never a 5xx, always the error shape, the model untouched by a refusal`, async () => {
      await fuzzRoute(service, route, route.body ? 60 : 25);
    });
  }

  it("answers an over-long model id in OpenAI's error shape, without repeating the URL", async () => {
    const id = "x".repeat(150);
    const r = await app.inject({
      url: `/v1/models/${id}`,
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual({
      error: {
        message: "model: at most 100 characters in a path (no served model has a longer id)",
        type: "invalid_request_error",
        param: "model",
        code: "KEEL_E_INVALID_RECORD",
      },
    });
  });

  it("answers the health check without the key whatever its query string, and nothing else", async () => {
    // Before, only the exact URL "/healthz" was exempt: "/healthz?probe=1" asked for the key.
    for (const url of ["/healthz", "/healthz?probe=1", "/healthz?"])
      expect((await app.inject({ url })).statusCode, url).toBe(200);
    expect((await app.inject({ url: "/healthz/x" })).statusCode).toBe(401);
  });
});
