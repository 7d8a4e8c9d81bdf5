/**
 * Edges of the Redis Lua scripts that the tests of test/scale/redis.test.ts and
 * reclaim-leases.test.ts leave open: a token bucket never holds more than its burst, however
 * long it rested, and a process whose clock lags the bucket's last hit takes a token without
 * taking any refill back; a peek (`firstOpen`) and a serve (`acquireFirst`) agree on a lease
 * that lapses at the very millisecond they are asked; a script Redis does not hold (NOSCRIPT) is
 * sent whole, and only then.
 */
import { afterAll, describe, expect, it } from "vitest";
import {
  RedisLeaseStore,
  RedisRateLimitStore,
  type SharedRedis,
} from "../../src/server/redis/index.js";
import { Script } from "../../src/server/redis/script.js";
import type { Lease } from "../../src/server/tasks/leases.js";
import { connect } from "../scale/helpers.js";
import { freshRedisKeys } from "./lease-kinds.js";

const T0 = 1_700_000_000_000;
const opened: SharedRedis[] = [];
async function open(): Promise<SharedRedis> {
  const r = await connect(freshRedisKeys());
  opened.push(r);
  return r;
}
afterAll(async () => {
  for (const r of opened) r.redis.disconnect();
});

/** How many of `n` hits at `t` the bucket allows. */
async function allowed(s: RedisRateLimitStore, n: number, t: number): Promise<number> {
  let k = 0;
  for (let i = 0; i < n; i++) if ((await s.hit("b", { rate: 1, burst: 3 }, t)).allowed) k++;
  return k;
}

describe("RedisRateLimitStore's bucket", () => {
  it("fills up to its burst and no further, however long it rested", async () => {
    const s = new RedisRateLimitStore(await open());
    expect(await allowed(s, 1, T0)).toBe(1);
    // 100 s at 1 token/s would be 100 tokens; the bucket holds 3.
    expect(await allowed(s, 10, T0 + 100_000)).toBe(3);
  });

  it("takes no refill back when a process's clock lags the last hit", async () => {
    const s = new RedisRateLimitStore(await open());
    expect(await allowed(s, 1, T0)).toBe(1);
    // Two tokens left. A process 2 s behind would, read literally, take 2 tokens of refill
    // back and find the bucket empty.
    expect(await allowed(s, 1, T0 - 2_000)).toBe(1);
    // One left, counted from T0 still: nothing refilled by the lagging hit either.
    expect(await allowed(s, 2, T0)).toBe(1);
  });
});

describe("RedisLeaseStore's peek and serve", () => {
  const lease = (user: string, cmp: string): Lease => ({
    taskId: `${user}-${cmp}`,
    projectId: "p",
    comparisonId: cmp,
    userId: user,
    shownOrder: "ab",
    issuedAt: T0,
    expiresAt: T0 + 60_000,
  });

  it("count a lease that lapses at the very millisecond asked as lapsed, both", async () => {
    const s = new RedisLeaseStore(await open());
    try {
      await s.seedJudgments("p", new Map());
      expect(await s.acquire(lease("u1", "c0"), 1, T0)).toBeDefined();
      const mine = [lease("u2", "c0"), lease("u2", "c1")];
      const at = T0 + 60_000;
      expect(await s.liveCount("p", "c0", at - 1)).toBe(1);
      expect(await s.liveCount("p", "c0", at)).toBe(0);
      // c0's only slot is free at `at`: the peek names it, and the serve takes it.
      expect((await s.firstOpen(mine, 1, at - 1)).lease).toEqual(mine[1]);
      expect((await s.firstOpen(mine, 1, at)).lease).toEqual(mine[0]);
      expect((await s.acquireFirst(mine, 1, at)).lease).toEqual(mine[0]);
    } finally {
      await s.close();
    }
  });
});

describe("a Script run by SHA", () => {
  // A comment unique to this run gives each script a SHA no Redis has loaded yet.
  const unseen = (body: string) => `-- ${freshRedisKeys()}\n${body}`;

  it("is sent whole when Redis does not hold it (NOSCRIPT), then run by SHA", async () => {
    const r = await open();
    const s = new Script("count", unseen("return redis.call('INCR', KEYS[1])"));
    const key = r.key("runs");
    expect(await r.redis.script("EXISTS", s.sha)).toEqual([0]);
    expect(await s.run(r, [key], [])).toBe(1);
    expect(await r.redis.script("EXISTS", s.sha)).toEqual([1]);
    expect(await s.run(r, [key], [])).toBe(2);
  });

  it("is not run a second time when the script itself fails", async () => {
    const r = await open();
    const s = new Script(
      "fail",
      unseen("redis.call('INCR', KEYS[1]); return redis.error_reply('refused by the script')"),
    );
    const key = r.key("fails");
    // The first run loads it (NOSCRIPT); the second runs by SHA and fails there.
    for (let i = 0; i < 2; i++)
      await expect(s.run(r, [key], [])).rejects.toMatchObject({ code: "KEEL_E_STORE" });
    expect(Number(await r.redis.get(key))).toBe(2);
  });
});
