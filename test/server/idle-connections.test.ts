/**
 * Connections that hold a place without sending a request: one that sends nothing at all, and
 * one that sends its headers a byte at a time (slowloris). Node counts a new connection as a
 * request begun, so the headers timeout (HEADERS_TIMEOUT_MS, at most the request timeout) closes
 * both with a 408 in keel's error shape. The socket is the point, so these listen on a real port
 * with the timeouts shortened; each test ends when the server closes the connection.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openStore } from "../../src/store/store.js";
import { rawConnection } from "../helpers/raw-http.js";
import { tempDir } from "../helpers/stores.js";
import { type Fixture, makeFixture } from "./helpers.js";

const open: Fixture[] = [];
afterEach(async () => {
  for (const f of open.splice(0)) await f.close().catch(() => undefined);
});

async function listening(requestTimeoutMs: number): Promise<number> {
  const store = await openStore(join(tempDir(), "idle.db"), { create: true });
  const fx = await makeFixture(store, { gold: 0 }, { requestTimeoutMs });
  open.push(fx);
  const url = await fx.app.listen({ port: 0, host: "127.0.0.1" });
  return Number(new URL(url).port);
}

const raw = rawConnection;

function expect408(response: string): void {
  const [head, body] = response.split("\r\n\r\n", 2) as [string, string];
  expect(head.split(" ")[1]).toBe("408");
  expect(JSON.parse(body)).toEqual({
    error: { code: "KEEL_E_TIMEOUT", message: expect.any(String) },
  });
}

describe("connections that send no request", () => {
  it("closes a connection that sends nothing, with keel's 408", async () => {
    const port = await listening(300);
    const silent = raw(port);
    await silent.closed;
    expect408(silent.text());
  });

  it("closes a connection that sends its headers a byte at a time, however steadily", async () => {
    const port = await listening(300);
    const slow = raw(port);
    const request = `GET /healthz HTTP/1.1\r\nHost: keel\r\nX-Pad: ${"x".repeat(10_000)}\r\n\r\n`;
    let i = 0;
    const drip = setInterval(() => {
      if (!slow.s.destroyed && i < request.length) slow.s.write(request[i++]!);
    }, 20);
    try {
      await slow.closed;
    } finally {
      clearInterval(drip);
    }
    // Bytes kept arriving, but the headers never completed: the request never reached a route.
    expect(i).toBeLessThan(request.length);
    expect408(slow.text());
  });
});
