/**
 * The `LeaseStore` contract on every lease store (in memory; Redis), called directly: the
 * boundaries the HTTP tests do not reach (docs/server.md, "Leases": a lapsed lease stops
 * counting; its holder may still submit if nobody took the slot).
 */
import { afterAll, describe, expect, it } from "vitest";
import { RedisLeaseStore } from "../../src/server/redis/index.js";
import { type Lease, type LeaseStore, MemoryLeaseStore } from "../../src/server/tasks/leases.js";
import { connect, redisPrefix } from "../scale/helpers.js";

const T0 = 1_700_000_000_000;
const TTL = 60_000;
const lease = (task: string, user: string, at = T0): Lease => ({
  taskId: task,
  projectId: "p",
  comparisonId: "c",
  userId: user,
  shownOrder: "ab",
  issuedAt: at,
  expiresAt: at + TTL,
});

const prefix = redisPrefix();
let opened = 0;
const stores: { name: string; open: () => Promise<LeaseStore> }[] = [
  { name: "memory", open: async () => new MemoryLeaseStore() },
  {
    name: "redis",
    open: async () => {
      const s = new RedisLeaseStore(await connect(`${prefix}${opened++}:`));
      await s.seedJudgments("p", new Map());
      return s;
    },
  },
];
const closing: LeaseStore[] = [];
afterAll(async () => {
  for (const s of closing) await s.close();
});

for (const st of stores) {
  describe(`LeaseStore at a lease's expiry (${st.name})`, () => {
    it("frees the slot at the expiry instant, and its holder takes it back only within the limit", async () => {
      const s = await st.open();
      closing.push(s);
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
    });
  });
}
