/**
 * Lifecycle of a served task while something changes: the project's overlap is lowered while
 * raters hold the comparison, and the server restarts (its leases lived in its memory) while a
 * rater is looking at one.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildApp } from "../../src/server/app.js";
import { collectionDb, judgmentsPerRater } from "../../src/store/collection/index.js";
import { openStore } from "../../src/store/store.js";
import { tempDir } from "../helpers/stores.js";
import {
  type Actor,
  CHEAP_SCRYPT,
  call,
  type Fixture,
  json,
  makeFixture,
  nextTask,
  onboard,
  type ProjectSpec,
  type TaskView,
} from "../server/helpers.js";

let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

async function fixture(spec: ProjectSpec): Promise<Fixture> {
  f = await makeFixture(
    await openStore(join(tempDir(), `s${Math.random()}.db`), { create: true }),
    { quiz: 0, gold: 0, ...spec },
  );
  await onboard(f, f.actors.rater);
  await onboard(f, f.actors.rater2);
  return f;
}

/** The same store under a new server process: what `keel serve` sees after a restart. */
async function restart(fx: Fixture): Promise<Fixture> {
  await fx.app.close();
  const { app, ctx } = await buildApp(fx.store, {
    logLevel: "silent",
    scrypt: CHEAP_SCRYPT,
    authCacheMs: 0,
    rateLimits: {
      ip: { rate: 0, burst: 1 },
      user: { rate: 0, burst: 1 },
      login: { rate: 0, burst: 1 },
    },
  });
  f = {
    ...fx,
    app,
    ctx,
    async close() {
      await app.close();
      await fx.store.close();
    },
  };
  return f;
}

const judge = (fx: Fixture, who: Actor, t: TaskView, choice = "left") =>
  call(fx, who, "POST", `/api/tasks/${t.task_id}/judgment`, { body: { choice } });

const judgmentsOf = (fx: Fixture, comparisonId: string) =>
  collectionDb(fx.store)
    .selectFrom("judgments")
    .select(["rater_id", "latency_ms"])
    .where("comparison_id", "=", comparisonId)
    .execute();

describe("the overlap lowered while raters hold a task", () => {
  it("takes no judgment past the new overlap, and serves the refused rater on", async () => {
    const fx = await fixture({ tasks: 3, overlap: 2 });
    const { rater, rater2, admin } = fx.actors;
    const a = (await nextTask(fx, rater))!;
    const b = (await nextTask(fx, rater2))!;
    expect(b.prompt).toEqual(a.prompt);
    const lowered = await call(fx, admin, "PATCH", "/api/projects/p1", { body: { overlap: 1 } });
    expect(lowered.statusCode, lowered.body).toBe(200);
    expect((await judge(fx, rater, a)).statusCode).toBe(200);
    // Before: accepted, a second judgment of a comparison whose overlap is 1.
    const late = await judge(fx, rater2, b);
    expect(late.statusCode, late.body).toBe(409);
    expect(json<{ error: { message: string } }>(late).error.message).toMatch(/overlap is now 1/);
    const counts = await judgmentsPerRater(collectionDb(fx.store), "p1");
    expect([...counts.values()].reduce((x, y) => x + y, 0)).toBe(1);
    // Its lease is gone: the next task is another comparison, not the refused one again.
    const next = await nextTask(fx, rater2);
    expect(next).not.toBeNull();
    expect(next!.prompt).not.toEqual(b.prompt);
    expect((await judge(fx, rater2, next!)).statusCode).toBe(200);
  });
});

describe("a restart while a rater looks at a task", () => {
  it("takes the judgment of the task the rater was served before it", async () => {
    let fx = await fixture({ tasks: 3, overlap: 1 });
    const { rater } = fx.actors;
    const t = (await nextTask(fx, rater))!;
    fx = await restart(fx);
    // Before: 404 "no task with this id is reserved for you", and the rater was then served
    // the same comparison again, to judge twice.
    const r = await judge(fx, rater, t, "right");
    expect(r.statusCode, r.body).toBe(200);
    const [j, ...more] = await judgmentsOf(fx, "t0");
    expect(more).toEqual([]);
    expect(j).toMatchObject({ rater_id: rater.user_id });
    // No serve time survived the restart: no latency rather than a made-up one.
    expect(j!.latency_ms).toBeNull();
    const next = (await nextTask(fx, rater))!;
    expect(next.prompt).not.toEqual(t.prompt);
    // A retry of the same judgment is a duplicate, as before a restart.
    expect((await judge(fx, rater, t, "right")).statusCode).toBe(409);
  });

  it("refuses a task that went to someone else meanwhile, and holds no slot for it", async () => {
    let fx = await fixture({ tasks: 2, overlap: 1 });
    const { rater, rater2 } = fx.actors;
    const t = (await nextTask(fx, rater))!;
    fx = await restart(fx);
    const taken = (await nextTask(fx, rater2))!;
    expect(taken.prompt).toEqual(t.prompt);
    expect((await judge(fx, rater, t)).statusCode).toBe(404);
    expect((await judge(fx, rater2, taken)).statusCode).toBe(200);
    // The lease that finding out took (the rater's next task) was given up at once.
    const other = (await nextTask(fx, rater2))!;
    expect(other).not.toBeNull();
    expect(other.prompt).not.toEqual(t.prompt);
  });

  it("refuses a rater who was paused meanwhile", async () => {
    let fx = await fixture({ tasks: 3, overlap: 1 });
    const { rater, reviewer } = fx.actors;
    const t = (await nextTask(fx, rater))!;
    fx = await restart(fx);
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
    // 403 with the paused message, as a paused rater gets anywhere (not a 404 for the lease
    // the pause released).
    const r = await judge(fx, rater, t);
    expect(r.statusCode, r.body).toBe(403);
    expect(r.body).toContain("paused pending review");
    expect(await judgmentsOf(fx, "t0")).toEqual([]);
  });
});
