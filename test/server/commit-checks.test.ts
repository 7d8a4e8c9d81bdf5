/**
 * The checks a judgment passes again in the transaction that commits it (src/server/tasks/
 * admit.ts), on both dialects: a rater paused, excluded or disabled while their judgment waited
 * for its group commit is refused as a paused rater is (and so is a skip); two holders of a comparison whose
 * overlap was just lowered cannot both complete it; and the worker thread that appends for a
 * SQLite file runs the same checks.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Judgment } from "../../src/core/types.js";
import { admitJudgments } from "../../src/server/tasks/admit.js";
import { WorkerAppend } from "../../src/server/tasks/append.js";
import { addMembers, collectionDb, setMemberStatus } from "../../src/store/collection/index.js";
import { type FeedbackStore, openStore } from "../../src/store/store.js";
import { dialectFixtures, tempDir } from "../helpers/stores.js";
import { type Actor, call, type Fixture, json, makeFixture, nextTask, onboard } from "./helpers.js";

type Refused = { error: { code: string; message: string } };

/**
 * Holds every append until `open()`: a judgment that has passed the route's checks waits, as
 * it would behind a slow group commit, while the test changes what those checks saw.
 */
function holdAppends(store: FeedbackStore) {
  const original = store.appendJudgments.bind(store);
  let open!: () => void;
  const gate = new Promise<void>((r) => {
    open = r;
  });
  let arrived!: () => void;
  const waiting = new Promise<void>((r) => {
    arrived = r;
  });
  store.appendJudgments = async (...args) => {
    arrived();
    await gate;
    return original(...args);
  };
  return { waiting, open };
}

for (const d of dialectFixtures()) {
  describe(`checks at commit (${d.name})`, () => {
    let f: Fixture | undefined;
    afterEach(async () => {
      await f?.close();
      f = undefined;
    });

    async function setup(overlap: number): Promise<Fixture> {
      // In this thread: the test holds the store's appends (the worker is tested below).
      f = await makeFixture(
        await d.open(),
        { tasks: 3, gold: 0, overlap, lease_seconds: 3600 },
        { appendWorker: false },
      );
      await onboard(f, f.actors.rater);
      await onboard(f, f.actors.rater2);
      return f;
    }

    const judge = (fx: Fixture, who: Actor, taskId: string) =>
      call(fx, who, "POST", `/api/tasks/${taskId}/judgment`, { body: { choice: "left" } });

    it("refuses the judgment of a rater paused while it waited for its commit", async () => {
      const fx = await setup(1);
      const { rater, rater2, reviewer } = fx.actors;
      const t = (await nextTask(fx, rater))!;
      const held = holdAppends(fx.store);
      const pending = judge(fx, rater, t.task_id);
      await held.waiting;
      const paused = await call(
        fx,
        reviewer,
        "POST",
        `/api/projects/p1/members/${rater.user_id}/review`,
        {
          body: { action: "pause", reason: "checking" },
        },
      );
      expect(paused.statusCode, paused.body).toBe(200);
      held.open();
      const r = await pending;
      // Before, it was committed and answered 200: the pause stopped new work only.
      expect(r.statusCode, r.body).toBe(403);
      expect(json<Refused>(r).error).toMatchObject({
        code: "KEEL_E_FORBIDDEN",
        message: "your work on this project is paused pending review",
      });
      expect(await fx.store.countJudgments()).toBe(0);
      // The slot is free for the next rater, and the paused rater is told they are paused.
      expect((await nextTask(fx, rater2))?.prompt).toEqual(t.prompt);
      const again = await call(fx, rater, "POST", "/api/projects/p1/tasks/next");
      expect(again.statusCode).toBe(403);
    });

    it("refuses the skip of a rater another process paused, and records nothing", async () => {
      const fx = await setup(1);
      const { rater, rater2 } = fx.actors;
      const t = (await nextTask(fx, rater))!;
      // Paused through another server process, straight in the store: this one's copy of the
      // rater's state still says active, so the skip passes the route's checks.
      await setMemberStatus(
        collectionDb(fx.store),
        {
          project_id: "p1",
          user_id: rater.user_id,
          status: "paused",
          action: "pause",
          actor_id: null,
          reason: "elsewhere",
        },
        new Date(),
      );
      const r = await call(fx, rater, "POST", `/api/tasks/${t.task_id}/skip`, {
        body: { reason: "unclear" },
      });
      // Before, the skip was recorded and answered 200: the task was gone from the rater's
      // stream for good and counted as skipped in the reviewers' table.
      expect(r.statusCode, r.body).toBe(403);
      expect(json<Refused>(r).error).toMatchObject({
        code: "KEEL_E_FORBIDDEN",
        message: "your work on this project is paused pending review",
      });
      const skips = await collectionDb(fx.store)
        .selectFrom("skips")
        .select("comparison_id")
        .execute();
      expect(skips).toEqual([]);
      // The lease went with it: the slot is free for the next rater.
      expect((await nextTask(fx, rater2))?.prompt).toEqual(t.prompt);
      const again = await call(fx, rater, "POST", "/api/projects/p1/tasks/next");
      expect(again.statusCode).toBe(403);
    });

    it("refuses the judgment of a rater disabled or excluded while it waited", async () => {
      const fx = await setup(2);
      const { rater, rater2, admin } = fx.actors;
      const a = (await nextTask(fx, rater))!;
      const b = (await nextTask(fx, rater2))!;
      const held = holdAppends(fx.store);
      const pending = [judge(fx, rater, a.task_id), judge(fx, rater2, b.task_id)];
      await held.waiting;
      const disabled = await call(fx, admin, "PATCH", `/api/users/${rater.user_id}`, {
        body: { disabled: true },
      });
      expect(disabled.statusCode, disabled.body).toBe(200);
      // Excluded by another process, straight in the store.
      await setMemberStatus(
        collectionDb(fx.store),
        {
          project_id: "p1",
          user_id: rater2.user_id,
          status: "excluded",
          action: "exclude",
          actor_id: null,
          reason: "elsewhere",
        },
        new Date(),
      );
      held.open();
      for (const r of await Promise.all(pending)) {
        expect(r.statusCode, r.body).toBe(403);
        expect(json<Refused>(r).error.message).toBe(
          "you are no longer taking part in this project",
        );
      }
      expect(await fx.store.countJudgments()).toBe(0);
    });

    it("lets only one of two holders complete a comparison whose overlap was just lowered", async () => {
      const fx = await setup(2);
      const { rater, rater2, admin } = fx.actors;
      const a = (await nextTask(fx, rater))!;
      const b = (await nextTask(fx, rater2))!;
      expect(a.prompt).toEqual(b.prompt);
      const lowered = await call(fx, admin, "PATCH", "/api/projects/p1", { body: { overlap: 1 } });
      expect(lowered.statusCode, lowered.body).toBe(200);
      // Both pass the route's check (no judgment yet, one slot left); the commit takes one.
      const [x, y] = await Promise.all([judge(fx, rater, a.task_id), judge(fx, rater2, b.task_id)]);
      expect([x.statusCode, y.statusCode].sort()).toEqual([200, 409]);
      const loser = x.statusCode === 409 ? x : y;
      expect(json<Refused>(loser).error).toMatchObject({ code: "KEEL_E_CONFLICT" });
      expect(json<Refused>(loser).error.message).toContain("all the judgments it needs");
      expect(await fx.store.countJudgments()).toBe(1);
      // The loser is served another comparison.
      const who = x.statusCode === 409 ? rater : rater2;
      const next = await nextTask(fx, who);
      expect(next?.prompt).not.toEqual(a.prompt);
    });

    it("leaves a repeat by a rater who judged a full comparison to the duplicate check", async () => {
      // A retry on another replica reaches the commit: it must be answered "already judged"
      // (KEEL_E_DUPLICATE), not "the comparison has all its judgments" (docs/server.md).
      const fx = await setup(1);
      const { rater, rater2 } = fx.actors;
      const t = (await nextTask(fx, rater))!;
      expect((await judge(fx, rater, t.task_id)).statusCode).toBe(200);
      const stake = (user_id: string) => ({
        project_id: "p1",
        user_id,
        comparison_id: "t0",
        capped: true,
      });
      const refused = await admitJudgments(
        fx.store.db,
        [stake(rater.user_id), stake(rater2.user_id)],
        false,
      );
      expect([...refused]).toEqual([[1, "full"]]);
    });

    it("holds the overlap across separate commits too", async () => {
      const fx = await setup(2);
      await addMembers(collectionDb(fx.store), "p1", [fx.actors.outsider.user_id], new Date());
      await onboard(fx, fx.actors.outsider);
      const { rater, rater2, outsider, admin } = fx.actors;
      const a = (await nextTask(fx, rater))!;
      const b = (await nextTask(fx, rater2))!;
      await call(fx, admin, "PATCH", "/api/projects/p1", { body: { overlap: 1 } });
      const held = holdAppends(fx.store);
      const first = judge(fx, rater, a.task_id);
      await held.waiting;
      // The second arrives while the first waits: the route still sees a free slot.
      const submit = fx.ctx.committer.submit.bind(fx.ctx.committer);
      const queued = new Promise<void>((resolve) => {
        fx.ctx.committer.submit = (...args) => {
          const p = submit(...args);
          resolve();
          return p;
        };
      });
      const second = judge(fx, rater2, b.task_id);
      await queued;
      held.open();
      expect((await first).statusCode).toBe(200);
      expect((await second).statusCode).toBe(409);
      expect(await fx.store.countJudgments()).toBe(1);
      expect((await nextTask(fx, outsider))?.prompt).not.toEqual(a.prompt);
    });
  });
}

describe("checks at commit in the append worker (SQLite file)", () => {
  let store: FeedbackStore | undefined;
  let w: WorkerAppend | undefined;
  afterEach(async () => {
    await w?.close();
    await store?.close();
    w = undefined;
    store = undefined;
  });

  it("refuses a paused rater's judgment and a judgment past the overlap", async () => {
    const path = join(tempDir(), "worker.db");
    const fx = await makeFixture(
      await openStore(path, { create: true }),
      { tasks: 2, gold: 0, overlap: 1 },
      { appendWorker: false },
    );
    store = fx.store;
    await fx.app.close();
    const { rater, rater2, outsider } = fx.actors;
    await addMembers(collectionDb(fx.store), "p1", [outsider.user_id], new Date());
    await setMemberStatus(
      collectionDb(fx.store),
      {
        project_id: "p1",
        user_id: rater2.user_id,
        status: "paused",
        action: "pause",
        actor_id: null,
        reason: "checking",
      },
      new Date(),
    );
    w = await WorkerAppend.start(path);
    const j = (c: string, r: string): Judgment => ({
      comparison_id: c,
      prompt: `Task prompt ${c.slice(1)}`,
      response_a: `task A ${c.slice(1)}`,
      response_b: `task B ${c.slice(1)}`,
      rater_id: r,
      choice: "a",
    });
    const stake = (c: string, u: string) => ({
      project_id: "p1",
      user_id: u,
      comparison_id: c,
      capped: true,
    });
    const r = await w.append(
      [j("t0", rater.user_id), j("t1", rater2.user_id), j("t0", outsider.user_id)],
      [stake("t0", rater.user_id), stake("t1", rater2.user_id), stake("t0", outsider.user_id)],
    );
    expect(r.refused).toEqual([
      [1, "paused"],
      [2, "full"],
    ]);
    expect(r.rows).toHaveLength(1);
    expect(await fx.store.countJudgments()).toBe(1);
  });
});
