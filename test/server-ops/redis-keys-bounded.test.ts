/**
 * What `keel serve --redis` writes per client, request or lease expires: a rate-limit bucket once
 * it would be full again, a lease the grace period after it ends, its comparison's and holder's
 * index a second after their last live lease. Only `judged:<project>` (one hash per project,
 * one field per comparison judged) is kept for good: it is the overlap's count across
 * processes. So Redis holds a bounded number of keys however many clients and tasks there are.
 */
import { afterAll, describe, expect, it } from "vitest";
import { RedisLeaseStore, RedisRateLimitStore, SharedRedis } from "../../src/server/redis/index.js";
import type { Lease } from "../../src/server/tasks/leases.js";
import { REDIS_URL, redisPrefix } from "../scale/helpers.js";

const T0 = 1_700_000_000_000;
const prefix = redisPrefix();
let n = 0;
const opened: SharedRedis[] = [];
async function open(): Promise<SharedRedis> {
  const r = await SharedRedis.connect({ url: REDIS_URL, prefix: `${prefix}${n++}:` });
  opened.push(r);
  return r;
}
afterAll(async () => {
  for (const r of opened) r.redis.disconnect();
});

/** Every key under the connection's prefix, with its time to live (ms; -1 = none). */
async function ttls(r: SharedRedis): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let cursor = "0";
  do {
    const [next, keys] = await r.redis.scan(cursor, "MATCH", `${r.prefix}*`, "COUNT", 1000);
    cursor = next;
    const t = await Promise.all(keys.map((k) => r.redis.pttl(k)));
    keys.forEach((k, i) => {
      out.set(k.slice(r.prefix.length), t[i]!);
    });
  } while (cursor !== "0");
  return out;
}

describe("Redis keys written per client or task", () => {
  it("a rate-limit bucket per address expires once it would be full again", async () => {
    const r = await open();
    const s = new RedisRateLimitStore(r);
    const rule = { rate: 50, burst: 200 };
    await Promise.all(
      Array.from({ length: 2000 }, (_, i) => s.hit(`ip:198.18.${i >> 8}.${i & 255}`, rule, T0 + i)),
    );
    // One address that used up its burst: full again in 200 / 50 = 4 s.
    for (let i = 0; i < 201; i++) await s.hit("ip:203.0.113.9", rule, T0 + 2000);
    const keys = await ttls(r);
    expect(keys.size).toBe(2001);
    for (const [k, ttl] of keys) {
      expect(ttl, k).toBeGreaterThan(0);
      // One token used: back in 20 ms, plus the script's second of slack.
      if (k !== "rate:ip%3A203.0.113.9") expect(ttl, k).toBeLessThanOrEqual(1020);
    }
    expect(keys.get("rate:ip%3A203.0.113.9")).toBeGreaterThan(4000);
    expect(keys.get("rate:ip%3A203.0.113.9")).toBeLessThanOrEqual(5000);
    await s.close();
  });

  it("leases, finished, lapsed or left to lapse, and their indexes all expire", async () => {
    const r = await open();
    const grace = 60_000;
    const s = new RedisLeaseStore(r, grace);
    await s.seedJudgments("p", new Map());
    const lease = (user: number, cmp: number): Lease => ({
      taskId: `t-${user}-${cmp}`,
      projectId: "p",
      comparisonId: `c${cmp}`,
      userId: `u${user}`,
      shownOrder: "ab",
      issuedAt: T0,
      expiresAt: T0 + 30_000,
    });
    // 50 raters × 20 comparisons: a third finished, a third lapsed, a third left to lapse.
    for (let u = 0; u < 50; u++) {
      for (let c = 0; c < 20; c++) {
        const l = lease(u, c);
        expect(await s.acquire(l, Number.POSITIVE_INFINITY, T0)).toBeDefined();
        if ((u + c) % 3 === 0) await s.finish(l.taskId, T0 + 1000);
        else if ((u + c) % 3 === 1) await s.lapse(l.taskId, T0 + 1000);
      }
    }
    const keys = await ttls(r);
    // 1,000 leases, 20 comparison indexes, 50 holder indexes, and the project's counts.
    expect(keys.size).toBe(1000 + 20 + 50 + 1);
    for (const [k, ttl] of keys) {
      if (k === "judged:p") {
        expect(ttl).toBe(-1);
        continue;
      }
      expect(ttl, k).toBeGreaterThan(0);
      // At most the lease's 30 s and the grace period after it.
      expect(ttl, k).toBeLessThanOrEqual(30_000 + grace);
    }
    await s.close();
  });

  it("a rater's index of leases sheds the ones that lapsed by themselves", async () => {
    const r = await open();
    const s = new RedisLeaseStore(r, 60_000);
    await s.seedJudgments("p", new Map());
    // One rater, served 300 tasks one after another, each left to lapse (30 s) before the next:
    // the holder's index has its time to live renewed by each, so it never expires while the
    // rater works, and before 2026-12-07 it kept all 300.
    for (let i = 0; i < 300; i++) {
      const t = T0 + i * 31_000;
      const l: Lease = {
        taskId: `t-${i}`,
        projectId: "p",
        comparisonId: `c${i}`,
        userId: "u",
        shownOrder: "ab",
        issuedAt: t,
        expiresAt: t + 30_000,
      };
      expect(await s.acquire(l, 1, t)).toBeDefined();
    }
    expect(await r.redis.zcard(r.key("user", "p", "u"))).toBe(1);
    const last = T0 + 299 * 31_000;
    expect((await s.heldBy("p", "u", last)).map((l) => l.taskId)).toEqual(["t-299"]);
    await s.close();
  });
});
