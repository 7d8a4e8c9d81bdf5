/**
 * The HTTP contract `keel serve-model` and `keel serve-rm` share with `keel serve`, checked on
 * both side by side, each in its own error shape (OpenAI's for serve-model, keel's for serve-rm)
 * with a KEEL_E_* code: a body that is not JSON is 415, as keel serve answers (both said 400); a
 * malformed URL, a request that arrives while the server shuts down, one not sent whole in time
 * and bytes that are not HTTP are answered in the server's shape (serve-rm gave Fastify's shape
 * for a bad URL, and both gave it for the rest, or, for a stalled request, no answer at all). The
 * sockets are the point of the last three, so those listen on a real port.
 */
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type GenerationProvider, ok, type RewardProvider } from "../../src/providers/index.js";
import { buildModelApp } from "../../src/server/openai/app.js";
import { buildRewardApp } from "../../src/server/reward/app.js";
import { CombinedScorer } from "../../src/server/reward/scorer.js";
import { parseRawAnswer, rawConnection } from "../helpers/raw-http.js";

/** A gate the test opens: the model's (or reward model's) work waits on it once `held`. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  let began!: () => void;
  const started = new Promise<void>((r) => {
    began = r;
  });
  return {
    opened,
    open,
    started,
    async pass() {
      began();
      await opened;
    },
  };
}

interface Server {
  readonly name: string;
  readonly app: FastifyInstance;
  readonly gate: ReturnType<typeof gate>;
  /** The route that takes a body, and a body it answers 200. */
  readonly post: { readonly url: string; readonly body: object };
  /** The code and message of an error answer, whatever the shape; fails on any other shape. */
  error(body: unknown): { code: string; message: string };
}

interface Built {
  readonly maxPending?: number;
  readonly requestTimeoutMs?: number;
  readonly bodyLimit?: number;
}

async function modelServer(o: Built = {}): Promise<Server> {
  const g = gate();
  const provider: GenerationProvider = {
    id: () => "gated",
    generate: async () => {
      await g.pass();
      return ok({
        text: "hi",
        finishReason: "stop",
        usage: { promptTokens: 1, completionTokens: 1 },
        model: "gated",
      });
    },
  };
  const app = await buildModelApp({ provider, model: "m", logLevel: "silent", ...o });
  return {
    name: "serve-model",
    app,
    gate: g,
    post: {
      url: "/v1/chat/completions",
      body: { model: "m", messages: [{ role: "user", content: "hello" }], max_tokens: 4 },
    },
    error(body) {
      // OpenAI's shape, exactly its four keys.
      const e = (body as { error: Record<string, unknown> }).error;
      expect(Object.keys(e).sort()).toEqual(["code", "message", "param", "type"]);
      expect(typeof e.type).toBe("string");
      return { code: e.code as string, message: e.message as string };
    },
  };
}

async function rewardServer(o: Built = {}): Promise<Server> {
  const g = gate();
  const reward: RewardProvider = {
    id: () => "gated",
    score: async (items) => {
      await g.pass();
      return ok({ rewards: items.map(() => 1) });
    },
  };
  const { app } = await buildRewardApp({
    scorer: new CombinedScorer({ reward, floor: -10 }),
    floor: -10,
    logLevel: "silent",
    ...o,
  });
  return {
    name: "serve-rm",
    app,
    gate: g,
    post: { url: "/get_reward", body: { query: ["q? a"], prompts: ["q?"] } },
    error(body) {
      // keel's shape: code and message, and nothing of Fastify's (statusCode, a bare string).
      const e = (body as { error: Record<string, unknown> }).error;
      expect(typeof e).toBe("object");
      for (const k of Object.keys(e)) expect(["code", "message", "where", "hint"]).toContain(k);
      return { code: e.code as string, message: e.message as string };
    },
  };
}

const SERVERS = [
  ["serve-model", modelServer],
  ["serve-rm", rewardServer],
] as const;

const made: Server[] = [];
afterEach(async () => {
  for (const s of made.splice(0)) {
    s.gate.open();
    await s.app.close().catch(() => undefined);
  }
});

async function build(make: (o: Built) => Promise<Server>, o: Built = {}): Promise<Server> {
  const s = await make(o);
  made.push(s);
  return s;
}

async function listen(s: Server): Promise<{ port: number; url: string }> {
  await s.app.listen({ port: 0, host: "127.0.0.1" });
  const port = (s.app.server.address() as AddressInfo).port;
  return { port, url: `http://127.0.0.1:${port}` };
}

const raw = rawConnection;
const parse = parseRawAnswer;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(SERVERS)("%s's HTTP contract", (_name, make) => {
  it("answers a body that is not JSON 415 with KEEL_E_INVALID_RECORD, as keel serve does", async () => {
    const s = await build(make);
    s.gate.open();
    for (const [type, payload] of [
      ["text/plain", JSON.stringify(s.post.body)],
      ["application/x-www-form-urlencoded", "a=1"],
      [undefined, JSON.stringify(s.post.body)],
    ] as const) {
      const r = await s.app.inject({
        method: "POST",
        url: s.post.url,
        headers: type === undefined ? {} : { "content-type": type },
        payload,
      });
      expect(r.statusCode, `${type}: ${r.body}`).toBe(415);
      expect(r.headers["content-type"]).toMatch(/^application\/json/);
      const e = s.error(r.json());
      expect(e.code).toBe("KEEL_E_INVALID_RECORD");
      expect(e.message).toContain("application/json");
      expect(e.message).toContain(type ?? "no Content-Type");
    }
    // JSON with its charset is JSON.
    const json = await s.app.inject({
      method: "POST",
      url: s.post.url,
      headers: { "content-type": "application/json; charset=utf-8" },
      payload: JSON.stringify(s.post.body),
    });
    expect(json.statusCode, json.body).toBe(200);
  });

  it("answers a body over the limit 413 KEEL_E_TOO_LARGE, naming the limit", async () => {
    const s = await build(make, { bodyLimit: 4096 });
    const r = await s.app.inject({
      method: "POST",
      url: s.post.url,
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({ ...s.post.body, pad: "x".repeat(5000) }),
    });
    expect(r.statusCode, r.body).toBe(413);
    const e = s.error(r.json());
    expect(e.code).toBe("KEEL_E_TOO_LARGE");
    expect(e.message).toBe("request body is larger than this route accepts (4,096 bytes)");
  });

  it("answers a malformed URL 400 in its own error shape", async () => {
    const s = await build(make);
    const r = await s.app.inject({ method: "GET", url: "/%zz" });
    expect(r.statusCode).toBe(400);
    expect(s.error(r.json()).code).toBe("KEEL_E_INVALID_RECORD");
  });

  it("answers a request arriving while it shuts down 503 KEEL_E_BUSY with Retry-After", async () => {
    const s = await build(make);
    const { port, url } = await listen(s);
    // One request is being worked on when the shutdown starts, so the close waits for it.
    const busy = fetch(`${url}${s.post.url}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(s.post.body),
    });
    await s.gate.started;
    // A second client is half way through sending its request.
    const late = raw(port);
    late.s.write(`GET /healthz HTTP/1.1\r\nHost: keel\r\n`);
    await new Promise((r) => late.s.once("connect", r));
    await sleep(100);
    const closing = s.app.close();
    await sleep(100);
    late.s.write("\r\n");
    await late.closed;
    const r = parse(late.text());
    // Before: Fastify's {"error":"Service Unavailable","statusCode":503}, no Retry-After.
    expect(r.status).toBe(503);
    expect(r.headers).toContain("content-type: application/json");
    expect(r.headers).toContain("retry-after: 1");
    expect(r.headers).toContain("connection: close");
    const e = s.error(r.body);
    expect(e.code).toBe("KEEL_E_BUSY");
    expect(e.message).toMatch(/shutting down/);
    // The request in progress is still answered.
    s.gate.open();
    expect((await busy).status).toBe(200);
    await closing;
  });

  it("answers a request not sent whole in time 408, freeing its place for the next", async () => {
    const s = await build(make, { requestTimeoutMs: 300, maxPending: 1 });
    s.gate.open();
    const { port, url } = await listen(s);
    const slow = raw(port);
    slow.s.write(
      `POST ${s.post.url} HTTP/1.1\r\nHost: keel\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`,
    );
    // Before, with no request timeout, the connection stayed open, holding the one place
    // (--max-pending 1), for as long as the client liked.
    const ended = await Promise.race([slow.closed.then(() => "closed"), sleep(10_000)]);
    expect(ended).toBe("closed");
    const r = parse(slow.text());
    expect(r.status).toBe(408);
    expect(s.error(r.body).code).toBe("KEEL_E_TIMEOUT");
    await vi.waitFor(
      async () => {
        const next = await fetch(`${url}${s.post.url}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(s.post.body),
        });
        expect(next.status).toBe(200);
      },
      { timeout: 10_000, interval: 50 },
    );
  });

  it("answers bytes that are not HTTP 400 in its own error shape", async () => {
    const s = await build(make);
    const { port } = await listen(s);
    const c = raw(port);
    c.s.write("HELLO\r\n\r\n");
    await c.closed;
    const r = parse(c.text());
    expect(r.status).toBe(400);
    expect(s.error(r.body)).toEqual({
      code: "KEEL_E_INVALID_RECORD",
      message: "the request is not well-formed HTTP",
    });
  });
});
