/**
 * `keel serve-model` under clients that open an event stream and drop it mid-way, again and
 * again, as a flaky network or an impatient client does: each dropped stream ends its
 * generation (the provider sees its request's signal abort) and gives its place among the
 * `maxPending` requests back, so nothing piles up however many streams are dropped.
 */
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  GenerationRequest,
  StreamEvent,
  StreamingProvider,
} from "../../src/providers/types.js";
import { buildModelApp } from "../../src/server/openai/app.js";

/** A provider whose every stream sends one delta, then waits for its request's abort. */
function hanging() {
  const state = { live: 0, started: 0, aborted: 0 };
  const provider: StreamingProvider = {
    id: () => "hanging",
    generate: async () => {
      throw new Error("not used");
    },
    async *stream(r: GenerationRequest): AsyncGenerator<StreamEvent> {
      state.live++;
      state.started++;
      try {
        yield { type: "delta", text: "x" };
        await new Promise<void>((resolve) => {
          if (r.signal?.aborted) return resolve();
          r.signal?.addEventListener("abort", () => resolve(), { once: true });
        });
        state.aborted++;
      } finally {
        state.live--;
      }
    },
  };
  return { provider, state };
}

const h = hanging();
let app: FastifyInstance;
let port = 0;
beforeAll(async () => {
  app = await buildModelApp({
    provider: h.provider,
    model: "m",
    maxPending: 2,
    logLevel: "silent",
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  port = (app.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await app.close();
});

/** Opens a stream, waits for its first bytes, and drops the connection; resolves with the status. */
function openAndDrop(): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/v1/completions",
        headers: { "content-type": "application/json" },
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          res.resume();
          res.on("end", () => resolve(status));
          return;
        }
        res.once("data", () => {
          req.destroy();
          resolve(status);
        });
      },
    );
    req.on("error", (e) => {
      if (!req.destroyed) reject(e);
    });
    req.end(JSON.stringify({ model: "m", prompt: "hi", max_tokens: 4, stream: true }));
  });
}

/** Waits (a bounded number of turns) until the server has seen every dropped stream end. */
async function settled(): Promise<void> {
  for (let i = 0; i < 200 && h.state.live > 0; i++) await new Promise((r) => setTimeout(r, 10));
}

describe("streams dropped mid-way", () => {
  it("end their generations and give their places back, however many there are", async () => {
    for (let i = 0; i < 30; i++) {
      // Two at once: the cap; a third would be refused while they run.
      const statuses = await Promise.all([openAndDrop(), openAndDrop()]);
      expect(statuses).toEqual([200, 200]);
      await settled();
      expect(h.state.live).toBe(0);
    }
    expect(h.state.started).toBe(60);
    expect(h.state.aborted).toBe(60);
    // Every place is free again: two more streams are admitted at once.
    expect(await Promise.all([openAndDrop(), openAndDrop()])).toEqual([200, 200]);
    await settled();
    expect(h.state.live).toBe(0);
  });
});
