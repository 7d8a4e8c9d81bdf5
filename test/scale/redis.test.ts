/**
 * The Redis lease store and rate limiter against a real Redis, each used through two separate
 * connections (as two server processes would): atomic slots under a race, judgment counts
 * (no slot while they are unseeded), finished leases, expiry, and token buckets that several
 * processes draw from.
 */
import { type AddressInfo, connect as connectTcp, createServer, type Socket } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { MemoryRateLimitStore } from "../../src/server/limits/rate-limit.js";
import { RedisLeaseStore, RedisRateLimitStore, SharedRedis } from "../../src/server/redis/index.js";
import type { Lease } from "../../src/server/tasks/leases.js";
import { connect, REDIS_URL, redisPrefix } from "./helpers.js";

const prefix = redisPrefix();
const opened: SharedRedis[] = [];
async function two(): Promise<[SharedRedis, SharedRedis]> {
  const a = await connect(prefix);
  const b = await connect(prefix);
  opened.push(a, b);
  return [a, b];
}
afterAll(async () => {
  for (const r of opened) r.redis.disconnect();
});

const T0 = 1_700_000_000_000;
function lease(task: string, cmp: string, user: string, at = T0, ttl = 60_000): Lease {
  return {
    taskId: task,
    projectId: "p",
    comparisonId: cmp,
    userId: user,
    shownOrder: "ab",
    issuedAt: at,
    expiresAt: at + ttl,
  };
}

describe("RedisLeaseStore", () => {
  it("gives a comparison's slots to exactly `limit` of many racing processes", async () => {
    const [ra, rb] = await two();
    const a = new RedisLeaseStore(ra);
    const b = new RedisLeaseStore(rb);
    // Unseeded counts (never seeded, or lost by Redis) give no limited slot to anyone.
    expect(await a.acquire(lease("race-x", "c-race", "ux"), 3, T0)).toBeUndefined();
    expect(await b.acquireFirst([lease("race-x", "c-race", "ux")], 3, T0)).toEqual({
      lease: undefined,
      judged: [],
      unseeded: true,
    });
    await a.seedJudgments("p", new Map());
    expect(await b.judgmentCounts("p")).toEqual(new Map());
    const tries = Array.from({ length: 40 }, (_, i) =>
      (i % 2 ? a : b).acquire(lease(`race-${i}`, "c-race", `u${i}`), 3, T0),
    );
    const won = (await Promise.all(tries)).filter((l) => l !== undefined);
    expect(won).toHaveLength(3);
    expect(await a.liveCount("p", "c-race", T0)).toBe(3);
    expect(await b.liveCount("p", "c-race", T0)).toBe(3);
  });

  it("counts recorded judgments against the overlap and refuses finished leases", async () => {
    const [ra, rb] = await two();
    const a = new RedisLeaseStore(ra);
    const b = new RedisLeaseStore(rb);
    await a.seedJudgments("p", new Map([["c-j", 1]]));
    await b.seedJudgments("p", new Map([["c-j", 0]])); // never lowers
    expect(await a.occupancy("p", "c-j", T0)).toEqual({ live: 0, judged: 1 });
    const first = await a.acquire(lease("j1", "c-j", "u1"), 3, T0);
    expect(first?.issuedAt).toBe(T0);
    expect(await b.acquire(lease("j2", "c-j", "u2"), 3, T0)).toBeDefined();
    // 1 judged + 2 live = overlap 3: full.
    expect(await b.acquire(lease("j3", "c-j", "u3"), 3, T0)).toBeUndefined();
    // u1 judges: counted first, then finished; the slot stays taken by the judgment.
    await b.countJudgment("p", "c-j");
    await b.finish("j1", T0 + 1000);
    expect(await a.occupancy("p", "c-j", T0 + 1000)).toEqual({ live: 1, judged: 2 });
    expect(await a.acquire(lease("j3", "c-j", "u3", T0 + 1000), 3, T0 + 1000)).toBeUndefined();
    // A finished task is not handed out again, even with room.
    expect(await a.acquire(lease("j1", "c-j", "u1", T0 + 2000), 10, T0 + 2000)).toBeUndefined();
    expect((await a.get("j1"))?.expiresAt).toBe(T0 + 1000);
    expect(await a.heldBy("p", "u1", T0 + 1000)).toEqual([]);
    expect((await b.judgmentCounts("p")).get("c-j")).toBe(2);
  });

  it("renews its holder's lease, keeps the first serve time, and frees lapsed slots", async () => {
    const [ra, rb] = await two();
    const a = new RedisLeaseStore(ra);
    const b = new RedisLeaseStore(rb);
    expect(await a.acquire(lease("e1", "c-e", "u1"), 1, T0)).toBeDefined();
    expect(await b.acquire(lease("e2", "c-e", "u2"), 1, T0)).toBeUndefined();
    const again = await b.acquire(lease("e1", "c-e", "u1", T0 + 5000), 1, T0 + 5000);
    expect(again?.issuedAt).toBe(T0);
    expect((await a.heldBy("p", "u1", T0 + 5000)).map((l) => l.taskId)).toEqual(["e1"]);
    // After expiry the slot is free for someone else; the lapsed holder cannot retake it.
    const later = T0 + 5000 + 60_001;
    expect(await a.liveCount("p", "c-e", later)).toBe(0);
    expect(await b.acquire(lease("e2", "c-e", "u2", later), 1, later)).toBeDefined();
    expect(await a.acquire(lease("e1", "c-e", "u1", later), 1, later)).toBeUndefined();
    // Gold items have no limit (Infinity).
    for (let i = 0; i < 5; i++)
      expect(await a.acquire(lease(`g${i}`, "gold", `u${i}`), Infinity, T0)).toBeDefined();
    await a.release("g0");
    expect(await a.get("g0")).toBeUndefined();
    expect(await a.liveCount("p", "gold", T0)).toBe(4);
  });
});

describe("Redis failures", () => {
  it("reports an unreachable or lost Redis as KEEL_E_STORE (HTTP 503)", async () => {
    await expect(
      SharedRedis.connect({ url: "redis://127.0.0.1:1", connectTimeoutMs: 500 }),
    ).rejects.toMatchObject({ code: "KEEL_E_STORE", httpStatus: 503 });
    const r = await connect(prefix);
    const leases = new RedisLeaseStore(r);
    const limits = new RedisRateLimitStore(r);
    r.redis.disconnect();
    await expect(leases.get("x")).rejects.toMatchObject({ code: "KEEL_E_STORE" });
    await expect(leases.acquire(lease("z", "c", "u"), 1, T0)).rejects.toMatchObject({
      code: "KEEL_E_STORE",
    });
    await expect(limits.hit("k", { rate: 1, burst: 1 }, T0)).rejects.toMatchObject({
      code: "KEEL_E_STORE",
    });
  });
});

/**
 * A TCP proxy to the test Redis that can go silent: connections stay open and nothing comes
 * back (a network partition, or a Redis stuck in a long command).
 */
async function silentProxy(): Promise<{ url: string; silence: () => void; close: () => void }> {
  const target = new URL(REDIS_URL);
  let silent = false;
  const sockets: Socket[] = [];
  const server = createServer((client) => {
    const upstream = connectTcp(Number(target.port || 6379), target.hostname);
    sockets.push(client, upstream);
    client.on("data", (d) => {
      if (!silent) upstream.write(d);
    });
    upstream.on("data", (d) => {
      if (!silent) client.write(d);
    });
    client.on("error", () => {});
    upstream.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    silence: () => {
      silent = true;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe("a Redis that stops answering", () => {
  it("fails the call with KEEL_E_STORE instead of leaving the request waiting", async () => {
    const proxy = await silentProxy();
    const r = await SharedRedis.connect({ url: proxy.url, prefix, commandTimeoutMs: 300 });
    opened.push(r);
    try {
      const leases = new RedisLeaseStore(r);
      expect(await leases.get("nothing")).toBeUndefined();
      proxy.silence();
      await expect(leases.get("nothing")).rejects.toMatchObject({ code: "KEEL_E_STORE" });
      await expect(
        new RedisRateLimitStore(r).hit("k", { rate: 1, burst: 1 }, T0),
      ).rejects.toMatchObject({ code: "KEEL_E_STORE" });
    } finally {
      proxy.close();
    }
  });
});

describe("RedisRateLimitStore", () => {
  it("shares one bucket between processes and refills it at the rule's rate", async () => {
    const [ra, rb] = await two();
    const a = new RedisRateLimitStore(ra);
    const b = new RedisRateLimitStore(rb);
    const rule = { rate: 2, burst: 10 };
    const hits = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).hit("ip:1", rule, T0)),
    );
    expect(hits.filter((h) => h.allowed)).toHaveLength(10);
    const refused = hits.find((h) => !h.allowed)!;
    expect(refused.retryAfterMs).toBe(500);
    // 1.5 s later: 3 tokens back.
    const later = await Promise.all(
      Array.from({ length: 5 }, (_, i) => (i % 2 ? a : b).hit("ip:1", rule, T0 + 1500)),
    );
    expect(later.filter((h) => h.allowed)).toHaveLength(3);
    expect((await a.hit("ip:1", { rate: 0, burst: 1 }, T0)).allowed).toBe(true);
  });

  it("decides a sequence of hits exactly as the in-memory store does", async () => {
    const [ra] = await two();
    const redis = new RedisRateLimitStore(ra);
    const mem = new MemoryRateLimitStore();
    const rule = { rate: 3, burst: 4 };
    let t = T0;
    for (let i = 0; i < 60; i++) {
      t += (i * 37) % 400;
      const [x, y] = await Promise.all([redis.hit("seq", rule, t), mem.hit("seq", rule, t)]);
      expect(x).toEqual(y);
    }
    await mem.close();
  });
});
