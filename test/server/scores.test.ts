/**
 * The score board's cache: one computation for the requests that find it stale together (the
 * admin page asks for raters, agreement and groups at once), none kept past an invalidation,
 * and recomputation after the ledger grew even when the clock stepped back.
 */
import { describe, expect, it } from "vitest";
import { ScoreBoard } from "../../src/server/scores/board.js";
import { MemoryLeaseStore } from "../../src/server/tasks/leases.js";
import { ProjectQueue } from "../../src/server/tasks/queue.js";
import { QueueRegistry, SYNC_MS } from "../../src/server/tasks/registry.js";
import { TaskIds } from "../../src/server/tasks/task-id.js";
import {
  addItems,
  addMembers,
  collectionDb,
  createProject,
  createUser,
} from "../../src/store/collection/index.js";
import { type FeedbackStore, openStore } from "../../src/store/store.js";
import { taskItem } from "../helpers/data.js";
import { tempDir } from "../helpers/stores.js";

async function setup() {
  const store = await openStore(`${tempDir()}/b.db`, { create: true });
  const db = collectionDb(store);
  const now = new Date();
  const project = await createProject(db, { project_id: "p", name: "p", gold_rate: 0 }, now);
  await addItems(db, "p", ["c0", "c1", "c2"].map(taskItem));
  const users: string[] = [];
  for (const login of ["r0", "r1"])
    users.push((await createUser(db, { login, role: "rater" }, now)).user_id);
  await addMembers(db, "p", users, now);
  const ids = new TaskIds(Buffer.alloc(32, 7));
  const q = await ProjectQueue.load(project, db, new MemoryLeaseStore(), ids);
  const judge = async (rater: string, id: string) => {
    await store.appendJudgments([{ ...taskItem(id).comparison, rater_id: rater, choice: "a" }]);
  };
  return { store, db, q, ids, users, judge };
}

/** Counts the board's reads of the project's judgments with texts (one per computation). */
function counting(store: FeedbackStore): () => number {
  let n = 0;
  const judgments = store.judgments.bind(store);
  store.judgments = ((...args: Parameters<typeof judgments>) => {
    n++;
    return judgments(...args);
  }) as typeof store.judgments;
  return () => n;
}

describe("the score board", () => {
  it("computes once for requests that find it stale at the same time", async () => {
    const { store, db, q, users, judge } = await setup();
    try {
      const computed = counting(store);
      const board = new ScoreBoard(store, db, 0);
      await judge(users[0]!, "c0");
      const t = Date.now();
      const [scores, audit, groups] = await Promise.all([
        board.scores(q, t),
        board.audit(q, t),
        board.groups(q, t),
      ]);
      expect(computed()).toBe(1);
      expect(scores.raters.map((r) => r.judgments)).toEqual([1]);
      expect(audit?.raters).toHaveLength(1);
      expect(groups.source).toBe("audit");
      // The ledger grew: the next request computes again.
      await judge(users[1]!, "c0");
      expect((await board.scores(q, t + 1)).raters).toHaveLength(2);
      expect(computed()).toBe(2);
    } finally {
      await store.close();
    }
  });

  it("does not keep a computation that an invalidation overtook", async () => {
    const { store, db, q, users, judge } = await setup();
    try {
      const board = new ScoreBoard(store, db, 60_000);
      await judge(users[0]!, "c0");
      // A reviewer's exclusion lands while the computation reads the judgments (after it read
      // the members' statuses).
      const judgments = store.judgments.bind(store);
      let once = true;
      store.judgments = ((...args: Parameters<typeof judgments>) => {
        if (once) {
          once = false;
          return (async function* () {
            await db
              .updateTable("project_members")
              .set({ status: "excluded" })
              .where("user_id", "=", users[0]!)
              .execute();
            board.invalidate("p");
            yield* judgments(...args);
          })();
        }
        return judgments(...args);
      }) as typeof store.judgments;
      const t = Date.now();
      expect((await board.scores(q, t)).raters[0]!.verdict).not.toBe("excluded");
      expect((await board.scores(q, t)).raters[0]!.verdict).toBe("excluded");
    } finally {
      await store.close();
    }
  });

  it("recomputes after the ledger grew when the clock stepped back", async () => {
    const { store, db, q, users, judge } = await setup();
    try {
      const board = new ScoreBoard(store, db, 2_000);
      const t = Date.now();
      await judge(users[0]!, "c0");
      expect((await board.scores(q, t)).raters).toHaveLength(1);
      await judge(users[1]!, "c0");
      // An hour back: the cached entry is "from the future", not fresh.
      expect((await board.scores(q, t - 3_600_000)).raters).toHaveLength(2);
    } finally {
      await store.close();
    }
  });
});

describe("the queue registry", () => {
  it("catches up with the store after the clock stepped back", async () => {
    const { store, db, ids } = await setup();
    try {
      let now = Date.now();
      const reg = new QueueRegistry(db, new MemoryLeaseStore(), ids, () => now);
      expect((await reg.get("p")).tasks).toHaveLength(3);
      await addItems(db, "p", [taskItem("c3")]);
      now -= 3_600_000;
      expect((await reg.get("p")).tasks).toHaveLength(4);
      // And syncs at its interval from there on.
      await addItems(db, "p", [taskItem("c4")]);
      now += SYNC_MS;
      expect((await reg.get("p")).tasks).toHaveLength(5);
    } finally {
      await store.close();
    }
  });
});
