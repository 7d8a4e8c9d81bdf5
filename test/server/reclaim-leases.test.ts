/**
 * A task id the server has no lease for is tried as the rater's next task (see
 * src/server/tasks/reclaim.ts). Asking must cost no lease: before, each such id made the server
 * take a lease on the rater's next task in every project they were ready in and drop it at
 * once, so a rater (or a stolen session) sending made-up ids had the server take and drop
 * leases per request, holding a slot for a moment each time. Counted here through a wrapper
 * around the lease store, on every lease store (in memory; Redis) and both dialects; and the id
 * that is the rater's next task is still served again, with one lease taken. When another rater
 * takes its slot between the peek and the take (a race forced through a wrapper), the lease
 * taken instead is released, so the id still holds nothing; nor does a paused rater's.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RedisLeaseStore } from "../../src/server/redis/index.js";
import type { Lease, LeaseStore } from "../../src/server/tasks/leases.js";
import { addItems, addMembers, collectionDb } from "../../src/store/collection/index.js";
import { openStore } from "../../src/store/store.js";
import { dialectFixtures, tempDir } from "../helpers/stores.js";
import { connect } from "../scale/helpers.js";
import {
  type Actor,
  call,
  type Fixture,
  items,
  json,
  makeFixture,
  nextTask,
  onboard,
} from "./helpers.js";
import { freshRedisKeys, leaseStoreKinds } from "./lease-kinds.js";

/** What the server asked of the lease store that takes, ends or drops a lease. */
interface Counts {
  /** Calls of `acquire` and `acquireFirst`, whether or not they took a lease. */
  tries: number;
  /** Of those, the ones that took a lease. */
  taken: number;
  /** Calls of `release`, `lapse` and `finish`. */
  ended: number;
}

const TRIES = new Set(["acquire", "acquireFirst"]);
const ENDS = new Set(["release", "lapse", "finish"]);

/** The store as it is (the shared capability included), its lease-changing calls counted. */
function counted(store: LeaseStore): { store: LeaseStore; counts: Counts } {
  const counts: Counts = { tries: 0, taken: 0, ended: 0 };
  const wrapped = new Proxy(store, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver);
      if (typeof v !== "function" || typeof key !== "string") return v;
      if (!TRIES.has(key) && !ENDS.has(key)) return v.bind(target);
      return async (...args: unknown[]) => {
        if (ENDS.has(key)) counts.ended++;
        else counts.tries++;
        const out = await v.apply(target, args);
        if (key === "acquire" && out !== undefined) counts.taken++;
        if (key === "acquireFirst" && (out as { lease?: unknown }).lease !== undefined)
          counts.taken++;
        return out;
      };
    },
  });
  return { store: wrapped, counts };
}

/** N well-formed task ids (22 base64url characters) that name nothing, seeded. */
function madeUpIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) =>
    createHash("sha256").update(`made-up ${i}`).digest("base64url").slice(0, 22),
  );
}

for (const d of dialectFixtures()) {
  for (const ls of leaseStoreKinds) {
    describe(`task ids with no lease behind them (${d.name}, ${ls.name} leases)`, () => {
      let f: Fixture | undefined;
      afterEach(async () => {
        await f?.close();
        f = undefined;
      });

      /** p1 with gold; the rater is ready in p1 and in p2 (tasks of its own there). */
      async function setup(): Promise<{ fx: Fixture; counts: Counts }> {
        const { store, counts } = counted(await ls.open());
        const fx = await makeFixture(
          await d.open(),
          { tasks: 6, gold: 6, gold_rate: 0.5, overlap: 2, lease_seconds: 60 },
          { leases: store },
        );
        f = fx;
        const db = collectionDb(fx.store);
        await addMembers(db, "p2", [fx.actors.rater.user_id], new Date());
        const p2 = items({ tasks: 3, gold: 0 }).map((it) => ({
          ...it,
          comparison: { ...it.comparison, comparison_id: `p2-${it.comparison.comparison_id}` },
        }));
        await addItems(db, "p2", p2);
        await onboard(fx, fx.actors.rater);
        const ack = await call(fx, fx.actors.rater, "POST", "/api/projects/p2/guidelines/ack");
        expect(ack.statusCode, ack.body).toBe(200);
        return { fx, counts };
      }

      /** Judges and skips each id; every answer must be the 404 for an id that names nothing. */
      async function sendAll(fx: Fixture, who: Actor, ids: readonly string[]): Promise<void> {
        for (const id of ids) {
          for (const [path, body] of [
            ["judgment", { choice: "left" }],
            ["skip", { reason: "unclear" }],
          ] as const) {
            const r = await call(fx, who, "POST", `/api/tasks/${id}/${path}`, { body });
            expect(r.statusCode, r.body).toBe(404);
            expect(json<{ error: { message: string } }>(r).error.message).toMatch(
              /no task with this id is reserved for you$/,
            );
          }
        }
      }

      it("takes and drops no lease for made-up task ids", async () => {
        const { fx, counts } = await setup();
        const { rater } = fx.actors;
        // Never served: the rater is owed nothing, in either project.
        await sendAll(fx, rater, madeUpIds(12));
        // Before: a lease taken and dropped per id and project (48 of each here).
        expect(counts).toEqual({ tries: 0, taken: 0, ended: 0 });
        // Served, then let lapse: the same again, and the task is still theirs to be served.
        const t = (await nextTask(fx, rater))!;
        fx.advance(61_000);
        const before = { ...counts };
        await sendAll(fx, rater, madeUpIds(12));
        expect(counts).toEqual(before);
        const again = (await nextTask(fx, rater))!;
        expect(again.task_id).toBe(t.task_id);
      });

      it("serves again the rater's next task whose lease is gone, taking one lease", async () => {
        const { fx, counts } = await setup();
        const { rater } = fx.actors;
        for (let i = 0; i < 4; i++) {
          const t = (await nextTask(fx, rater))!;
          // What a restart of a server keeping its leases in memory leaves, or a lapsed lease
          // forgotten after its grace period.
          await fx.ctx.leases.release(t.task_id);
          const before = { ...counts };
          const r = await call(fx, rater, "POST", `/api/tasks/${t.task_id}/judgment`, {
            body: { choice: "left" },
          });
          expect(r.statusCode, r.body).toBe(200);
          expect(counts.taken - before.taken).toBe(1);
          // Ended once: the judged task's lease, finished. Nothing taken was dropped.
          expect(counts.ended - before.ended).toBe(1);
          // Not served again: the next task is another comparison.
          const next = (await nextTask(fx, rater))!;
          expect(next.task_id).not.toBe(t.task_id);
          await fx.ctx.leases.release(next.task_id);
        }
      });
    });
  }
}

/**
 * The store as it is, except that the first time the armed rater tries to take a lease, the
 * rival takes that comparison's last slot just before: the race between reclaim's `peek` and
 * its `next`, forced rather than hoped for.
 */
function racing(store: LeaseStore) {
  let armed: { userId: string; rival: (l: Lease) => Lease } | undefined;
  const wrapped = new Proxy(store, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver);
      if (typeof v !== "function" || typeof key !== "string") return v;
      if (key !== "acquire" && key !== "acquireFirst") return v.bind(target);
      return async (...args: unknown[]) => {
        const first = (key === "acquire" ? args[0] : (args[0] as Lease[])[0]) as Lease;
        if (armed && first.userId === armed.userId) {
          const rival = armed.rival(first);
          armed = undefined;
          expect(await target.acquire(rival, args[1] as number, args[2] as number)).toBeDefined();
        }
        return v.apply(target, args);
      };
    },
  });
  return {
    store: wrapped,
    arm: (userId: string, rival: (l: Lease) => Lease) => (armed = { userId, rival }),
  };
}

for (const ls of leaseStoreKinds) {
  describe(`a task id reclaimed as another rater takes its slot (${ls.name} leases)`, () => {
    let f: Fixture | undefined;
    afterEach(async () => {
      await f?.close();
      f = undefined;
    });

    it("releases the other task `next` took instead, and takes none for a paused rater", async () => {
      const race = racing(await ls.open());
      const store = await openStore(join(tempDir(), "race.db"), { create: true });
      const fx = await makeFixture(
        store,
        { tasks: 3, gold: 0, gold_rate: 0, overlap: 1 },
        { leases: race.store },
      );
      f = fx;
      const { rater, rater2 } = fx.actors;
      await onboard(fx, rater);
      const t = (await nextTask(fx, rater))!;
      // Gone, as after a restart: the id is tried as the rater's next task, and `peek` says it
      // is. Between `peek` and `next`, rater2 takes the comparison's only slot, so `next` takes
      // the following comparison instead.
      await fx.ctx.leases.release(t.task_id);
      race.arm(rater.user_id, (l) => ({
        ...l,
        userId: rater2.user_id,
        ...fx.ctx.ids.derive("p1", rater2.user_id, l.comparisonId),
      }));
      const r = await call(fx, rater, "POST", `/api/tasks/${t.task_id}/judgment`, {
        body: { choice: "left" },
      });
      expect(r.statusCode, r.body).toBe(404);
      const now = fx.ctx.now().getTime();
      expect(await fx.ctx.leases.heldBy("p1", rater.user_id, now)).toEqual([]);
      expect(await fx.ctx.leases.liveCount("p1", "t1", now)).toBe(0);
      expect((await fx.ctx.leases.heldBy("p1", rater2.user_id, now)).length).toBe(1);

      // Paused, the rater is owed no task: the id of the one they would be served next (t1,
      // rater2 holding t0) is refused, and no lease is taken for it meanwhile.
      const paused = await call(
        fx,
        fx.actors.reviewer,
        "POST",
        `/api/projects/p1/members/${rater.user_id}/review`,
        { body: { action: "pause", reason: "a look at their work" } },
      );
      expect(paused.statusCode, paused.body).toBe(200);
      const owed = fx.ctx.ids.taskId("p1", rater.user_id, "t1");
      const refused = await call(fx, rater, "POST", `/api/tasks/${owed}/judgment`, {
        body: { choice: "left" },
      });
      expect(refused.statusCode, refused.body).toBe(403);
      expect(await fx.ctx.leases.liveCount("p1", "t1", now)).toBe(0);
    });
  });
}

/** The read-only twin of `acquireFirst` that a peek uses over Redis. */
describe("RedisLeaseStore.firstOpen", () => {
  const T0 = 1_700_000_000_000;
  const lease = (task: string, cmp: string, user: string, at = T0): Lease => ({
    taskId: task,
    projectId: "p",
    comparisonId: cmp,
    userId: user,
    shownOrder: "ab",
    issuedAt: at,
    expiresAt: at + 60_000,
  });

  it("names the candidate acquireFirst takes, and writes nothing", async () => {
    const own = freshRedisKeys();
    const r = await connect(own);
    const s = new RedisLeaseStore(r);
    try {
      const mine = ["c0", "c1", "c2", "c3"].map((c) => lease(`u9-${c}`, c, "u9"));
      // Unseeded: nothing named, as nothing would be taken.
      expect(await s.firstOpen(mine, 2, T0)).toEqual({
        lease: undefined,
        judged: [],
        unseeded: true,
      });
      await s.seedJudgments("p", new Map([["c1", 1]]));
      // c0 full of live leases; c1 full with a judgment and a live lease; c2 has an expired
      // lease only (an entry `acquireFirst` would drop); c3 is free.
      await s.acquire(lease("u1-c0", "c0", "u1"), 2, T0);
      await s.acquire(lease("u2-c0", "c0", "u2"), 2, T0);
      await s.acquire(lease("u3-c1", "c1", "u3"), 2, T0);
      await s.acquire(lease("u4-c2", "c2", "u4", T0 - 120_000), 2, T0 - 120_000);
      const t = T0 + 1000;
      const dump = async () => {
        const keys = (await r.redis.keys(`${own}*`)).sort();
        return Promise.all(keys.map(async (k) => [k, await r.redis.dump(k)]));
      };
      const before = await dump();
      const open = await s.firstOpen(mine, 2, t);
      expect(open).toEqual({ lease: mine[2], judged: [0, 1, 0, 0] });
      expect(await dump()).toEqual(before);
      expect(await s.heldBy("p", "u9", t)).toEqual([]);
      expect(await s.acquireFirst(mine, 2, t)).toEqual(open);
      // Gold (no limit): a finished lease is never named, as it is never taken again.
      await s.finish("u9-c2", t);
      const gold = ["c2", "c4"].map((c) => lease(`u9-${c}`, c, "u9"));
      expect((await s.firstOpen(gold, Infinity, t)).lease).toEqual(gold[1]);
    } finally {
      await s.close();
    }
  });
});
