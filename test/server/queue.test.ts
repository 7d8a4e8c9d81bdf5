/**
 * The task queue under a burst: raters answered by one commit all ask for their next task at
 * once. Their text-cache misses share one fetch (queries counted by a Kysely plugin watching
 * the real SQLite store), and their serves do not race for the same free slot (HMACs counted
 * by a TaskIds that counts) — while the overlap still holds.
 */
import type { KyselyPlugin } from "kysely";
import { describe, expect, it } from "vitest";
import type { ShownOrder } from "../../src/core/types.js";
import { RedisLeaseStore } from "../../src/server/redis/index.js";
import { type Lease, type LeaseStore, MemoryLeaseStore } from "../../src/server/tasks/leases.js";
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
import { connect } from "../scale/helpers.js";
import { freshRedisKeys, leaseStoreKinds } from "./lease-kinds.js";

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

interface QueueSpec {
  readonly tasks?: number;
  readonly gold?: number;
  readonly overlap?: number;
  readonly gold_rate?: number;
  readonly leases?: LeaseStore;
}

/** `tasks` ordinary items c0.., `gold` gold items g0.. (answer "a"), and `raters` members. */
async function setup(raters: number, spec: QueueSpec = {}) {
  const store = await openStore(`${tempDir()}/q.db`, { create: true });
  const db = collectionDb(store);
  const now = new Date();
  const project = await createProject(
    db,
    { project_id: "p", name: "p", overlap: spec.overlap ?? 3, gold_rate: spec.gold_rate ?? 0 },
    now,
  );
  const item = (id: string, k: number, gold?: "a") => ({
    comparison: {
      comparison_id: id,
      prompt: `prompt ${k}`,
      response_a: `a ${k}`,
      response_b: `b ${k}`,
      ...(gold ? { gold } : {}),
    },
    kind: "task" as const,
    batch: "b",
  });
  await addItems(db, "p", [
    ...Array.from({ length: spec.tasks ?? 400 }, (_, k) => item(`c${k}`, k)),
    ...Array.from({ length: spec.gold ?? 0 }, (_, k) => item(`g${k}`, k, "a")),
  ]);
  const users: string[] = [];
  for (let r = 0; r < raters; r++)
    users.push((await createUser(db, { login: `r${r}`, role: "rater" }, now)).user_id);
  await addMembers(db, "p", users, now);
  const c = counting();
  const ids = new CountingIds(Buffer.alloc(32, 7));
  const leases = spec.leases ?? new MemoryLeaseStore();
  const q = await ProjectQueue.load(project, db.withPlugin(c.plugin) as CollectionDb, leases, ids);
  return { store, db, project, q, c, ids, users, leases };
}

/**
 * Serves `user` task after task, each judged as the judgment route records it, until nothing is
 * left or `max` were served; the comparisons served, in order.
 */
async function serveAll(
  q: ProjectQueue,
  leases: LeaseStore,
  user: string,
  nowMs: number,
  max = 1000,
) {
  const s = (await q.rater(user))!;
  const served: string[] = [];
  while (served.length < max) {
    const l = await q.next(user, s, nowMs);
    if (!l) break;
    served.push(l.comparisonId);
    await q.judgedBy(s, l.comparisonId);
    await leases.finish(l.taskId, nowMs);
  }
  return served;
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

describe("a complete item", () => {
  it("is counted complete, and its texts are read back after they left the cache", async () => {
    const { store, q, leases, users } = await setup(2, { tasks: 3, overlap: 2 });
    try {
      const now = Date.now();
      expect((await q.textsOf("c0")).prompt).toBe("prompt 0");
      expect(await serveAll(q, leases, users[0]!, now, 1)).toEqual(["c0"]);
      expect(q.completeCount()).toBe(0);
      expect(await serveAll(q, leases, users[1]!, now, 1)).toEqual(["c0"]);
      expect(q.completeCount()).toBe(1);
      // A late submission of c0 reads its texts again.
      expect((await q.textsOf("c0")).response_b).toBe("b 0");
    } finally {
      await store.close();
    }
  });
});

describe("two processes sharing a Redis lease store", () => {
  it("each take in the other's judgments, when serving and for the progress view", async () => {
    const keys = freshRedisKeys();
    const a = new RedisLeaseStore(await connect(keys));
    const b = new RedisLeaseStore(await connect(keys));
    const { store, db, project, q, ids, users } = await setup(2, {
      tasks: 3,
      overlap: 1,
      leases: a,
    });
    try {
      const now = Date.now();
      const qb = await ProjectQueue.load(project, db, b, ids);
      const qc = await ProjectQueue.load(project, db, b, ids);
      // r0 judges c0 and c1 through process A.
      expect(await serveAll(q, a, users[0]!, now, 2)).toEqual(["c0", "c1"]);
      expect([qb.completeCount(), qc.completeCount()]).toEqual([0, 0]);
      // B, serving r1, learns the counts of the items it asked about.
      expect((await qb.next(users[1]!, (await qb.rater(users[1]!))!, now))?.comparisonId).toBe(
        "c2",
      );
      expect(qb.completeCount()).toBe(2);
      // C serves nobody; the progress view brings its counts up to date.
      await qc.refreshJudged();
      expect(qc.completeCount()).toBe(2);
    } finally {
      await a.close();
      await b.close();
      await store.close();
    }
  });
});

describe("the gold items a rater is served", () => {
  it("come in an order of each rater's own, not the list's", async () => {
    const { store, q, leases, users } = await setup(2, {
      tasks: 40,
      gold: 8,
      overlap: 2,
      gold_rate: 0.9,
    });
    try {
      const now = Date.now();
      const golds = [];
      for (const u of users)
        golds.push((await serveAll(q, leases, u, now)).filter((id) => id.startsWith("g")));
      const listOrder = Array.from({ length: 8 }, (_, k) => `g${k}`);
      for (const g of golds) {
        expect([...g].sort()).toEqual(listOrder);
        expect(g).not.toEqual(listOrder);
      }
      // The same order for everyone would let raters who compare notes tell gold apart.
      expect(golds[0]).not.toEqual(golds[1]);
    } finally {
      await store.close();
    }
  });

  it("include a gold item added after the rater was first served gold", async () => {
    const { store, q, leases, users } = await setup(1, { tasks: 40, gold: 1, gold_rate: 0.9 });
    try {
      const now = Date.now();
      const u = users[0]!;
      expect(await serveAll(q, leases, u, now, 10)).toContain("g0");
      q.addItem({ comparison_id: "g-late", kind: "task", batch: "b", position: 999, gold: "a" });
      expect(await serveAll(q, leases, u, now, 10)).toContain("g-late");
    } finally {
      await store.close();
    }
  });
});

for (const kind of leaseStoreKinds) {
  describe(`the overlap over a ${kind.name} lease store`, () => {
    it("does not hold gold items to it: every rater is served each one", async () => {
      const leases = await kind.open();
      const { store, q, users } = await setup(3, {
        tasks: 60,
        gold: 2,
        overlap: 1,
        gold_rate: 0.9,
        leases,
      });
      try {
        const now = Date.now();
        for (const u of users) {
          // Ten serves each leave ordinary tasks for the next rater (no gold without them).
          const served = await serveAll(q, leases, u, now, 10);
          const gold = served.filter((id) => id.startsWith("g"));
          expect(gold.sort()).toEqual(["g0", "g1"]);
        }
      } finally {
        await leases.close();
        await store.close();
      }
    });

    it("serves a rater past a long run of items all held by others", async () => {
      const leases = await kind.open();
      // More held items than a shared store is asked about in one round trip.
      const { store, q, users } = await setup(66, { tasks: 70, overlap: 1, leases });
      try {
        const now = Date.now();
        const served = [];
        for (const u of users)
          served.push((await q.next(u, (await q.rater(u))!, now))?.comparisonId);
        expect(served).toEqual(Array.from({ length: 66 }, (_, k) => `c${k}`));
      } finally {
        await leases.close();
        await store.close();
      }
    });

    it("renews a lapsed lease while the comparison has room: by the overlap for a task, always for gold", async () => {
      const leases = await kind.open();
      const { store, q, users } = await setup(3, { tasks: 2, gold: 1, overlap: 2, leases });
      try {
        const [r0, r1, r2] = users as [string, string, string];
        const t0 = Date.now();
        const lease = (user: string, comparisonId: string, at: number): Lease => ({
          ...q.ids.derive("p", user, comparisonId),
          projectId: "p",
          comparisonId,
          userId: user,
          issuedAt: at,
          expiresAt: at + q.project.lease_seconds * 1000,
        });
        // r0 judged c0: one of its two slots is taken for good.
        const s0 = (await q.rater(r0))!;
        expect(await leases.acquire(lease(r0, "c0", t0), 2, t0)).toBeDefined();
        await q.judgedBy(s0, "c0");
        await leases.finish(lease(r0, "c0", t0).taskId, t0);
        // r1's lease on c0 lapsed unused; r1 submits late, and c0 still has a slot.
        const late = t0 + q.project.lease_seconds * 1000 + 1;
        expect(await leases.acquire(lease(r1, "c0", t0), 2, t0)).toBeDefined();
        const renewed = await q.renew(lease(r1, "c0", t0), late);
        expect(renewed?.expiresAt).toBe(late + q.project.lease_seconds * 1000);
        // Now r2 is served c0 while r1's renewed lease is live: no slot is left for r2.
        expect(await q.renew(lease(r2, "c0", late), late)).toBeUndefined();
        // Gold has no overlap: r0 and r2 hold g0, and r1's lapsed lease on it is renewed too.
        for (const u of [r0, r2]) expect(await q.renew(lease(u, "g0", late), late)).toBeDefined();
        expect(await q.renew(lease(r1, "g0", t0), late)).toBeDefined();
      } finally {
        await leases.close();
        await store.close();
      }
    });
  });
}

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
