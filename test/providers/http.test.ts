/**
 * The OpenAI-compatible provider's transport against a local HTTP server that misbehaves on
 * purpose: retries with backoff on 503/429 (honouring Retry-After) but not on 400, timeouts,
 * the concurrency limit, failures as KeelError values, streams cut before [DONE]; and the
 * pieces under it: the SSE parser on arbitrary chunk boundaries, backoff bounds, the limiter.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  Backoff,
  createGenerationProvider,
  createRewardProvider,
  Limiter,
  OpenAiProvider,
  parseOpenAiConfig,
  parseRemoteRewardConfig,
  parseRetryAfter,
  type StreamEvent,
  sseData,
} from "../../src/providers/index.js";

type Handler = (req: IncomingMessage, body: Record<string, unknown>, res: ServerResponse) => void;
let handler: Handler = () => {};
let url = "";
let inFlight = 0;
let maxInFlight = 0;
let hits = 0;
const server = createServer(async (req, res) => {
  hits++;
  inFlight++;
  maxInFlight = Math.max(maxInFlight, inFlight);
  res.on("close", () => {
    inFlight--;
  });
  let raw = "";
  for await (const c of req) raw += c;
  handler(req, raw ? (JSON.parse(raw) as Record<string, unknown>) : {}, res);
});
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const chat = (text: string) => ({
  id: "x",
  object: "chat.completion",
  model: "m",
  choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
  usage: { prompt_tokens: 3, completion_tokens: 2 },
});
const send = (
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) => {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
};
const provider = (o: Record<string, unknown> = {}) =>
  new OpenAiProvider(
    parseOpenAiConfig({ base_url: url, model: "m", base_delay_ms: 1, max_delay_ms: 50, ...o }),
  );

describe("provider configs", () => {
  it("name the bad field once", () => {
    expect(() => parseOpenAiConfig({ model: "m" })).toThrow(
      /^openai provider: base_url: is required$/,
    );
    process.env.KEEL_TEST_KEY = "sk-env";
    expect(() =>
      parseOpenAiConfig({
        base_url: "http://127.0.0.1:1/v1",
        model: "m",
        api_key: "sk-inline",
        api_key_env: "KEEL_TEST_KEY",
      }),
    ).toThrow(/api_key_env: give api_key or api_key_env, not both/);
    process.env.KEEL_TEST_KEY = " ";
    expect(() =>
      parseOpenAiConfig({
        base_url: "http://127.0.0.1:1/v1",
        model: "m",
        api_key_env: "KEEL_TEST_KEY",
      }),
    ).toThrow(/openai provider: environment variable KEEL_TEST_KEY is empty$/);
    delete process.env.KEEL_TEST_KEY;
    // setTimeout fires at once past 2^31 − 1 ms: every call would time out at its start.
    expect(() =>
      parseOpenAiConfig({ base_url: "http://127.0.0.1:1/v1", model: "m", timeout_ms: 3e9 }),
    ).toThrow(/^openai provider: timeout_ms: must be at most 2147483647$/);
    expect(() =>
      parseRemoteRewardConfig({ url: "http://127.0.0.1:1/get_reward", max_delay_ms: 3e9 }),
    ).toThrow(/^remote reward provider: max_delay_ms: must be at most 2147483647$/);
  });
});

describe("OpenAiProvider over HTTP", () => {
  it("retries 503 and 429 (after Retry-After) and then succeeds", async () => {
    hits = 0;
    let n = 0;
    handler = (_req, body, res) => {
      n++;
      if (n === 1) return send(res, 503, { error: { message: "overloaded" } });
      if (n === 2)
        return send(res, 429, { error: { message: "slow down" } }, { "retry-after": "0" });
      expect(body).toMatchObject({
        model: "m",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 7,
      });
      send(res, 200, chat("hello"));
    };
    const r = await provider().generate({ prompt: "hi", maxTokens: 7 });
    expect(r).toEqual({
      ok: true,
      value: {
        text: "hello",
        finishReason: "stop",
        usage: { promptTokens: 3, completionTokens: 2 },
        model: "m",
      },
    });
    expect(hits).toBe(3);
  });

  it("does not retry a 400, and quotes the server's message", async () => {
    hits = 0;
    handler = (_req, _b, res) => send(res, 400, { error: { message: "max_tokens is too large" } });
    const r = await provider().generate({ prompt: "hi" });
    expect(hits).toBe(1);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe("KEEL_E_UPSTREAM");
      expect(r.error.message).toMatch(/HTTP 400: max_tokens is too large/);
    }
  });

  it("gives up after its retries, times out slow answers, and rejects malformed ones", async () => {
    hits = 0;
    handler = (_req, _b, res) => send(res, 500, { error: { message: "boom" } });
    const r = await provider({ retries: 2 }).generate({ prompt: "hi" });
    expect(hits).toBe(3);
    expect(!r.ok && r.error.message).toMatch(/boom \(gave up after 3 attempts\)/);
    handler = (_req, _b, res) => setTimeout(() => send(res, 200, chat("late")), 300);
    const slow = await provider({ retries: 0, timeout_ms: 50 }).generate({ prompt: "hi" });
    expect(!slow.ok && slow.error.message).toMatch(/timed out after 50 ms/);
    handler = (_req, _b, res) => send(res, 200, { choices: [] });
    const bad = await provider().generate({ prompt: "hi" });
    expect(!bad.ok && bad.error.message).toMatch(/unexpected answer/);
    const wrongApi = await provider({ api: "completions" }).generate({
      messages: [{ role: "user", content: "x" }],
    });
    expect(!wrongApi.ok && wrongApi.error.code).toBe("KEEL_E_USAGE");
  });

  it("keeps at most `concurrency` requests in flight", async () => {
    // The slow answer the test before gave up on may still be open on a loaded machine.
    await vi.waitFor(() => expect(inFlight).toBe(0), { timeout: 10_000 });
    maxInFlight = 0;
    handler = (_req, _b, res) => setTimeout(() => send(res, 200, chat("ok")), 20);
    const p = provider({ concurrency: 3 });
    const all = await Promise.all(Array.from({ length: 12 }, () => p.generate({ prompt: "x" })));
    expect(all.every((r) => r.ok)).toBe(true);
    expect(maxInFlight).toBe(3);
  });

  it("streams deltas and the finish, and reports a stream cut before [DONE]", async () => {
    const frames = [
      { choices: [{ delta: { role: "assistant", content: "" } }] },
      { choices: [{ delta: { content: "he" } }] },
      { choices: [{ delta: { content: "llo" }, finish_reason: "length" }] },
      { choices: [], usage: { prompt_tokens: 1, completion_tokens: 2 } },
    ];
    let cut = false;
    handler = (_req, body, res) => {
      expect(body.stream).toBe(true);
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (const f of frames) res.write(`data: ${JSON.stringify(f)}\r\n\r\n`);
      res.end(cut ? "" : "data: [DONE]\n\n");
    };
    const events: StreamEvent[] = [];
    for await (const e of provider().stream({ prompt: "x" })) events.push(e);
    expect(events).toEqual([
      { type: "delta", text: "he" },
      { type: "delta", text: "llo" },
      {
        type: "done",
        finishReason: "length",
        usage: { promptTokens: 1, completionTokens: 2 },
        model: "m",
      },
    ]);
    cut = true;
    const broken: StreamEvent[] = [];
    for await (const e of provider().stream({ prompt: "x" })) broken.push(e);
    expect(broken.at(-1)).toMatchObject({ type: "error" });
  });
});

describe("transport pieces", () => {
  it("parses server-sent events the same however the bytes are split", async () => {
    const text =
      'data: {"a":1}\n\n: comment\nevent: x\ndata: two\ndata: lines\r\n\r\ndata:[DONE]\r\r';
    const bytes = new TextEncoder().encode(text);
    const parse = async (cuts: number[]) => {
      const points = [...new Set(cuts.map((c) => c % bytes.length))].sort((a, b) => a - b);
      const chunks: Uint8Array[] = [];
      let at = 0;
      for (const p of [...points, bytes.length]) {
        chunks.push(bytes.slice(at, p));
        at = p;
      }
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          for (const ch of chunks) c.enqueue(ch);
          c.close();
        },
      });
      const out: string[] = [];
      for await (const d of sseData(body)) out.push(d);
      return out;
    };
    const want = ['{"a":1}', "two\nlines", "[DONE]"];
    expect(await parse([])).toEqual(want);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 12 }), async (cuts) => {
        expect(await parse(cuts)).toEqual(want);
      }),
      { seed: 7, numRuns: 60 },
    );
  });

  it("refuses an upstream's oversized answer and endless event lines instead of holding them", async () => {
    const { readCapped } = await import("../../src/providers/http/request.js");
    const { MAX_SSE_LINE } = await import("../../src/providers/http/sse.js");
    const chunk = new Uint8Array(1 << 20).fill(120);
    const endless = (n: number) =>
      new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < n; i++) c.enqueue(chunk);
          c.close();
        },
      });
    await expect(readCapped(new Response(endless(3)), 2 << 20, "up")).rejects.toThrow(
      /larger than 2 MiB/,
    );
    expect((await readCapped(new Response(endless(1)), 2 << 20, "up")).length).toBe(1 << 20);
    // The cap is exact: one byte over it is refused.
    expect(await readCapped(new Response("0123456789"), 10, "up")).toBe("0123456789");
    await expect(readCapped(new Response("0123456789!"), 10, "up")).rejects.toThrow(/larger than/);
    const lines = async () => {
      const body = endless((MAX_SSE_LINE >> 20) + 2);
      for await (const _ of sseData(body)) {
        // no event ever ends
      }
    };
    await expect(lines()).rejects.toThrow(/longer than 4 MiB/);
  });

  it("draws backoff delays within the cap, repeatably, and honours Retry-After", () => {
    const a = new Backoff({ retries: 5, baseDelayMs: 100, maxDelayMs: 1000, seed: 3 });
    const b = new Backoff({ retries: 5, baseDelayMs: 100, maxDelayMs: 1000, seed: 3 });
    for (let k = 1; k <= 6; k++) {
      const d = a.delay(k);
      expect(d).toBe(b.delay(k));
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(Math.min(1000, 100 * 2 ** (k - 1)));
    }
    expect(a.delay(1, "0.5")).toBeGreaterThanOrEqual(500);
    expect(a.delay(1, "60")).toBe(1000);
    expect(
      parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", Date.parse("Wed, 21 Oct 2015 07:27:58 GMT")),
    ).toBe(2000);
    expect(parseRetryAfter("soon")).toBeUndefined();
    // The asctime form names no zone: it is GMT whatever this machine's time zone.
    const at = Date.UTC(1994, 10, 6, 8, 49, 30);
    const tz = process.env.TZ;
    process.env.TZ = "America/St_Johns"; // Node reads the zone again when TZ is set
    try {
      expect(parseRetryAfter("Sun Nov  6 08:49:37 1994", at)).toBe(7000);
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
    expect(parseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", at)).toBe(7000);
    // Neither delta-seconds (digits, perhaps a fraction) nor a date.
    for (const odd of ["0x10", "1e3", "-5", " "]) expect(parseRetryAfter(odd, at)).toBeUndefined();
  });

  it("limits concurrency and drops an aborted waiter from the queue", async () => {
    const l = new Limiter(1);
    let release!: () => void;
    const first = l.run(() => new Promise<void>((r) => (release = r)));
    const ac = new AbortController();
    const second = l.run(async () => "ran", ac.signal);
    expect(l.queued).toBe(1);
    ac.abort("no longer needed");
    await expect(second).rejects.toMatchObject({ code: "KEEL_E_INTERRUPTED" });
    expect(l.queued).toBe(0);
    release();
    await first;
    expect(await l.run(async () => 5)).toBe(5);
  });

  it("builds providers from the registry and rejects unknown types and fields", () => {
    expect(createGenerationProvider({ type: "openai", base_url: url, model: "m" }).id()).toBe(
      `openai:m@${url}`,
    );
    expect(() => createGenerationProvider({ type: "nope" })).toThrow(
      /unknown generation provider "nope"; known: openai, engine/,
    );
    expect(() =>
      createGenerationProvider({ type: "openai", base_url: url, model: "m", temprature: 1 }),
    ).toThrow(/unknown field "temprature"/);
    expect(() => createRewardProvider({ type: "openrlhf", url: "ftp://x" })).toThrow(/url/);
    expect(() => createRewardProvider({ type: "engine", dir: "x", extra: 1 })).toThrow(/extra/);
  });
});
