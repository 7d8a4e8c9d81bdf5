/**
 * `keel serve-model`'s work limits over a tiny checkpoint: a request asking for more than
 * prompts × n × max_tokens allows is refused up front with an OpenAI-shaped 400 naming the
 * limit and the ask (counted after the server's max_tokens cap; the real CLI caps a keel
 * checkpoint at its context), and past `maxPending` requests in progress or waiting a request
 * gets 429 with Retry-After at once; ordinary requests are answered as before.
 */
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MAX_REQUEST_TOKENS } from "../../src/core/serving-limits.js";
import {
  EngineProvider,
  type GenerationProvider,
  parseEngineConfig,
} from "../../src/providers/index.js";
import { buildModelApp, type ModelAppOptions } from "../../src/server/openai/app.js";
import { MAX_N } from "../../src/server/openai/schema.js";
import { tempDir } from "../helpers/stores.js";
import { seedEcho } from "../providers/stubs.js";
import { PAIRS, tinyCheckpoint } from "../providers/tiny.js";
import { spawnKeel, stop } from "../scale/helpers.js";

const [HELLO, MATH] = PAIRS as [readonly [string, string], readonly [string, string]];

interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

let ckpt: string;
let engine: EngineProvider;
const apps: FastifyInstance[] = [];

async function app(o: Partial<ModelAppOptions> = {}): Promise<FastifyInstance> {
  const a = await buildModelApp({ provider: engine, model: "tiny", logLevel: "silent", ...o });
  apps.push(a);
  return a;
}

const completions = (a: FastifyInstance, payload: object) =>
  a.inject({ method: "POST", url: "/v1/completions", payload: { model: "tiny", ...payload } });

beforeAll(async () => {
  ckpt = await tinyCheckpoint(tempDir());
  engine = new EngineProvider(parseEngineConfig({ checkpoint: ckpt, temperature: 0 }));
});
afterAll(async () => {
  for (const a of apps) await a.close();
  await engine?.close();
});

describe("the per-request work budget (prompts × n × max_tokens)", () => {
  it("answers a request within it and refuses one over it before generating", async () => {
    const a = await app({ maxRequestTokens: 64 });
    const within = await completions(a, { prompt: [MATH[0], HELLO[0]], max_tokens: 32 });
    expect(within.statusCode).toBe(200);
    const texts = (within.json() as { choices: { text: string }[] }).choices.map((c) => c.text);
    expect(texts).toEqual([MATH[1], HELLO[1]]);

    const over = await completions(a, { prompt: [MATH[0], HELLO[0]], n: 2, max_tokens: 32 });
    expect(over.statusCode).toBe(400);
    const err = (over.json() as OpenAiErrorBody).error;
    expect(err).toMatchObject({ type: "invalid_request_error", param: "max_tokens" });
    expect(err.message).toContain("asks for up to 128 completion tokens");
    expect(err.message).toContain("2 prompts × n 2 × max_tokens 32");
    expect(err.message).toContain("the most one request may ask for is 64");

    const chat = await a.inject({
      method: "POST",
      url: "/v1/chat/completions",
      payload: {
        model: "tiny",
        messages: [{ role: "user", content: HELLO[0] }],
        n: 3,
        max_tokens: 30,
      },
    });
    expect(chat.statusCode).toBe(400);
    expect((chat.json() as OpenAiErrorBody).error.message).toContain("1 prompt × n 3");
  });

  it("counts max_tokens after the server's cap", async () => {
    const a = await app({ maxRequestTokens: 64, maxTokens: 8 });
    const r = await completions(a, { prompt: HELLO[0], n: 8, max_tokens: 100_000 });
    expect(r.statusCode).toBe(200);
    expect((r.json() as { choices: unknown[] }).choices).toHaveLength(8);
  });

  it("refuses the largest request the schema allows by default", async () => {
    const a = await app();
    const prompts = Array.from({ length: 64 }, (_, i) => `${HELLO[0]} ${i}`);
    const r = await completions(a, { prompt: prompts, n: 8, max_tokens: 4096 });
    expect(r.statusCode).toBe(400);
    expect((r.json() as OpenAiErrorBody).error.message).toContain(
      `asks for up to ${64 * 8 * 4096} completion tokens (64 prompts × n 8 × max_tokens 4096); the most one request may ask for is ${DEFAULT_MAX_REQUEST_TOKENS}`,
    );
  });

  it("lets one chat choice of unknown length through but not several", async () => {
    const a = await app({ maxRequestTokens: 64 });
    const ask = (n: number) =>
      a.inject({
        method: "POST",
        url: "/v1/chat/completions",
        payload: { model: "tiny", messages: [{ role: "user", content: HELLO[0] }], n },
      });
    const one = await ask(1);
    expect(one.statusCode).toBe(200);
    expect(
      (one.json() as { choices: { message: { content: string } }[] }).choices[0]!.message,
    ).toMatchObject({ content: HELLO[1] });
    const two = await ask(2);
    expect(two.statusCode).toBe(400);
    expect((two.json() as OpenAiErrorBody).error.message).toMatch(/gives no max_tokens/);
  });
});

describe("the cap on requests in progress or waiting", () => {
  it("answers 429 with Retry-After past the cap, and admits again once a slot is free", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let begun!: () => void;
    const started = new Promise<void>((r) => {
      begun = r;
    });
    // The real engine; its first call waits at a gate the test opens, holding its request's slot.
    let calls = 0;
    const gated: GenerationProvider = {
      id: () => "gated",
      generate: async (r) => {
        if (calls++ === 0) {
          begun();
          await gate;
        }
        return engine.generate(r);
      },
    };
    const a = await app({ provider: gated, maxPending: 1 });
    await a.listen({ port: 0, host: "127.0.0.1" });
    const url = `http://127.0.0.1:${(a.server.address() as AddressInfo).port}`;
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused", maxRetries: 0 });
    const first = client.completions.create({ model: "tiny", prompt: MATH[0], max_tokens: 8 });
    await started;

    const busy = await fetch(`${url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "tiny", prompt: HELLO[0] }),
    });
    expect(busy.status).toBe(429);
    expect(Number(busy.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const err = ((await busy.json()) as OpenAiErrorBody).error;
    expect(err).toMatchObject({ type: "rate_limit_error", code: "KEEL_E_RATE_LIMITED" });
    expect(err.message).toMatch(/1 completion request is already in progress or waiting/);
    await expect(
      client.chat.completions.create({
        model: "tiny",
        messages: [{ role: "user", content: HELLO[0] }],
      }),
    ).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    // The health check and the model list are not completion requests.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    release();
    expect((await first).choices[0]!.text).toBe(MATH[1]);
    const after = await client.completions.create({
      model: "tiny",
      prompt: HELLO[0],
      max_tokens: 32,
    });
    expect(after.choices[0]!.text).toBe(HELLO[1]);
  });
});

describe("keel serve-model's limit flags", () => {
  it("cap a checkpoint's max_tokens at its context and refuse work over --max-request-tokens", async () => {
    const { child, url } = await spawnKeel([
      "serve-model",
      "--checkpoint",
      ckpt,
      "--max-request-tokens",
      "100",
      "--port",
      "0",
      "--log-level",
      "warn",
    ]);
    try {
      const ask = (n: number) =>
        fetch(`${url}/v1/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "tiny", prompt: HELLO[0], n, max_tokens: 1000, seed: 1 }),
        });
      // The tiny model's context is 48 tokens: it can never produce 1000, and is not charged so.
      const one = await ask(1);
      expect(one.status).toBe(200);
      const three = await ask(3);
      expect(three.status).toBe(400);
      expect(((await three.json()) as OpenAiErrorBody).error.message).toContain(
        "asks for up to 144 completion tokens (1 prompt × n 3 × max_tokens 48); the most one request may ask for is 100",
      );
    } finally {
      await stop(child);
    }
  });
});

describe("seeds of several choices", () => {
  it("gives each of n choices its own seed, and refuses a seed with no room for them", async () => {
    // Choice i is generated with seed + i: from 2^53 − 1 on, those were one number, and the
    // choices the same text.
    const seen: (number | undefined)[] = [];
    const a = await buildModelApp({ provider: seedEcho(seen), model: "tiny", logLevel: "silent" });
    apps.push(a);
    const top = Number.MAX_SAFE_INTEGER - (MAX_N - 1);
    const ok = await completions(a, { prompt: "p", n: MAX_N, seed: top, max_tokens: 4 });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(new Set(seen).size).toBe(MAX_N);
    expect(Math.max(...(seen as number[]))).toBe(Number.MAX_SAFE_INTEGER);
    for (const seed of [top + 1, Number.MAX_SAFE_INTEGER]) {
      const r = await completions(a, { prompt: "p", n: 3, seed, max_tokens: 4 });
      expect(r.statusCode).toBe(400);
      expect((r.json() as OpenAiErrorBody).error.param).toBe("seed");
    }
  });
});
