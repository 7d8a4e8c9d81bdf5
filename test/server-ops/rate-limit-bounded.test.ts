/**
 * The in-memory rate limiter of a long-running `keel serve` keeps a bounded number of buckets,
 * however many client addresses, users and login names it meets: a bucket is forgotten once it
 * has refilled, and past `maxBuckets` the least recently hit one is dropped. Before 2026-12-07
 * every bucket stayed an hour after its last hit and nothing capped their number, so a stream
 * of new addresses (or made-up login names) grew the map without bound.
 */
import { afterEach, describe, expect, it } from "vitest";
import { MAX_BUCKETS, MemoryRateLimitStore } from "../../src/server/limits/rate-limit.js";
import { openStore } from "../../src/store/store.js";
import { type Fixture, makeFixture } from "../server/helpers.js";

const T0 = 1_700_000_000_000;
const IP_RULE = { rate: 50, burst: 200 } as const;

const stores: MemoryRateLimitStore[] = [];
const fixtures: Fixture[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const f of fixtures.splice(0)) await f.close();
});

function limiter(maxBuckets?: number): MemoryRateLimitStore {
  const s = new MemoryRateLimitStore(maxBuckets === undefined ? {} : { maxBuckets });
  stores.push(s);
  return s;
}

/** The i-th of many distinct client addresses (documentation and benchmarking ranges). */
const address = (i: number) => `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;

describe("MemoryRateLimitStore's buckets", () => {
  it("stay at the cap however many distinct keys hit it", () => {
    const s = limiter();
    expect(s.maxBuckets).toBe(100_000);
    expect(MAX_BUCKETS).toBe(100_000);
    for (let i = 0; i < 120_000; i++) s.hitSync(`ip:${address(i)}`, IP_RULE, T0 + i);
    expect(s.size).toBe(100_000);
  });

  it("are forgotten once they have refilled, and kept while they have not", () => {
    const s = limiter();
    for (let i = 0; i < 20_000; i++) s.hitSync(`ip:${address(i)}`, IP_RULE, T0);
    // One client that used its whole burst: 200 tokens back at 50/s takes 4 s.
    for (let i = 0; i < 201; i++) s.hitSync("ip:203.0.113.9", IP_RULE, T0);
    expect(s.size).toBe(20_001);
    // One token back takes 20 ms: every other bucket is full again, as good as a new one.
    s.prune(T0 + 1000);
    expect(s.size).toBe(1);
    expect(s.hitSync("ip:203.0.113.9", IP_RULE, T0 + 1000)).toEqual({
      allowed: true,
      retryAfterMs: 0,
    });
    expect(s.hitSync("ip:203.0.113.9", IP_RULE, T0 + 1000).allowed).toBe(true);
    // 48 tokens left at T0 + 1 s: full again 152 / 50 s = 3.04 s later.
    s.prune(T0 + 4000);
    expect(s.size).toBe(1);
    s.prune(T0 + 4041);
    expect(s.size).toBe(0);
  });

  it("drop the least recently hit past the cap, not the one just used", () => {
    const s = limiter(3);
    const rule = { rate: 0.001, burst: 1 };
    expect(s.hitSync("a", rule, T0).allowed).toBe(true);
    expect(s.hitSync("b", rule, T0 + 1).allowed).toBe(true);
    expect(s.hitSync("c", rule, T0 + 2).allowed).toBe(true);
    // "a" hit again (refused): now "b" is the least recently hit.
    expect(s.hitSync("a", rule, T0 + 3).allowed).toBe(false);
    expect(s.hitSync("d", rule, T0 + 4).allowed).toBe(true);
    expect(s.size).toBe(3);
    // "a" is still limited; "b" was dropped and starts afresh.
    expect(s.hitSync("a", rule, T0 + 5).allowed).toBe(false);
    expect(s.hitSync("b", rule, T0 + 6).allowed).toBe(true);
    expect(s.size).toBe(3);
  });

  it("take no refill back when a caller's clock lags the last hit (as the Redis store)", () => {
    const s = limiter();
    const rule = { rate: 1, burst: 3 };
    expect(s.hitSync("k", rule, T0).allowed).toBe(true);
    // Two tokens left; a clock 2 s behind, read literally, would take them back.
    expect(s.hitSync("k", rule, T0 - 2000).allowed).toBe(true);
    expect(s.hitSync("k", rule, T0).allowed).toBe(true);
    expect(s.hitSync("k", rule, T0).allowed).toBe(false);
  });

  it("refuse a cap that is not a positive integer", () => {
    expect(() => new MemoryRateLimitStore({ maxBuckets: 0 })).toThrow(
      expect.objectContaining({ code: "KEEL_E_CONFIG" }),
    );
  });
});

describe("keel serve's limiter under many clients", () => {
  async function server(limits?: MemoryRateLimitStore): Promise<Fixture> {
    const store = await openStore(":memory:");
    const fx = await makeFixture(
      store,
      {},
      {
        trustProxy: true,
        rateLimits: { ip: IP_RULE, login: { rate: 0.2, burst: 10 } },
        ...(limits ? { limits } : {}),
      },
    );
    fixtures.push(fx);
    return fx;
  }

  it("forgets each address's bucket once it has refilled", async () => {
    const fx = await server();
    const limits = fx.ctx.limits as MemoryRateLimitStore;
    for (let i = 0; i < 60; i++) {
      const r = await fx.app.inject({
        method: "GET",
        url: "/healthz",
        remoteAddress: "10.0.0.2",
        headers: { "x-forwarded-for": address(i) },
      });
      expect(r.statusCode).toBe(200);
    }
    expect(limits.size).toBe(60);
    limits.prune(fx.ctx.now().getTime() + 60_000);
    expect(limits.size).toBe(0);
  });

  it("keeps at most the cap of buckets for failed logins with distinct names and addresses", async () => {
    const limits = new MemoryRateLimitStore({ maxBuckets: 15 });
    const fx = await server(limits);
    for (let i = 0; i < 30; i++) {
      const r = await fx.app.inject({
        method: "POST",
        url: "/api/session",
        remoteAddress: "10.0.0.2",
        headers: { "x-forwarded-for": address(i) },
        payload: { login: `nobody-${i}`, password: "wrong password" },
      });
      expect(r.statusCode).toBe(401);
      expect(limits.size).toBeLessThanOrEqual(15);
    }
    expect(limits.size).toBe(15);
    // The limits still hold for a client that keeps going.
    let refused = 0;
    for (let i = 0; i < 12; i++) {
      const r = await fx.app.inject({
        method: "POST",
        url: "/api/session",
        remoteAddress: "10.0.0.2",
        headers: { "x-forwarded-for": "203.0.113.50" },
        payload: { login: "owner", password: "wrong password" },
      });
      if (r.statusCode === 429) refused++;
    }
    expect(refused).toBe(2);
  });
});
