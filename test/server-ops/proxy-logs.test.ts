/**
 * `keel serve` behind a reverse proxy, and what its log says of each request. Through
 * `app.inject()`, which sets the socket's address: what is checked is how the server reads
 * X-Forwarded-For and what it logs, not the socket.
 */
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { openStore } from "../../src/store/store.js";
import { tempDir } from "../helpers/stores.js";
import { type Fixture, makeFixture } from "../server/helpers.js";

const fixtures: Fixture[] = [];
afterEach(async () => {
  for (const f of fixtures.splice(0)) await f.close();
});

async function server(options: { trustProxy?: boolean; lines?: string[] } = {}) {
  const store = await openStore(join(tempDir(), "k.db"), { create: true });
  const lines = options.lines;
  const fx = await makeFixture(
    store,
    {},
    {
      trustProxy: options.trustProxy ?? false,
      rateLimits: { ip: { rate: 0.001, burst: 3 } },
      ...(lines
        ? {
            logLevel: "info",
            logStream: new Writable({
              write(chunk, _enc, done) {
                lines.push(String(chunk));
                done();
              },
            }),
          }
        : {}),
    },
  );
  fixtures.push(fx);
  return fx;
}

/** Five requests from one client that writes a new X-Forwarded-For of its own each time. */
async function spoofing(fx: Fixture, remoteAddress: string, viaProxy: boolean): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 1; i <= 5; i++) {
    const spoofed = `198.51.100.${i}`;
    const r = await fx.app.inject({
      method: "GET",
      url: "/healthz",
      remoteAddress,
      // A proxy appends the address it saw to what the client sent.
      headers: { "x-forwarded-for": viaProxy ? `${spoofed}, 203.0.113.7` : spoofed },
    });
    statuses.push(r.statusCode);
  }
  return statuses;
}

describe("--trust-proxy", () => {
  it("keys the per-address limit on the address the proxy saw, not on one the client wrote", async () => {
    const lines: string[] = [];
    const fx = await server({ trustProxy: true, lines });
    // Before, every hop was trusted and the first (the client's own words) was the address.
    expect(await spoofing(fx, "127.0.0.1", true)).toEqual([200, 200, 200, 429, 429]);
    const logged = lines
      .map((l) => JSON.parse(l) as { req?: { remoteAddress: string } })
      .flatMap((l) => (l.req ? [l.req.remoteAddress] : []));
    expect(new Set(logged)).toEqual(new Set(["203.0.113.7"]));
    // Another client behind the same proxy has buckets of its own.
    const other = await fx.app.inject({
      method: "GET",
      url: "/healthz",
      remoteAddress: "127.0.0.1",
      headers: { "x-forwarded-for": "203.0.113.8" },
    });
    expect(other.statusCode).toBe(200);
  });

  it("without it, ignores X-Forwarded-For and Forwarded", async () => {
    const fx = await server();
    expect(await spoofing(fx, "192.0.2.9", false)).toEqual([200, 200, 200, 429, 429]);
    const forwarded = await fx.app.inject({
      method: "GET",
      url: "/healthz",
      remoteAddress: "192.0.2.9",
      headers: { forwarded: "for=198.51.100.77" },
    });
    expect(forwarded.statusCode).toBe(429);
  });
});

describe("the request log", () => {
  it("writes one line per request, with its method, URL, status and time, and no invitation token", async () => {
    const lines: string[] = [];
    const fx = await server({ lines });
    await fx.app.inject({ method: "GET", url: "/healthz" });
    const token = "A".repeat(43);
    await fx.app.inject({ method: "GET", url: `/api/invitations/${token}` });
    await fx.app.inject({ method: "GET", url: `/api/projects/${"x".repeat(300)}` });
    const requests = lines
      .map(
        (l) =>
          JSON.parse(l) as {
            msg: string;
            req?: { method: string; url: string };
            res?: { statusCode: number };
            responseTime?: number;
          },
      )
      .filter((l) => l.req || l.res);
    // Before: two lines each, and the second ("request completed") named no URL.
    expect(requests.map((l) => [l.msg, l.req?.method, l.req?.url, l.res?.statusCode])).toEqual([
      ["request completed", "GET", "/healthz", 200],
      ["request completed", "GET", "/api/invitations/***", 404],
      ["request completed", "GET", `/api/projects/${"x".repeat(300)}`, 400],
    ]);
    for (const l of requests) expect(l.responseTime).toBeGreaterThanOrEqual(0);
    expect(lines.join("")).not.toContain(token);
  });
});

describe("over-long path parameters", () => {
  it("are refused 400 as ids too long, without the URL repeated back", async () => {
    const fx = await server();
    const long = "x".repeat(8000);
    const r = await fx.app.inject({ method: "GET", url: `/api/projects/${long}` });
    expect(r.statusCode).toBe(400);
    // Before: "'/api/projects/xxxx…' is exceeding the max param length", all 8,000 characters.
    expect(r.json()).toEqual({
      error: {
        code: "KEEL_E_INVALID_RECORD",
        message: "a path parameter is longer than 256 characters (ids have at most 128)",
      },
    });
    expect(r.headers["content-security-policy"]).toBeDefined();
  });
});
