/**
 * Shared judgment counts that Redis lost or never received: two task queues (two server
 * processes) on one store and one Redis prefix. When Redis comes back empty (a restart without
 * persistence, a flush, an evicted key) or a count could not be written after its judgment was
 * committed (Redis unreachable for a moment), the counts are rebuilt from the ledger before the
 * next serve, so a comparison is not handed out beyond its overlap.
 */
import { afterAll, describe, expect, it, vi } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { RedisLeaseStore, type SharedRedis } from "../../src/server/redis/index.js";
import { ProjectQueue } from "../../src/server/tasks/queue.js";
import { TaskIds } from "../../src/server/tasks/task-id.js";
import {
  addItems,
  addMembers,
  collectionDb,
  createProject,
  createUser,
  getProject,
} from "../../src/store/collection/index.js";
import { openStore } from "../../src/store/store.js";
import { tempDir } from "../helpers/stores.js";
import { connect, redisPrefix, wipePrefix as wipe } from "./helpers.js";

const opened: SharedRedis[] = [];
afterAll(() => {
  for (const r of opened) r.redis.disconnect();
});

/** Items c0 and c1, raters r0..r2; two queues ("processes") with their own Redis. */
async function setup(overlap = 1) {
  const prefix = redisPrefix();
  const store = await openStore(`${tempDir()}/recovery.db`, { create: true });
  const db = collectionDb(store);
  const now = new Date();
  await createProject(db, { project_id: "p", name: "p", overlap, gold_rate: 0 }, now);
  await addItems(
    db,
    "p",
    [0, 1].map((k) => ({
      comparison: {
        comparison_id: `c${k}`,
        prompt: `prompt ${k}`,
        response_a: `a ${k}`,
        response_b: `b ${k}`,
      },
      kind: "task" as const,
      batch: "b",
    })),
  );
  const users: string[] = [];
  for (let r = 0; r < 3; r++)
    users.push((await createUser(db, { login: `r${r}`, role: "rater" }, now)).user_id);
  await addMembers(db, "p", users, now);
  const ids = new TaskIds(Buffer.alloc(32, 3));
  const project = (await getProject(db, "p"))!;
  const process = async () => {
    const r = await connect(prefix);
    opened.push(r);
    const leases = new RedisLeaseStore(r);
    return { leases, q: await ProjectQueue.load(project, db, leases, ids) };
  };
  const a = await process();
  const b = await process();
  /** A rater of `p` judges their served task through process `on`, as the judgment route does. */
  const judge = async (on: typeof a, user: string, nowMs: number) => {
    const s = (await on.q.rater(user))!;
    const l = (await on.q.next(user, s, nowMs))!;
    await store.appendJudgments([
      {
        comparison_id: l.comparisonId,
        prompt: `prompt ${l.comparisonId.slice(1)}`,
        response_a: `a ${l.comparisonId.slice(1)}`,
        response_b: `b ${l.comparisonId.slice(1)}`,
        rater_id: user,
        choice: "a",
      },
    ]);
    await on.q.judgedBy(s, l.comparisonId);
    await on.leases.finish(l.taskId, nowMs);
    return l;
  };
  return { prefix, store, users, a, b, judge };
}

const T0 = Date.now();

describe("shared judgment counts after Redis lost them", () => {
  it("rebuilds them from the ledger when Redis comes back empty", async () => {
    const { prefix, store, users, a, b, judge } = await setup();
    try {
      // r0 judges c0 through B; A never serves c0, so its own count of c0 stays 0.
      expect((await judge(b, users[0]!, T0)).comparisonId).toBe("c0");
      await wipe(prefix);
      // A serves r1: c0 is complete (overlap 1), so r1 must get c1.
      const s1 = (await a.q.rater(users[1]!))!;
      expect((await a.q.next(users[1]!, s1, T0 + 1000))?.comparisonId).toBe("c1");
      expect((await a.leases.judgmentCounts("p")).get("c0")).toBe(1);
    } finally {
      await store.close();
    }
  });

  it("does not serve a rater the same judged task again and again", async () => {
    // Overlap 2. A knows r0 from before r0 judged c0 through B; then Redis forgets the finished
    // lease (restarted empty, or simply after the grace period), so A serves c0 to r0 again.
    const { prefix, store, users, a, b, judge } = await setup(2);
    try {
      const r0 = users[0]!;
      const stale = (await a.q.rater(r0))!;
      expect((await judge(b, r0, T0)).comparisonId).toBe("c0");
      await wipe(prefix);
      expect((await a.q.next(r0, stale, T0 + 1000))?.comparisonId).toBe("c0");
      // r0's submission is refused as a duplicate (the route marks c0 done for r0): r0's next
      // task is c1, not the lease on c0 that is still live.
      stale.done.add("c0");
      expect((await a.q.next(r0, stale, T0 + 2000))?.comparisonId).toBe("c1");
    } finally {
      await store.close();
    }
  });

  it("rebuilds them when a committed judgment's count could not be written", async () => {
    const { store, users, a, b, judge } = await setup();
    try {
      // Redis fails just after r0's judgment of c0 is committed: the count is not written, and
      // the lease is neither finished (the route stops there) nor needed any more.
      const count = vi
        .spyOn(b.leases, "countJudgment")
        .mockRejectedValueOnce(new KeelError("KEEL_E_STORE", "Redis countJudgment failed"));
      await expect(judge(b, users[0]!, T0)).rejects.toMatchObject({ code: "KEEL_E_STORE" });
      count.mockRestore();
      // Redis is back; B serves r2 (a serve like any other), and r0's lease lapses.
      const s2 = (await b.q.rater(users[2]!))!;
      expect((await b.q.next(users[2]!, s2, T0 + 1000))?.comparisonId).toBe("c1");
      const later = T0 + 3_600_000;
      // A serves r1 after r0's lease lapsed: c0 has its one judgment, c1 is leased to r2.
      const s1 = (await a.q.rater(users[1]!))!;
      expect((await a.q.next(users[1]!, s1, later))?.comparisonId).not.toBe("c0");
      expect((await a.leases.judgmentCounts("p")).get("c0")).toBe(1);
    } finally {
      await store.close();
    }
  });
});
