/**
 * A long run (`keel generate`'s pairs, a pipeline's policy answers through an OpenAI-compatible
 * upstream) passes one abort signal, the command's Ctrl-C, to every upstream call. Each call
 * must leave nothing behind on it: no listener, and no entry in the signal's set of dependent
 * signals. Before 2026-12-07 every attempt combined the caller's signal with its timeout by
 * AbortSignal.any, which on Node 20 adds an entry to the caller's signal that is never
 * removed: 100,000 calls left 100,000 entries (Node 20.20). The set is Node's internal
 * `kDependantSignals`; on a Node without it the listener count is what is checked.
 */
import { getEventListeners } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Limiter } from "../../src/providers/http/limiter.js";
import { send } from "../../src/providers/http/request.js";
import { Backoff } from "../../src/providers/http/retry.js";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let handler: Handler = () => {};
const server = createServer(async (req, res) => {
  for await (const _ of req) {
    // the body is read and dropped
  }
  handler(req, res);
});
let base = "";
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const client = (timeoutMs = 5000, retries = 0) => ({
  name: "up",
  timeoutMs,
  backoff: new Backoff({ retries, baseDelayMs: 0, maxDelayMs: 0, seed: 1 }),
  limiter: new Limiter(4),
});

/** What the caller's signal holds for calls that have ended: listeners and dependent signals. */
function held(signal: AbortSignal): { listeners: number; dependants: number } {
  const sym = Object.getOwnPropertySymbols(signal).find(
    (s) => s.description === "kDependantSignals",
  );
  const set = sym
    ? (signal as unknown as Record<symbol, Set<unknown> | undefined>)[sym]
    : undefined;
  return { listeners: getEventListeners(signal, "abort").length, dependants: set?.size ?? 0 };
}

describe("a long-lived caller signal across many upstream calls", () => {
  it("holds nothing of answers read to their end", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"ok":true}');
    };
    const run = new AbortController();
    const c = client();
    for (let i = 0; i < 100; i++) {
      const res = await send(c, "POST", base, { i }, run.signal);
      expect(await res.json()).toEqual({ ok: true });
    }
    expect(held(run.signal)).toEqual({ listeners: 0, dependants: 0 });
    expect(c.limiter.active).toBe(0);
  });

  it("holds nothing of answers refused, retried or cancelled unread", async () => {
    let n = 0;
    handler = (_req, res) => {
      n++;
      if (n % 3 === 0) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.end("data: {}\n\n");
      } else {
        res.writeHead(n % 3 === 1 ? 503 : 400);
        res.end("no");
      }
    };
    const run = new AbortController();
    const c = client(5000, 1);
    for (let i = 0; i < 60; i++) {
      const r = await send(c, "POST", base, {}, run.signal).catch((e: Error) => e);
      if (r instanceof Response) await r.body?.cancel();
    }
    expect(held(run.signal)).toEqual({ listeners: 0, dependants: 0 });
    expect(c.limiter.active).toBe(0);
  });

  it("holds nothing of an answer nobody reads, once its timeout has passed", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.flushHeaders();
    };
    const run = new AbortController();
    const c = client(100);
    const res = await send(c, "POST", base, {}, run.signal);
    await new Promise((r) => setTimeout(r, 300));
    expect(held(run.signal)).toEqual({ listeners: 0, dependants: 0 });
    expect(c.limiter.active).toBe(0);
    await res.body?.cancel().catch(() => undefined);
  });

  it("still lets the caller's abort end a body being read", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: {}\n\n");
    };
    const run = new AbortController();
    const c = client();
    const res = await send(c, "POST", base, {}, run.signal);
    const reader = res.body!.getReader();
    await reader.read();
    run.abort("enough");
    await expect(reader.read()).rejects.toBe("enough");
    expect(held(run.signal)).toEqual({ listeners: 0, dependants: 0 });
    expect(c.limiter.active).toBe(0);
  });
});
