/**
 * `keel serve-model`'s endpoint over a tiny checkpoint, spoken to by the official `openai`
 * npm client (models, chat and completions, streaming and not, its error classes) and by
 * keel's own OpenAI-compatible provider; and the output guard: the safety baseline and the
 * cost model refuse before any text leaves, and every refusal is logged.
 */
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ruleClassifier } from "../../src/defend/filters/lexicon.js";
import {
  EngineProvider,
  EngineRewardProvider,
  OpenAiProvider,
  parseEngineConfig,
  parseOpenAiConfig,
  type StreamEvent,
} from "../../src/providers/index.js";
import { buildModelApp } from "../../src/server/openai/app.js";
import { OutputGuard, type RefusalRecord } from "../../src/server/openai/guard.js";
import { tempDir } from "../helpers/stores.js";
import { PAIRS, tinyCheckpoint } from "../providers/tiny.js";

const KEY = "sk-test-keel";
const [HELLO, MATH, HARM] = PAIRS as [
  readonly [string, string],
  readonly [string, string],
  readonly [string, string],
];

let ckpt: string;
let engine: EngineProvider;
const apps: FastifyInstance[] = [];

async function serve(app: FastifyInstance): Promise<string> {
  apps.push(app);
  await app.listen({ port: 0, host: "127.0.0.1" });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  ckpt = await tinyCheckpoint(tempDir());
  engine = new EngineProvider(parseEngineConfig({ checkpoint: ckpt, temperature: 0 }));
});
afterAll(async () => {
  for (const a of apps) await a.close();
  await engine?.close();
});

describe("keel serve-model and the official openai client", () => {
  let url: string;
  let client: OpenAI;
  beforeAll(async () => {
    url = await serve(
      await buildModelApp({ provider: engine, model: "tiny", apiKey: KEY, logLevel: "silent" }),
    );
    client = new OpenAI({ baseURL: `${url}/v1`, apiKey: KEY, maxRetries: 0 });
  });

  it("lists the model and answers chat completions", async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(["tiny"]);
    const c = await client.chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: HELLO[0] }],
      temperature: 0,
    });
    expect(c.object).toBe("chat.completion");
    expect(c.choices[0]!.message.content).toBe(HELLO[1]);
    expect(c.choices[0]!.finish_reason).toBe("stop");
    expect(c.usage!.completion_tokens).toBeGreaterThan(0);
    expect(c.usage!.total_tokens).toBe(c.usage!.prompt_tokens + c.usage!.completion_tokens);
  });

  it("streams chat completions as server-sent events, with usage when asked", async () => {
    const stream = await client.chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: HELLO[0] }],
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined | null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      expect(chunk.object).toBe("chat.completion.chunk");
      for (const ch of chunk.choices) {
        text += ch.delta.content ?? "";
        finish = ch.finish_reason ?? finish;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(HELLO[1]);
    expect(finish).toBe("stop");
    expect(chunks).toBeGreaterThan(3);
    expect(usage!.completion_tokens).toBeGreaterThan(0);
  });

  it("answers completions, streaming and not, and several prompts at once", async () => {
    const c = await client.completions.create({ model: "tiny", prompt: MATH[0], temperature: 0 });
    expect(c.choices[0]!.text).toBe(MATH[1]);
    const many = await client.completions.create({
      model: "tiny",
      prompt: [MATH[0], HELLO[0]],
      temperature: 0,
      max_tokens: 32,
    });
    expect(many.choices.map((ch) => ch.text)).toEqual([MATH[1], HELLO[1]]);
    const s = await client.completions.create({
      model: "tiny",
      prompt: HELLO[0],
      temperature: 0,
      max_tokens: 32,
      stream: true,
    });
    let text = "";
    for await (const chunk of s) text += chunk.choices[0]?.text ?? "";
    expect(text).toBe(HELLO[1]);
    const short = await client.completions.create({
      model: "tiny",
      prompt: HELLO[0],
      temperature: 0,
      max_tokens: 2,
    });
    expect(short.choices[0]!.finish_reason).toBe("length");
  });

  it("fails the way OpenAI's API does: unknown model, wrong key, bad field", async () => {
    await expect(
      client.chat.completions.create({
        model: "gpt-9",
        messages: [{ role: "user", content: "x" }],
      }),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const wrong = new OpenAI({ baseURL: `${url}/v1`, apiKey: "nope", maxRetries: 0 });
    await expect(wrong.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const bad = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "tiny",
        messages: [{ role: "user", content: "x" }],
        tools: [],
      }),
    });
    expect(bad.status).toBe(400);
    const err = (await bad.json()) as { error: { message: string; type: string; code: string } };
    expect(err.error.type).toBe("invalid_request_error");
    expect(err.error.message).toMatch(/unknown field "tools"/);
    const typed = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "tiny", messages: 5 }),
    });
    expect(typed.status).toBe(400);
    // The field is named once ("messages: messages: …" before).
    expect(((await typed.json()) as { error: { message: string } }).error.message).toBe(
      "messages: expected array, received number",
    );
    // Inside a union, the field the request came closest to is named, and a misspelt field
    // gets its near miss.
    const post = async (body: object) => {
      const r = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(r.status).toBe(400);
      return ((await r.json()) as { error: { message: string } }).error.message;
    };
    expect(
      await post({ model: "tiny", messages: [{ role: "user", content: [{ type: "text" }] }] }),
    ).toBe("messages.0.content.0.text: is required");
    expect(
      await post({ model: "tiny", messages: [{ role: "user", content: "x" }], max_token: 8 }),
    ).toMatch(/unknown field "max_token".*did you mean "max_tokens"/);
    // What the server does not serve is the request's fault: a 400 the SDK does not retry.
    await expect(
      client.chat.completions.create({
        model: "tiny",
        messages: [{ role: "user", content: "x" }],
        n: 2,
        stream: true,
      }),
    ).rejects.toBeInstanceOf(OpenAI.BadRequestError);
  });

  it("is reachable through keel's own OpenAI-compatible provider (chat, completions, stream)", async () => {
    const chat = new OpenAiProvider(
      parseOpenAiConfig({ base_url: `${url}/v1`, model: "tiny", api_key: KEY, temperature: 0 }),
    );
    const r = await chat.generate({ prompt: HELLO[0] });
    expect(r.ok && r.value.text).toBe(HELLO[1]);
    const events: StreamEvent[] = [];
    for await (const e of chat.stream({ messages: [{ role: "user", content: MATH[0] }] }))
      events.push(e);
    const deltas = events.filter((e) => e.type === "delta").map((e) => e.text);
    expect(deltas.join("")).toBe(MATH[1]);
    expect(events.at(-1)).toMatchObject({ type: "done", finishReason: "stop" });
    const completions = new OpenAiProvider(
      parseOpenAiConfig({
        base_url: `${url}/v1`,
        model: "tiny",
        api_key: KEY,
        api: "completions",
        temperature: 0,
      }),
    );
    const c = await completions.generate({ prompt: MATH[0], maxTokens: 8 });
    expect(c.ok && c.value.text).toBe(MATH[1]);
    const wrong = await new OpenAiProvider(
      parseOpenAiConfig({ base_url: `${url}/v1`, model: "tiny", api_key: "nope", retries: 0 }),
    ).generate({ prompt: "x" });
    expect(wrong.ok).toBe(false);
    if (!wrong.ok) {
      expect(wrong.error.code).toBe("KEEL_E_UPSTREAM");
      expect(wrong.error.message).toMatch(/HTTP 401/);
    }
  });
});

describe("the output guard", () => {
  it("refuses unsafe completions before any of their text is sent, and logs each refusal", async () => {
    const refusals: RefusalRecord[] = [];
    const guard = new OutputGuard({ safety: ruleClassifier(), onRefusal: (r) => refusals.push(r) });
    const url = await serve(
      await buildModelApp({ provider: engine, model: "tiny", guard, logLevel: "silent" }),
    );
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused", maxRetries: 0 });
    // Unguarded, the model complies (it was trained to).
    const raw = await engine.generate({ prompt: HARM[0] });
    expect(raw.ok && raw.value.text).toBe(HARM[1]);
    const c = await client.chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: HARM[0] }],
    });
    expect(c.choices[0]!.message.content).toBe(guard.refusal);
    expect(c.choices[0]!.finish_reason).toBe("content_filter");
    const s = await client.chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: HARM[0] }],
      stream: true,
    });
    let streamed = "";
    for await (const chunk of s) streamed += chunk.choices[0]?.delta.content ?? "";
    expect(streamed).toBe(guard.refusal);
    expect(streamed).not.toContain("PAYLOAD");
    expect(refusals).toHaveLength(2);
    expect(refusals[0]!.reasons.join(" ")).toMatch(/safety baseline/);
    expect(refusals[0]!.output_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(refusals[0]!.prompt).toBeUndefined();
    // A safe answer passes untouched and is not logged.
    const ok = await client.chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: HELLO[0] }],
    });
    expect(ok.choices[0]!.message.content).toBe(HELLO[1]);
    expect(refusals).toHaveLength(2);
  });

  it("refuses when the cost model scores the output above the threshold", async () => {
    const cost = new EngineRewardProvider({ dir: ckpt });
    try {
      const scored = await cost.score([{ prompt: HELLO[0], response: HELLO[1] }]);
      expect(scored.ok).toBe(true);
      const c = scored.ok ? scored.value.rewards[0]! : 0;
      const answer = async (threshold: number) => {
        const refusals: RefusalRecord[] = [];
        const guard = new OutputGuard({
          cost,
          costThreshold: threshold,
          logTexts: true,
          onRefusal: (r) => refusals.push(r),
        });
        const app = await buildModelApp({
          provider: engine,
          model: "tiny",
          guard,
          logLevel: "silent",
        });
        apps.push(app);
        const r = await app.inject({
          method: "POST",
          url: "/v1/completions",
          payload: { model: "tiny", prompt: HELLO[0], max_tokens: 32 },
        });
        return { text: (r.json() as { choices: { text: string }[] }).choices[0]!.text, refusals };
      };
      const above = await answer(c - 0.5);
      expect(above.text).toBe("I can't help with that.");
      expect(above.refusals[0]!.cost).toBeCloseTo(c, 5);
      expect(above.refusals[0]!.output).toBe(HELLO[1]);
      const below = await answer(c + 0.5);
      expect(below.text).toBe(HELLO[1]);
      expect(below.refusals).toHaveLength(0);
    } finally {
      await cost.close();
    }
  });
});

describe("keel serve-model in front of another server", () => {
  it("does not pass a failing upstream's address, model name or error body to its callers", async () => {
    const { createServer } = await import("node:http");
    // A 5xx (the upstream broke; its body may be a traceback). An upstream's 400 is its refusal
    // of the request and reaches the caller: test/server/serve-model-protocol.test.ts.
    const upstream = createServer((_req, res) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "db password=hunter2 at /srv/secret.py" } }));
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    const port = (upstream.address() as AddressInfo).port;
    try {
      const provider = new OpenAiProvider(
        parseOpenAiConfig({
          base_url: `http://127.0.0.1:${port}/v1`,
          model: "internal-llama",
          retries: 0,
        }),
      );
      const url = await serve(
        await buildModelApp({ provider, model: "public", logLevel: "silent" }),
      );
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "public", messages: [{ role: "user", content: "hi" }] }),
      });
      expect(res.status).toBeGreaterThanOrEqual(500);
      const body = await res.text();
      for (const secret of ["hunter2", "internal-llama", String(port), "secret.py"])
        expect(body).not.toContain(secret);
      expect(JSON.parse(body).error.message).toBe(
        "the model behind this server failed; the server log has the details",
      );
    } finally {
      upstream.close();
    }
  });
});
