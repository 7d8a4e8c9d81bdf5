/**
 * The numbers the admin API sends when an estimate is undefined: JSON has no NaN, and fastify's
 * serializer fails the whole request on one (500: the admin page then shows only "Refreshing
 * failed") and writes ±Infinity as null even where the schema says number. The live scores and
 * the audit's groups, triggers and promoted names send null for any non-finite figure, and the
 * schemas say so.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { AuditResult } from "../../src/defend/index.js";
import { autoPause } from "../../src/server/routes/tasks.js";
import { computeScores, type ScoredJudgment } from "../../src/server/scores/live.js";
import type { ItemInfo, Project } from "../../src/store/collection/index.js";
import { collectionDb } from "../../src/store/collection/index.js";
import { openStore } from "../../src/store/store.js";
import { tempDir } from "../helpers/stores.js";
import { answer, call, type Fixture, json, makeFixture, nextTask, onboard } from "./helpers.js";

let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

/** A fixture whose rater judged three comparisons, and its project's real audit. */
async function judged(): Promise<{ f: Fixture; real: AuditResult }> {
  const fx = await makeFixture(await openStore(join(tempDir(), "n.db"), { create: true }));
  f = fx;
  await onboard(fx, fx.actors.rater);
  for (let i = 0; i < 3; i++) {
    const t = await nextTask(fx, fx.actors.rater);
    const r = await call(fx, fx.actors.rater, "POST", `/api/tasks/${t!.task_id}/judgment`, {
      body: { choice: answer(t!) },
    });
    expect(r.statusCode).toBe(200);
  }
  const q = await fx.ctx.queues.get("p1");
  const real = await fx.ctx.scores.audit(q!, Date.now());
  expect(real).toBeDefined();
  return { f: fx, real: real! };
}

/** Makes the score board answer from `fake` instead of the project's own audit. */
function auditAs(fx: Fixture, fake: AuditResult): void {
  const board = fx.ctx.scores;
  const judgments = board.judgments.bind(board);
  board.audit = async () => fake;
  board.scores = async (q) =>
    computeScores(q.project, q.items, await judgments(q.project.project_id), new Map(), fake);
}

describe("the admin API's numbers", () => {
  it("sends null, not a failed request, for an audit's NaN or infinite rater scores", async () => {
    const { f: fx, real } = await judged();
    // Finite figures first, set here: the real audit's reliability of a rater none of whose three
    // judgments met gold or another rater is null (not measured), which depends on the draw.
    auditAs(fx, {
      ...real,
      raters: real.raters.map((r) => ({ ...r, reliability: 0.75, suspicion: 0.25 })),
    });
    const before = await call(fx, fx.actors.reviewer, "GET", "/api/projects/p1/raters");
    expect(before.statusCode).toBe(200);
    const rater = (b: typeof before) =>
      json<{ raters: { login: string; reliability: unknown; suspicion: unknown }[] }>(
        b,
      ).raters.find((r) => r.login === "rater")!;
    expect(rater(before).reliability).toBe(0.75);
    expect(rater(before).suspicion).toBe(0.25);

    auditAs(fx, {
      ...real,
      raters: real.raters.map((r) => ({ ...r, reliability: Number.NaN, suspicion: Infinity })),
    });
    const after = await call(fx, fx.actors.reviewer, "GET", "/api/projects/p1/raters");
    expect(after.statusCode, after.body).toBe(200);
    expect(rater(after).reliability).toBeNull();
    expect(rater(after).suspicion).toBeNull();
  });

  it("says which of the audit's detectors had evidence on each rater ([]: unchecked)", async () => {
    const { f: fx, real } = await judged();
    const rows = async () =>
      json<{ raters: { user_id: string; checked_by: unknown }[] }>(
        await call(fx, fx.actors.reviewer, "GET", "/api/projects/p1/raters"),
      ).raters.find((r) => r.user_id === fx.actors.rater.user_id)!;
    const own = real.raters.find((r) => r.rater_id === fx.actors.rater.user_id)!;
    expect((await rows()).checked_by).toEqual(own.checked_by);
    auditAs(fx, { ...real, raters: real.raters.map((r) => ({ ...r, checked_by: [] })) });
    expect((await rows()).checked_by).toEqual([]);
  });

  it("sends null for a group's, trigger's or promoted name's score that is not finite", async () => {
    const { f: fx, real } = await judged();
    const id = fx.actors.rater.user_id;
    auditAs(fx, {
      ...real,
      groups: [{ ...(real.groups[0] ?? {}), rater_ids: [id, id], score: Number.NaN, reason: "x" }],
      triggers: [{ ...(real.triggers[0] ?? {}), pattern: "cf", score: Infinity, support: 3 }],
      promotions: [
        {
          ...(real.promotions[0] ?? {}),
          pattern: "Acme",
          score: Number.NaN,
          support: 2,
          raters: 1,
        },
      ],
    } as AuditResult);
    const r = await call(fx, fx.actors.reviewer, "GET", "/api/projects/p1/groups");
    expect(r.statusCode, r.body).toBe(200);
    const g = json<{
      groups: { score: unknown }[];
      triggers: { score: unknown; support: number }[];
      promotions: { score: unknown; raters: number }[];
    }>(r);
    expect(g.groups.map((x) => x.score)).toEqual([null]);
    expect(g.triggers).toEqual([{ pattern: "cf", score: null, support: 3 }]);
    expect(g.promotions.map((x) => [x.score, x.raters])).toEqual([[null, 1]]);
  });
});

describe("the pause policy's reason", () => {
  it("never says a share is below an equal-looking threshold", () => {
    // 100 of 201 gold right: 49.75%, which whole percents would show as 50%, "below 50%".
    const items = new Map<string, ItemInfo>();
    const judgments: ScoredJudgment[] = [];
    for (let i = 0; i < 201; i++) {
      const id = `g${i}`;
      items.set(id, { comparison_id: id, kind: "task", batch: "b", position: i, gold: "a" });
      judgments.push({
        comparison_id: id,
        rater_id: "r",
        choice: i < 100 ? "a" : "b",
        shown_order: "ab",
        latency_ms: 1000,
        flags: null,
      });
    }
    const project = { overlap: 1, pause_gold_accuracy: 0.5, pause_min_gold: 3 } as Project;
    const [r] = computeScores(project, items, judgments, new Map()).raters;
    expect(r!.verdict).toBe("suspect");
    expect(r!.gold_accuracy).toBeCloseTo(100 / 201, 12);
    expect(r!.reasons).toEqual(["gold accuracy 100/201 = 49.8% is below 50.0%"]);
  });
});

describe("the automatic pause's reason", () => {
  it("has decimals enough to differ from the threshold (100/201 under 0.5)", async () => {
    // Whole percents wrote "= 50% is below the project's 50%".
    const fx = await makeFixture(await openStore(join(tempDir(), "p.db"), { create: true }), {
      pause_gold_accuracy: 0.5,
      pause_min_gold: 3,
    });
    f = fx;
    await onboard(fx, fx.actors.rater);
    const q = (await fx.ctx.queues.get("p1"))!;
    const s = (await q.rater(fx.actors.rater.user_id))!;
    s.goldSeen = 201;
    s.goldCorrect = 100;
    await autoPause(fx.ctx, q, s);
    const m = await collectionDb(fx.store)
      .selectFrom("project_members")
      .select(["status", "status_reason"])
      .where("user_id", "=", fx.actors.rater.user_id)
      .where("project_id", "=", "p1")
      .executeTakeFirstOrThrow();
    expect(m).toEqual({
      status: "paused",
      status_reason: "gold accuracy 100/201 = 49.8% is below 50.0%",
    });
  });
});
