/**
 * The task queue under a burst: raters answered by one commit all ask for their next task at
 * once. Their text-cache misses share one fetch (queries counted by a Kysely plugin watching
 * the real SQLite store), and their serves do not race for the same free slot (HMACs counted
 * by a TaskIds that counts) — while the overlap still holds.
 */
import type { KyselyPlugin } from "kysely";
import { describe, expect, it } from "vitest";
import type { ShownOrder } from "../../src/core/types.js";
import { MemoryLeaseStore } from "../../src/server/tasks/leases.js";
import { ProjectQueue } from "../../src/server/tasks/queue.js";
import { TaskIds } from "../../src/server/tasks/task-id.js";
import {
  addItems,
  addMembers,
  type CollectionDb,
  collectionDb,
  createProject,
  createUser,
} from "../../src/store/collection/index.js";
import { openStore } from "../../src/store/store.js";
import { tempDir } from "../helpers/stores.js";

function counting(): { plugin: KyselyPlugin; textQueries: () => number } {
  let n = 0;
  return {
    plugin: {
      transformQuery(args) {
        const node = args.node;
        if (node.kind === "SelectQueryNode" && JSON.stringify(node).includes('"texts"')) n++;
        return args.node;
      },
      async transformResult(args) {
        return args.result;
      },
    },
    textQueries: () => n,
  };
}

class CountingIds extends TaskIds {
  derived = 0;
  override derive(p: string, u: string, c: string): { taskId: string; shownOrder: ShownOrder } {
    this.derived++;
    return super.derive(p, u, c);
  }
}

async function setup(raters: number) {
  const store = await openStore(`${tempDir()}/q.db`, { create: true });
  const db = collectionDb(store);
  const now = new Date();
  const project = await createProject(
    db,
    { project_id: "p", name: "p", overlap: 3, gold_rate: 0 },
    now,
  );
  await addItems(
    db,
    "p",
    Array.from({ length: 400 }, (_, k) => ({
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
  for (let r = 0; r < raters; r++)
    users.push((await createUser(db, { login: `r${r}`, role: "rater" }, now)).user_id);
  await addMembers(db, "p", users, now);
  const c = counting();
  const ids = new CountingIds(Buffer.alloc(32, 7));
  const q = await ProjectQueue.load(
    project,
    db.withPlugin(c.plugin) as CollectionDb,
    new MemoryLeaseStore(),
    ids,
  );
  return { store, q, c, ids, users };
}

describe("the task queue under a burst", () => {
  it("serves a burst of text misses on neighbouring items with one fetch, each text right", async () => {
    const { store, q, c } = await setup(0);
    try {
      const before = c.textQueries();
      const burst = await Promise.all(Array.from({ length: 64 }, (_, k) => q.textsOf(`c${k}`)));
      expect(burst.map((t) => t.response_a)).toEqual(
        Array.from({ length: 64 }, (_, k) => `a ${k}`),
      );
      expect(c.textQueries() - before).toBe(1);
      // The window reached 128 items ahead: the next stretch is one more fetch.
      await Promise.all(["c100", "c127", "c128", "c129"].map((id) => q.textsOf(id)));
      expect(c.textQueries() - before).toBe(2);
      expect((await q.textsOf("c129")).prompt).toBe("prompt 129");
      await expect(q.textsOf("nope")).rejects.toMatchObject({ code: "KEEL_E_NOT_FOUND" });
    } finally {
      await store.close();
    }
  });

  it("serves 30 raters at once with one lease derivation each and never over the overlap", async () => {
    const { store, q, ids, users } = await setup(30);
    try {
      const states = await Promise.all(users.map((u) => q.rater(u)));
      const before = ids.derived;
      const now = Date.now();
      const leases = await Promise.all(users.map((u, i) => q.next(u, states[i]!, now)));
      expect(leases.every((l) => l !== undefined)).toBe(true);
      expect(ids.derived - before).toBe(30);
      const per = new Map<string, number>();
      for (const l of leases) per.set(l!.comparisonId, (per.get(l!.comparisonId) ?? 0) + 1);
      expect(Math.max(...per.values())).toBe(3);
      // Filled in list order: 30 raters × 1 lease over 3 slots each is the first 10 items.
      expect([...per.keys()].sort()).toEqual(Array.from({ length: 10 }, (_, k) => `c${k}`).sort());
    } finally {
      await store.close();
    }
  });
});

describe("a rater's gold record", () => {
  it("is the same loaded from the store as kept live, whatever they judged in other projects", async () => {
    const store = await openStore(`${tempDir()}/g.db`, { create: true });
    try {
      const db = collectionDb(store);
      const joined = new Date(Date.now() - 60_000);
      const project = await createProject(db, { project_id: "p", name: "p", gold_rate: 0 }, joined);
      await createProject(db, { project_id: "other", name: "other" }, joined);
      const cmp = (id: string, gold?: "a") => ({
        comparison: {
          comparison_id: id,
          prompt: `prompt ${id}`,
          response_a: `a ${id}`,
          response_b: `b ${id}`,
          ...(gold ? { gold } : {}),
        },
        kind: "task" as const,
        batch: "b",
      });
      await addItems(db, "p", [cmp("c0"), cmp("g0", "a")]);
      await addItems(
        db,
        "other",
        ["x0", "x1", "x2", "x3", "x4", "x5"].map((id) => cmp(id)),
      );
      const u = (await createUser(db, { login: "r", role: "rater" }, joined)).user_id;
      await addMembers(db, "p", [u], joined);
      await addMembers(db, "other", [u], joined);
      const ids = new TaskIds(Buffer.alloc(32, 7));
      const live = await ProjectQueue.load(project, db, new MemoryLeaseStore(), ids);
      const s = (await live.rater(u))!;
      // A wrong gold answer in p, then six judgments in the other project.
      const judged = [
        ["g0", "b"],
        ["x0", "a"],
        ["x1", "a"],
        ["x2", "a"],
        ["x3", "a"],
        ["x4", "a"],
        ["x5", "a"],
      ] as const;
      for (const [id, choice] of judged) {
        const r = await store.appendJudgments([{ ...cmp(id).comparison, rater_id: u, choice }]);
        expect(r.rows).toHaveLength(1);
        if (id === "g0") live.recordJudgment(s, id, choice);
      }
      const loaded = await ProjectQueue.load(project, db, new MemoryLeaseStore(), ids);
      const t = (await loaded.rater(u))!;
      const record = (x: typeof s) => ({
        goldSeen: x.goldSeen,
        goldCorrect: x.goldCorrect,
        judgedSince: x.judgedSince,
        goldPending: x.goldPending,
      });
      expect(record(s)).toMatchObject({ goldSeen: 0, judgedSince: 1 });
      expect(record(t)).toEqual(record(s));
    } finally {
      await store.close();
    }
  });
});
