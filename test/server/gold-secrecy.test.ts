/**
 * Gold items must be indistinguishable from ordinary ones to a rater, and a rater of one project
 * must reach nothing of another. These tests probe the ways a rater could tell a gold item
 * apart by what they can do themselves (let a reservation lapse, send made-up task ids), and
 * sweep every rater route with another project's ids.
 *
 * Which serve is gold is a keyed coin per rater and draw. Before 2026-12-07 the draw was
 * numbered by serves, not by outcomes: a rater who let a task's lease lapse (or sent a made-up
 * task id, which serves and releases a task) drew a new coin for the same place in their
 * stream. An ordinary task then came back with probability 1 − gold_rate and a gold one with
 * probability gold_rate, so lapsing a task and seeing whether it came back told gold apart.
 */
import { afterEach, describe, expect, it } from "vitest";
import { addItems, collectionDb } from "../../src/store/collection/index.js";
import { dialectFixtures } from "../helpers/stores.js";
import {
  answer,
  call,
  type Fixture,
  json,
  makeFixture,
  nextTask,
  onboard,
  type ProjectSpec,
  type TaskView,
} from "./helpers.js";

const d = dialectFixtures()[0]!;

describe("what a rater can learn about gold by their own actions", () => {
  let f: Fixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  async function setup(spec: ProjectSpec): Promise<Fixture> {
    f = await makeFixture(await d.open(), spec);
    await onboard(f, f.actors.rater);
    return f;
  }

  const isGold = (t: TaskView) => String(t.prompt).startsWith("Gold");
  const judge = (fx: Fixture, t: TaskView) =>
    call(fx, fx.actors.rater, "POST", `/api/tasks/${t.task_id}/judgment`, {
      body: { choice: answer(t) },
    });

  it("serves the same task again after its lease lapsed, gold or not", async () => {
    // Half the serves gold, and room for every rater: nothing but the coin decides.
    const fx = await setup({ tasks: 20, gold: 20, gold_rate: 0.5, overlap: 5, lease_seconds: 60 });
    const kinds = new Set<boolean>();
    for (let i = 0; i < 20; i++) {
      const t = (await nextTask(fx, fx.actors.rater))!;
      fx.advance(61_000);
      const again = (await nextTask(fx, fx.actors.rater))!;
      // Before: a new coin, so a different task about half the time (an ordinary one came
      // back with probability 1 − gold_rate, a gold one with probability gold_rate).
      expect(again.prompt).toEqual(t.prompt);
      expect(again.task_id).toBe(t.task_id);
      kinds.add(isGold(again));
      expect((await judge(fx, again)).statusCode).toBe(200);
    }
    expect(kinds).toEqual(new Set([true, false]));
  });

  it("does not draw again for made-up task ids sent while no task is held", async () => {
    const fx = await setup({ tasks: 20, gold: 20, gold_rate: 0.5, overlap: 5, lease_seconds: 60 });
    for (let i = 0; i < 12; i++) {
      const t = (await nextTask(fx, fx.actors.rater))!;
      fx.advance(61_000);
      // No lease behind these ids: each was tried as a task the rater might be owed (reclaim),
      // which served the rater's next task and released it, drawing the coin again.
      for (const c of "ABC") {
        const r = await call(fx, fx.actors.rater, "POST", `/api/tasks/${c.repeat(22)}/judgment`, {
          body: { choice: "left" },
        });
        expect(r.statusCode).toBe(404);
      }
      const again = (await nextTask(fx, fx.actors.rater))!;
      expect(again.prompt).toEqual(t.prompt);
      expect((await judge(fx, again)).statusCode).toBe(200);
    }
  });
});

describe("a rater of another project", () => {
  let f: Fixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  it("does not see it listed; staff see every project", async () => {
    f = await makeFixture(await d.open(), { tasks: 1, gold: 0 });
    const fx = f;
    const listed = async (who: keyof Fixture["actors"]) =>
      json<{ projects: { project_id: string }[] }>(
        await call(fx, fx.actors[who], "GET", "/api/projects"),
      ).projects.map((p) => p.project_id);
    // rater and rater2 belong to p1, outsider to p2 (docs/server.md: "raters: own projects").
    expect(await listed("rater")).toEqual(["p1"]);
    expect(await listed("outsider")).toEqual(["p2"]);
    expect((await listed("reviewer")).sort()).toEqual(["p1", "p2"]);
  });

  it("reaches nothing of it by its ids: answered as if it did not exist", async () => {
    f = await makeFixture(await d.open(), { tasks: 4, gold: 2 });
    const fx = f;
    await onboard(fx, fx.actors.rater);
    // outsider belongs to p2 only, with a task of its own there.
    await addItems(collectionDb(fx.store), "p2", [
      {
        comparison: { comparison_id: "p2-0", prompt: "p2", response_a: "x", response_b: "y" },
        kind: "task",
        batch: "b",
      },
    ]);
    const { rater, outsider } = fx.actors;
    await call(fx, outsider, "POST", "/api/projects/p2/guidelines/ack");
    const mine = (await nextTask(fx, rater))!;
    const body = (r: { body: string }) => r.body.replaceAll('\\"p1\\"', '\\"nope\\"');
    for (const [method, path, payload] of [
      ["GET", "", undefined],
      ["GET", "/me", undefined],
      ["GET", "/quiz", undefined],
      ["GET", "/progress/me", undefined],
      ["GET", "/judgments/me", undefined],
      ["POST", "/guidelines/ack", undefined],
      ["POST", "/tasks/next", undefined],
    ] as const) {
      const there = await call(fx, outsider, method, `/api/projects/p1${path}`, { body: payload });
      const nowhere = await call(fx, outsider, method, `/api/projects/nope${path}`, {
        body: payload,
      });
      expect(there.statusCode, `${method} ${path}`).toBe(404);
      expect(body(there), `${method} ${path}`).toBe(nowhere.body);
    }
    // Another rater's live task id, in p1: the same answer as an id that names nothing.
    for (const verb of ["judgment", "skip"]) {
      const payload = verb === "skip" ? { reason: "other" } : { choice: "left" };
      const theirs = await call(fx, outsider, "POST", `/api/tasks/${mine.task_id}/${verb}`, {
        body: payload,
      });
      const made = await call(fx, outsider, "POST", `/api/tasks/${"Q".repeat(22)}/${verb}`, {
        body: payload,
      });
      expect(theirs.statusCode).toBe(404);
      expect(theirs.body).toBe(made.body);
    }
    // The rater's task is still theirs, and the outsider's own project still works.
    expect((await nextTask(fx, rater))?.task_id).toBe(mine.task_id);
    const own = await call(fx, outsider, "POST", "/api/projects/p2/tasks/next");
    expect(json<{ task: TaskView }>(own).task.prompt).toBe("p2");
  });
});
