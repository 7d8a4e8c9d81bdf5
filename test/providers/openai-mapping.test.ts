/**
 * How the OpenAI-compatible provider maps a request to the body it sends and an answer back to
 * a Generation: the request's own sampling settings (seed, temperature, top_p, stop, max_tokens)
 * win over the config's and reach the upstream, streams ask for usage unless told not to, and
 * finish reasons, usage and the answering model come back as the upstream gave them.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type GenerationRequest,
  OpenAiProvider,
  parseOpenAiConfig,
  type StreamEvent,
} from "../../src/providers/index.js";

/** What the server answers: a whole JSON answer, or SSE frames followed by [DONE]. */
let answer: { json: unknown } | { frames: unknown[] } = { json: {} };
const bodies: Record<string, unknown>[] = [];
const paths: string[] = [];
const server = createServer(async (req, res) => {
  let raw = "";
  for await (const c of req) raw += c;
  paths.push(req.url ?? "");
  bodies.push(JSON.parse(raw) as Record<string, unknown>);
  if ("json" in answer) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(answer.json));
    return;
  }
  res.writeHead(200, { "content-type": "text/event-stream" });
  for (const f of answer.frames) res.write(`data: ${JSON.stringify(f)}\n\n`);
  res.end("data: [DONE]\n\n");
});
let base = "";
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const provider = (o: Record<string, unknown> = {}) =>
  new OpenAiProvider(parseOpenAiConfig({ base_url: base, model: "m", retries: 0, ...o }));

const chatAnswer = (finish: string | null, content: string | null = "ok") => ({
  json: { choices: [{ message: { content }, finish_reason: finish }] },
});

/** The body the upstream received for one non-streaming call. */
async function sentBody(p: OpenAiProvider, r: GenerationRequest) {
  answer = chatAnswer("stop");
  bodies.length = 0;
  const out = await p.generate(r);
  expect(out.ok).toBe(true);
  return bodies[0]!;
}

async function streamAll(p: OpenAiProvider, r: GenerationRequest): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const e of p.stream(r)) events.push(e);
  return events;
}

describe("the request the provider sends", () => {
  it("carries the request's seed, sampling settings and stop strings, over the config's", async () => {
    const p = provider({ temperature: 1.5, top_p: 0.5, max_tokens: 40 });
    expect(
      await sentBody(p, { prompt: "hi", seed: 11, temperature: 0, topP: 0.9, stop: ["\n\n"] }),
    ).toEqual({
      model: "m",
      max_tokens: 40,
      temperature: 0,
      top_p: 0.9,
      stop: ["\n\n"],
      seed: 11,
      messages: [{ role: "user", content: "hi" }],
    });
    // Without them the config's settings go, and nothing is sent for what neither gives.
    expect(await sentBody(p, { prompt: "hi" })).toEqual({
      model: "m",
      max_tokens: 40,
      temperature: 1.5,
      top_p: 0.5,
      messages: [{ role: "user", content: "hi" }],
    });
    expect(await sentBody(provider(), { prompt: "hi", stop: [] })).toEqual({
      model: "m",
      max_tokens: 256,
      messages: [{ role: "user", content: "hi" }],
    });
  });

  it("appends the API's path once to a base URL that ends in a slash", async () => {
    paths.length = 0;
    await sentBody(provider({ base_url: `${base}//` }), { prompt: "hi" });
    expect(paths).toEqual(["/v1/chat/completions"]);
  });

  it("asks a stream for its usage, unless stream_usage is false", async () => {
    answer = { frames: [{ choices: [{ delta: { content: "a" }, finish_reason: "stop" }] }] };
    bodies.length = 0;
    await streamAll(provider(), { prompt: "hi" });
    await streamAll(provider({ stream_usage: false }), { prompt: "hi" });
    expect(bodies.map((b) => [b.stream, b.stream_options])).toEqual([
      [true, { include_usage: true }],
      [true, undefined],
    ]);
  });
});

describe("the answer the provider returns", () => {
  it("maps finish reasons, and a null content to empty text", async () => {
    const finishes: unknown[] = [];
    for (const f of ["stop", "length", "content_filter", "tool_calls", null]) {
      answer = chatAnswer(f);
      const r = await provider().generate({ prompt: "x" });
      finishes.push(r.ok && r.value.finishReason);
    }
    expect(finishes).toEqual(["stop", "length", "content_filter", "stop", "stop"]);
    answer = chatAnswer("content_filter", null);
    const r = await provider().generate({ prompt: "x" });
    expect(r.ok && r.value.text).toBe("");
  });

  it("reports the model and usage a stream names, taking the last usage given", async () => {
    answer = {
      frames: [
        { model: "m-2024", choices: [{ delta: { content: "he" } }] },
        { choices: [{ delta: { content: "y" }, finish_reason: "length" }] },
        { choices: [], usage: { prompt_tokens: 4, completion_tokens: 2 } },
      ],
    };
    expect((await streamAll(provider(), { prompt: "x" })).at(-1)).toEqual({
      type: "done",
      finishReason: "length",
      usage: { promptTokens: 4, completionTokens: 2 },
      model: "m-2024",
    });
  });
});
