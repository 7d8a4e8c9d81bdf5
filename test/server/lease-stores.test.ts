/**
 * The `LeaseStore` contract on every lease store (in memory; Redis), called directly: the
 * boundaries the HTTP tests do not reach (docs/server.md, "Leases": a lapsed lease stops
 * counting; its holder may still submit if nobody took the slot), and `lapse`, what a pause or
 * a refusal at commit does to the leases a rater holds.
 */
import { describe, expect, it } from "vitest";
import { RedisLeaseStore } from "../../src/server/redis/index.js";
import { type Lease, type LeaseStore, MemoryLeaseStore } from "../../src/server/tasks/leases.js";
import { connect } from "../scale/helpers.js";
import { freshRedisKeys } from "./lease-kinds.js";

const T0 = 1_700_000_000_000;
const TTL = 60_000;
const GRACE = 5_000;
const lease = (task: string, user: string, at = T0): Lease => ({
  taskId: task,
  projectId: "p",
  comparisonId: "c",
  userId: user,
  shownOrder: "ab",
  issuedAt: at,
  expiresAt: at + TTL,
});

/** A store (lapsed leases kept for `GRACE`), and the time its record of a task has left to live
 * (ms), as far as it can tell. */
type Opened = { s: LeaseStore; ttl?: (taskId: string) => Promise<number> };
const stores: { name: string; open: () => Promise<Opened> }[] = [
  { name: "memory", open: async () => ({ s: new MemoryLeaseStore(GRACE) }) },
  {
    name: "redis",
    open: async () => {
      const r = await connect(freshRedisKeys());
      const s = new RedisLeaseStore(r, GRACE);
      await s.seedJudgments("p", new Map());
      return { s, ttl: (taskId) => r.redis.pttl(r.key("lease", taskId)) };
    },
  },
];

for (const st of stores) {
  describe(`LeaseStore at a lease's expiry (${st.name})`, () => {
    it("frees the slot at the expiry instant, and its holder takes it back only within the limit", async () => {
      const { s } = await st.open();
      try {
        expect(await s.acquire(lease("t1", "u1"), 1, T0)).toBeDefined();
        const end = T0 + TTL;
        // Live until its expiry, not at it.
        expect(await s.liveCount("p", "c", end - 1)).toBe(1);
        expect(await s.liveCount("p", "c", end)).toBe(0);
        expect(await s.heldBy("p", "u1", end)).toEqual([]);
        // The slot went to another rater at that instant: the old holder may not take it too,
        // which would put two raters on a comparison with one slot.
        expect(await s.acquire(lease("t2", "u2", end), 1, end)).toBeDefined();
        expect(await s.acquire(lease("t1", "u1", end), 1, end)).toBeUndefined();
        expect(await s.liveCount("p", "c", end)).toBe(1);
      } finally {
        await s.close();
      }
    });
  });
}

/** `lapse` on each store: what a pause does to the leases a rater holds. */
describe("LeaseStore.lapse", () => {
  for (const st of stores) {
    it(`frees the slot at once and keeps the record for the grace period (${st.name})`, async () => {
      const { s, ttl } = await st.open();
      try {
        expect(await s.acquire(lease("t1", "u1"), 1, T0)).toBeDefined();
        expect(await s.acquire(lease("t2", "u2"), 1, T0)).toBeUndefined();
        await s.lapse("t1", T0 + 1000);
        expect(await s.liveCount("p", "c", T0 + 1000)).toBe(0);
        expect(await s.heldBy("p", "u1", T0 + 1000)).toEqual([]);
        // Remembered: its project and holder, ended when it was lapsed.
        expect(await s.get("t1")).toEqual({ ...lease("t1", "u1"), expiresAt: T0 + 1000 });
        expect(await s.acquire(lease("t2", "u2", T0 + 1000), 1, T0 + 1000)).toBeDefined();
        // Not finished: taken again (keeping its first serve time) once the slot is free.
        await s.lapse("t2", T0 + 2000);
        const back = await s.acquire(lease("t1", "u1", T0 + 2000), 1, T0 + 2000);
        expect(back?.issuedAt).toBe(T0);
        await s.lapse("t1", T0 + 3000);
        await s.lapse("missing", T0 + 3000);
        expect(await s.get("missing")).toBeUndefined();
        // Bounded: dropped `GRACE` after it ended, as a lease that lapsed by itself is.
        if (s instanceof MemoryLeaseStore) {
          s.sweep(T0 + 3000 + GRACE);
          expect(await s.get("t1")).toBeDefined();
          s.sweep(T0 + 3000 + GRACE + 1);
          expect(await s.get("t1")).toBeUndefined();
        } else {
          // Redis drops it by its own clock: the key's time to live is the grace period at most.
          const left = await ttl!("t1");
          expect(left).toBeGreaterThan(0);
          expect(left).toBeLessThanOrEqual(GRACE);
        }
      } finally {
        await s.close();
      }
    });
  }
});
