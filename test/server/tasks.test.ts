/**
 * The task flow on both dialects, against a real database: overlap, leases that expire,
 * per-rater A/B order recorded in the ledger, gold mixed in and indistinguishable, no double
 * submission, skips, the quiz, auto-pause and the review queue, live scores, export.
 */
import { afterEach, describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { Rng } from "../../src/core/rng.js";
import { autoPause } from "../../src/server/routes/tasks.js";
import { pauseExcluded } from "../../src/server/scores/pause.js";
import { MemoryLeaseStore } from "../../src/server/tasks/leases.js";
import { GOLD_COUNT_DELAY_MAX } from "../../src/server/tasks/queue.js";
import { SYNC_MS } from "../../src/server/tasks/registry.js";
import {
  addItems,
  addMembers,
  collectionDb,
  createApiToken,
  createUser,
  judgmentsPerRater,
  setMemberStatus,
} from "../../src/store/collection/index.js";
import { dialectFixtures } from "../helpers/stores.js";
import {
  type Actor,
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

type Judged = {
  receipt: { seq: number };
  status: string;
  progress: { judged: number; skipped: number; total: number };
  next?: TaskView | null;
};

for (const d of dialectFixtures()) {
  describe(`task flow (${d.name})`, () => {
    let f: Fixture | undefined;
    afterEach(async () => {
      await f?.close();
      f = undefined;
    });

    async function setup(spec: ProjectSpec): Promise<Fixture> {
      f = await makeFixture(await d.open(), spec);
      await onboard(f, f.actors.rater);
      await onboard(f, f.actors.rater2);
      return f;
    }

    async function judge(
      fx: Fixture,
      who: keyof Fixture["actors"],
      t: TaskView,
      choice = "left",
      extra: Record<string, unknown> = {},
    ) {
      return call(fx, fx.actors[who], "POST", `/api/tasks/${t.task_id}/judgment`, {
        body: { choice, ...extra },
      });
    }

    async function judgeAll(
      fx: Fixture,
      who: "rater" | "rater2" | "outsider",
      choose: (t: TaskView) => string = () => "left",
      think = false,
    ) {
      const seen: TaskView[] = [];
      for (let t = await nextTask(fx, fx.actors[who]); t; ) {
        seen.push(t);
        // A human's reading time, varied (the audit's speed detector flags instant answers).
        if (think) fx.advance(6000 + ((seen.length * 7919) % 17_000));
        const r = await judge(fx, who, t, choose(t), { next: true });
        expect(r.statusCode, r.body).toBe(200);
        t = json<Judged>(r).next ?? null;
      }
      return seen;
    }

    it("serves each comparison to `overlap` raters and no more, and records every judgment", async () => {
      const fx = await setup({ tasks: 5, gold: 0, overlap: 2 });
      await addMembers(collectionDb(fx.store), "p1", [fx.actors.outsider.user_id], new Date());
      await onboard(fx, fx.actors.outsider);
      expect(await judgeAll(fx, "rater")).toHaveLength(5);
      expect(await judgeAll(fx, "rater2")).toHaveLength(5);
      expect(await nextTask(fx, fx.actors.outsider)).toBeNull();
      const per = new Map<string, number>();
      for await (const j of fx.store.judgments())
        per.set(j.comparison_id, (per.get(j.comparison_id) ?? 0) + 1);
      expect([...per.values()]).toEqual([2, 2, 2, 2, 2]);
      expect((await fx.store.verifyLedger()).ok).toBe(true);
    });

    it("serves items and settings another process wrote, within SYNC_MS", async () => {
      const fx = await setup({ tasks: 2, gold: 0, overlap: 1 });
      expect(await judgeAll(fx, "rater")).toHaveLength(2);
      expect(await nextTask(fx, fx.actors.rater)).toBeNull();
      // What keel project add (or another keel serve on this store) does: rows, no message.
      const db = collectionDb(fx.store);
      const more = [2, 3].map((i) => ({
        comparison: {
          comparison_id: `late-${i}`,
          prompt: `Late prompt ${i}`,
          response_a: `late A ${i}`,
          response_b: `late B ${i}`,
        },
        kind: "task" as const,
        batch: "late",
      }));
      await addItems(db, "p1", more);
      await db.updateTable("projects").set({ overlap: 2 }).where("project_id", "=", "p1").execute();
      // Before the interval the queue is as it was; after it, the new items and overlap 2 show.
      expect(await nextTask(fx, fx.actors.rater)).toBeNull();
      fx.advance(SYNC_MS);
      const pr = json<{ tasks: number; needed: number }>(
        await call(fx, fx.actors.reviewer, "GET", "/api/projects/p1/progress"),
      );
      expect(pr).toMatchObject({ tasks: 4, needed: 8 });
      // Staff see the full settings (they were cut to id, name and guidelines before).
      const view = json<{ settings: { overlap: number; lease_seconds: number } }>(
        await call(fx, fx.actors.reviewer, "GET", "/api/projects/p1"),
      );
      expect(view.settings.overlap).toBe(2);
      expect(view.settings.lease_seconds).toBeGreaterThan(0);
      const served = await judgeAll(fx, "rater");
      expect(served.map((t) => t.prompt)).toEqual(["Late prompt 2", "Late prompt 3"]);
      // Overlap 2 reopens the first two tasks for a second rater.
      expect(await judgeAll(fx, "rater2")).toHaveLength(4);
    });

    it("reopens complete items to raters who had passed them when the overlap is raised", async () => {
      const fx = await setup({ tasks: 3, gold: 0, overlap: 1 });
      const first = await nextTask(fx, fx.actors.rater);
      expect((await judge(fx, "rater", first!)).statusCode).toBe(200);
      // rater2 is served past the complete item: their place in the list is beyond it.
      const t = await nextTask(fx, fx.actors.rater2);
      expect(t?.prompt).not.toEqual(first?.prompt);
      const raised = await call(fx, fx.actors.admin, "PATCH", "/api/projects/p1", {
        body: { overlap: 2 },
      });
      expect(raised.statusCode, raised.body).toBe(200);
      const rest = [t!];
      let next = json<Judged>(await judge(fx, "rater2", t!, "left", { next: true })).next;
      for (
        ;
        next;
        next = json<Judged>(await judge(fx, "rater2", next, "left", { next: true })).next
      )
        rest.push(next);
      expect(rest.map((x) => x.prompt).sort()).toEqual([
        "Task prompt 0",
        "Task prompt 1",
        "Task prompt 2",
      ]);
    });

    it("holds a reservation until its lease expires, then lets it go", async () => {
      const fx = await setup({ tasks: 2, gold: 0, overlap: 1, lease_seconds: 60 });
      await addMembers(collectionDb(fx.store), "p1", [fx.actors.outsider.user_id], new Date());
      await onboard(fx, fx.actors.outsider);
      const a = await nextTask(fx, fx.actors.rater);
      const again = await nextTask(fx, fx.actors.rater);
      expect(again?.task_id).toBe(a?.task_id);
      const b = await nextTask(fx, fx.actors.rater2);
      expect(b?.prompt).not.toEqual(a?.prompt);
      expect(await nextTask(fx, fx.actors.outsider)).toBeNull();
      fx.advance(61_000);
      const c = await nextTask(fx, fx.actors.outsider);
      expect(c?.prompt).toEqual(a?.prompt);
      // The rater whose lease lapsed and was taken over is refused; the other may still submit.
      const late = await judge(fx, "rater", a!);
      expect(late.statusCode).toBe(409);
      expect(json<{ error: { code: string } }>(late).error.code).toBe("KEEL_E_CONFLICT");
      expect((await judge(fx, "rater2", b!)).statusCode).toBe(200);
    });

    it("extends a lease about to lapse before committing its judgment", async () => {
      // A lease that ran out while its judgment was being committed freed the slot for another
      // rater: one judgment past the overlap. The real store, with its acquisitions recorded.
      const renewals: number[] = [];
      class Recording extends MemoryLeaseStore {
        override async acquire(...a: Parameters<MemoryLeaseStore["acquire"]>) {
          renewals.push(a[0].expiresAt - a[2]);
          return super.acquire(...a);
        }
      }
      f = await makeFixture(
        await d.open(),
        { tasks: 2, gold: 0, overlap: 1, lease_seconds: 60 },
        { leases: new Recording() },
      );
      await onboard(f, f.actors.rater);
      const t = await nextTask(f, f.actors.rater);
      const u = await nextTask(f, f.actors.rater);
      expect(u?.task_id).toBe(t?.task_id);
      // Well before the end of the lease: committed as it is.
      renewals.length = 0;
      f.advance(20_000);
      expect((await judge(f, "rater", t!)).statusCode).toBe(200);
      expect(renewals).toEqual([]);
      const t2 = await nextTask(f, f.actors.rater);
      renewals.length = 0;
      // Seconds before its end (docs/server.md: "within 10 s of lapsing"): extended by a whole
      // lease first.
      f.advance(60_000 - 5_000);
      expect((await judge(f, "rater", t2!)).statusCode).toBe(200);
      expect(renewals).toEqual([60_000]);
    });

    it("stops serving a rater another process paused first, when its own auto-pause finds them paused", async () => {
      f = await makeFixture(await d.open(), { tasks: 4, gold: 0, overlap: 1 });
      await onboard(f, f.actors.rater);
      const q = await f.ctx.queues.get("p1");
      const s = (await q.rater(f.actors.rater.user_id))!;
      expect(s.member.status).toBe("active");
      // Another server process paused the rater in the store; this one still holds "active".
      await setMemberStatus(
        collectionDb(f.store),
        {
          project_id: "p1",
          user_id: f.actors.rater.user_id,
          status: "paused",
          action: "auto_pause",
          actor_id: null,
          reason: "elsewhere",
          from: ["active"],
        },
        new Date(),
      );
      s.goldSeen = 10;
      s.goldCorrect = 0;
      await autoPause(f.ctx, q, s);
      // Before, this process kept its stale "active" state and went on serving them.
      expect((await q.rater(f.actors.rater.user_id))!.member.status).toBe("paused");
      const r = await call(f, f.actors.rater, "POST", "/api/projects/p1/tasks/next");
      expect(r.statusCode).toBe(403);
    });

    it("answers a committed judgment with its receipt even when the lease store then fails", async () => {
      // A lease store that fails after the commit, as Redis going away would.
      class FailingAfterCommit extends MemoryLeaseStore {
        override async finish(): Promise<void> {
          throw new KeelError("KEEL_E_STORE", "the lease store is unreachable");
        }
      }
      f = await makeFixture(
        await d.open(),
        { tasks: 4, gold: 0, overlap: 1 },
        {
          leases: new FailingAfterCommit(),
        },
      );
      await onboard(f, f.actors.rater);
      const t = await nextTask(f, f.actors.rater);
      expect(t).not.toBeNull();
      const r = await judge(f, "rater", t!, "left", { next: true });
      expect(r.statusCode, r.body).toBe(200);
      const body = json<Judged>(r);
      expect(body.receipt.seq).toBe(1);
      expect(body.next).not.toBeNull();
      // The judgment is in the ledger once; a retry is told so.
      const again = await judge(f, "rater", t!, "left");
      expect(again.statusCode).toBe(409);
    });

    it("frees at once the task a paused, excluded or disabled rater held", async () => {
      // A lease of an hour: before, the task stayed reserved for a rater who could no longer
      // submit it, and nobody else was served it until the hour was up.
      const fx = await setup({ tasks: 3, gold: 0, overlap: 1, lease_seconds: 3600 });
      await addMembers(collectionDb(fx.store), "p1", [fx.actors.outsider.user_id], new Date());
      await onboard(fx, fx.actors.outsider);
      const { rater, reviewer, admin } = fx.actors;
      const review = (who: Actor, action: string) =>
        call(fx, reviewer, "POST", `/api/projects/p1/members/${who.user_id}/review`, {
          body: { action, reason: "checking" },
        });
      const a = await nextTask(fx, rater);
      expect((await review(rater, "pause")).statusCode).toBe(200);
      // Their lease is gone, but they are told why, as a rater paused with a lease is (before:
      // 404, "no task with this id is reserved for you").
      const refused = await judge(fx, "rater", a!);
      expect(refused.statusCode, refused.body).toBe(403);
      expect(json<{ error: { message: string } }>(refused).error.message).toBe(
        "your work on this project is paused pending review",
      );
      const skipped = await call(fx, rater, "POST", `/api/tasks/${a!.task_id}/skip`, {
        body: { reason: "unclear" },
      });
      expect(skipped.statusCode, skipped.body).toBe(403);
      const taken = await nextTask(fx, fx.actors.rater2);
      expect(taken?.prompt).toEqual(a?.prompt);
      // Reinstated, the rater is served what is free; their released task went to rater2, and
      // its id is answered as a lapsed lease's whose slot was taken (before: 404, the id named
      // nothing once released).
      expect((await review(rater, "reinstate")).statusCode).toBe(200);
      const gone = await judge(fx, "rater", a!);
      expect(gone.statusCode, gone.body).toBe(409);
      expect(json<{ error: { message: string } }>(gone).error.message).toBe(
        "your reservation of this task expired and it went to others",
      );
      const b = await nextTask(fx, rater);
      expect(b?.prompt).not.toEqual(a?.prompt);
      expect((await review(rater, "exclude")).statusCode).toBe(200);
      expect((await nextTask(fx, fx.actors.outsider))?.prompt).toEqual(b?.prompt);
      const excluded = await judge(fx, "rater", b!);
      expect(excluded.statusCode, excluded.body).toBe(403);
      expect(json<{ error: { message: string } }>(excluded).error.message).toBe(
        "you are no longer taking part in this project",
      );
      const disabled = await call(fx, admin, "PATCH", `/api/users/${fx.actors.rater2.user_id}`, {
        body: { disabled: true },
      });
      expect(disabled.statusCode).toBe(200);
      const c = await nextTask(fx, fx.actors.outsider);
      expect((await judge(fx, "outsider", c!)).statusCode).toBe(200);
      expect((await nextTask(fx, fx.actors.outsider))?.prompt).toEqual(a?.prompt);
    });

    it("randomises the A/B order per rater, maps the rater's side back, and records shown_order", async () => {
      const fx = await setup({ tasks: 24, gold: 0, overlap: 2 });
      const shown = new Map<string, TaskView>();
      await judgeAll(fx, "rater", (t) => {
        shown.set(String(t.prompt), t);
        return "left";
      });
      const orders = new Set<string>();
      for await (const j of fx.store.judgments()) {
        const t = shown.get(String(j.prompt))!;
        expect(j.shown_order === "ab" ? t.left : t.right).toBe(j.response_a);
        // The rater always chose the left response.
        expect(j.choice).toBe(j.shown_order === "ab" ? "a" : "b");
        orders.add(j.shown_order!);
      }
      expect([...orders].sort()).toEqual(["ab", "ba"]);
    });

    it("mixes gold in at about the set rate, indistinguishable in ids and payload", async () => {
      // The coin is keyed by the store's random server secret and the rater's random id, so the
      // share of gold varies between runs: 120 tasks put the bounds below 3.6 standard
      // deviations away (with 40 tasks, about one run in 70 failed on each dialect).
      const fx = await setup({
        tasks: 120,
        gold: 90,
        overlap: 1,
        gold_rate: 0.25,
        pause_gold_accuracy: 0,
      });
      const served = await judgeAll(fx, "rater");
      const gold = served.filter((t) => String(t.prompt).startsWith("Gold"));
      expect(served.length).toBeGreaterThanOrEqual(120);
      expect(gold.length / served.length).toBeGreaterThan(0.1);
      expect(gold.length / served.length).toBeLessThan(0.45);
      const shape = (t: TaskView) =>
        `${Object.keys(t).sort().join(",")}|${t.task_id.length}|${/^[A-Za-z0-9_-]+$/.test(t.task_id)}`;
      expect(new Set(served.map(shape)).size).toBe(1);
      // Gold is not served in any fixed pattern: not every k-th task.
      const positions = served
        .map((t, i) => (String(t.prompt).startsWith("Gold") ? i : -1))
        .filter((i) => i >= 0);
      const gaps = new Set(positions.slice(1).map((p, i) => p - positions[i]!));
      expect(gaps.size).toBeGreaterThan(2);
      // Nor in a pattern the rater can compute: the project's seed is its id unless set, and a
      // coin seeded by it alone would say which serves are gold (it matched all of them before
      // the coin was keyed by the server secret).
      const predicted = served.map(
        (_, i) => new Rng(`p1/gold/${fx.actors.rater.user_id}/${i}`).float() < 0.25,
      );
      const actual = served.map((t) => String(t.prompt).startsWith("Gold"));
      const agree = predicted.filter((p, i) => p === actual[i]).length;
      expect(agree).toBeLessThan(served.length * 0.9);
      // Nor is the order of the gold items one the rater can compute: seeded by the project's
      // seed alone, the per-rater shuffle of the gold list would name each next gold item.
      const unkeyed = new Rng(`p1/gold-order/${fx.actors.rater.user_id}`).shuffle(
        Array.from({ length: 90 }, (_, i) => i),
      );
      const goldSeen = gold.map((t) => Number(/(\d+)$/.exec(String(t.prompt))![1]));
      const foreseen = goldSeen.filter((n, i) => n === unkeyed[i]).length;
      expect(foreseen).toBeLessThan(goldSeen.length / 2);
      // Nothing the rater can read names gold items or their answers.
      const mine = await call(fx, fx.actors.rater, "GET", "/api/projects/p1/judgments/me");
      expect(mine.body).not.toMatch(/gold|comparison_id/);
      const project = await call(fx, fx.actors.rater, "GET", "/api/projects/p1");
      expect(project.body).not.toMatch(/gold_rate|overlap|seed/);
      expect(Object.keys(json(project))).toEqual(["project_id", "name", "guidelines", "me"]);
    });

    it("serves the ordinary tasks on once the rater has judged every gold item", async () => {
      // Nearly every serve's coin says gold, and there is one gold item: once it is judged, a
      // gold draw must fall back to an ordinary task, not end the rater's work.
      const fx = await setup({ tasks: 8, gold: 1, overlap: 2, gold_rate: 0.9 });
      const served = await judgeAll(fx, "rater");
      expect(served.map((t) => String(t.prompt)).sort()).toEqual(
        ["Gold prompt 0", ...Array.from({ length: 8 }, (_, i) => `Task prompt ${i}`)].sort(),
      );
    });

    it("keeps a comparison in one project, and an ordinary task from turning gold", async () => {
      const fx = await setup({ tasks: 4, gold: 0, overlap: 2 });
      const admin = fx.actors.admin;
      const created = await call(fx, admin, "POST", "/api/projects", {
        body: { project_id: "p9", name: "second" },
      });
      expect(created.statusCode, created.body).toBe(201);
      const t0 = {
        comparison_id: "t0",
        prompt: "Task prompt 0",
        response_a: "task A 0",
        response_b: "task B 0",
      };
      const stored = await collectionDb(fx.store)
        .selectFrom("comparisons")
        .selectAll()
        .where("comparison_id", "=", "t0")
        .executeTakeFirstOrThrow();
      expect(stored.gold).toBeNull();
      // Judgments carry no project: p9 holding t0 would count p1's judgments as its own.
      const shared = await call(fx, admin, "POST", "/api/projects/p9/items", {
        body: { items: [t0] },
      });
      expect(shared.statusCode, shared.body).toBe(409);
      expect(json<{ error: { message: string } }>(shared).error.message).toContain(
        'already an item of project "p1"',
      );
      const gold = await call(fx, admin, "POST", "/api/projects/p1/items", {
        body: { items: [{ ...t0, gold: "b" }] },
      });
      expect(gold.statusCode, gold.body).toBe(409);
      const after = await collectionDb(fx.store)
        .selectFrom("comparisons")
        .select("gold")
        .where("comparison_id", "=", "t0")
        .executeTakeFirstOrThrow();
      expect(after.gold).toBeNull();
      // The same item again is counted, not refused; a new one is added.
      const again = await call(fx, admin, "POST", "/api/projects/p1/items", {
        body: { items: [t0, { ...t0, comparison_id: "fresh", prompt: "new" }] },
      });
      expect(json(again)).toEqual({ added: 1, existing: 1 });
    });

    it("refuses a second judgment of the same task, also when both arrive at once", async () => {
      const fx = await setup({ tasks: 3, gold: 0, overlap: 2 });
      const t = (await nextTask(fx, fx.actors.rater))!;
      const [x, y] = await Promise.all([
        judge(fx, "rater", t, "left"),
        judge(fx, "rater", t, "right"),
      ]);
      expect([x.statusCode, y.statusCode].sort()).toEqual([200, 409]);
      const again = await judge(fx, "rater", t, "tie");
      expect(again.statusCode).toBe(409);
      expect(json<{ error: { code: string } }>(again).error.code).toBe("KEEL_E_DUPLICATE");
      expect(await fx.store.countJudgments()).toBe(1);
      const bogus = await call(
        fx,
        fx.actors.rater,
        "POST",
        `/api/tasks/${"Z".repeat(22)}/judgment`,
        { body: { choice: "left" } },
      );
      expect(bogus.statusCode).toBe(404);
    });

    it("records a judgment or a skip of one task, not both, when the two arrive at once", async () => {
      const fx = await setup({ tasks: 3, gold: 0, overlap: 2 });
      const t = (await nextTask(fx, fx.actors.rater))!;
      const [j, k] = await Promise.all([
        judge(fx, "rater", t, "left"),
        call(fx, fx.actors.rater, "POST", `/api/tasks/${t.task_id}/skip`, {
          body: { reason: "unclear" },
        }),
      ]);
      expect([j.statusCode, k.statusCode].sort()).toEqual([200, 409]);
      const me = json<{ judged: number; skipped: number }>(
        await call(fx, fx.actors.rater, "GET", "/api/projects/p1/progress/me"),
      );
      expect(me.judged + me.skipped).toBe(1);
      expect(await fx.store.countJudgments()).toBe(me.judged);
    });

    it("skips with a reason, and does not serve the skipped task again", async () => {
      const fx = await setup({ tasks: 3, gold: 0, overlap: 1 });
      const t = (await nextTask(fx, fx.actors.rater))!;
      const s = await call(fx, fx.actors.rater, "POST", `/api/tasks/${t.task_id}/skip`, {
        body: { reason: "harmful_content", note: "graphic" },
      });
      expect(s.statusCode).toBe(200);
      expect(json<{ progress: { skipped: number } }>(s).progress.skipped).toBe(1);
      const served = await judgeAll(fx, "rater");
      expect(served.map((x) => x.prompt)).not.toContain(t.prompt);
      expect(served).toHaveLength(2);
      const p = json<{ judged: number; skipped: number; total: number }>(
        await call(fx, fx.actors.rater, "GET", "/api/projects/p1/progress/me"),
      );
      expect(p).toEqual({ judged: 2, skipped: 1, total: 3 });
      const bad = await call(fx, fx.actors.rater, "POST", `/api/tasks/${t.task_id}/skip`, {
        body: { reason: "bored" },
      });
      expect(bad.statusCode).toBe(400);
    });

    it("requires the guidelines and the quiz, pauses after failed attempts, and a reviewer can reinstate", async () => {
      f = await makeFixture(await d.open(), { tasks: 3, gold: 0, quiz: 3, quiz_max_attempts: 2 });
      const fx = f;
      const r = fx.actors.rater;
      expect((await call(fx, r, "POST", "/api/projects/p1/tasks/next")).statusCode).toBe(403);
      expect((await call(fx, r, "GET", "/api/projects/p1/quiz")).statusCode).toBe(403);
      await onboard(fx, r);
      expect((await call(fx, r, "POST", "/api/projects/p1/tasks/next")).statusCode).toBe(403);
      const quiz = json<{ items: { quiz_id: string }[] }>(
        await call(fx, r, "GET", "/api/projects/p1/quiz"),
      );
      expect(quiz.items).toHaveLength(3);
      expect(JSON.stringify(quiz)).not.toMatch(/"gold"|expected/);
      const wrong = { answers: quiz.items.map((i) => ({ quiz_id: i.quiz_id, choice: "tie" })) };
      const a1 = json<{
        passed: boolean;
        attempts_left: number;
        results: { quiz_id: string; expected: string }[];
      }>(await call(fx, r, "POST", "/api/projects/p1/quiz", { body: wrong }));
      expect(a1.passed).toBe(false);
      expect(a1.attempts_left).toBe(1);
      await call(fx, r, "POST", "/api/projects/p1/quiz", { body: wrong });
      const me = json<{ me: { status: string } }>(await call(fx, r, "GET", "/api/projects/p1/me"));
      expect(me.me.status).toBe("paused");
      const queue = json<{ queue: { user_id: string; status_reason: string }[] }>(
        await call(fx, fx.actors.reviewer, "GET", "/api/projects/p1/reviews"),
      );
      expect(queue.queue.map((x) => x.user_id)).toEqual([r.user_id]);
      expect(queue.queue[0]!.status_reason).toMatch(/quiz/);
      const back = await call(
        fx,
        fx.actors.reviewer,
        "POST",
        `/api/projects/p1/members/${r.user_id}/review`,
        {
          body: { action: "reinstate", reason: "talked it through" },
        },
      );
      expect(json(back)).toEqual({ status: "active" });
      const right = {
        answers: a1.results.map((x) => ({ quiz_id: x.quiz_id, choice: x.expected })),
      };
      const passRes = await call(fx, r, "POST", "/api/projects/p1/quiz", { body: right });
      expect(passRes.statusCode, passRes.body).toBe(200);
      const pass = json<{ passed: boolean }>(passRes);
      expect(pass.passed).toBe(true);
      expect(await nextTask(fx, r)).not.toBeNull();
    });

    it("pauses some judgments after the wrong gold answer, not with it (which would say it was gold)", async () => {
      const fx = await setup({
        tasks: 30,
        gold: 10,
        overlap: 2,
        gold_rate: 0.3,
        pause_gold_accuracy: 0.5,
        pause_min_gold: 1,
      });
      const r = fx.actors.rater;
      const statuses: { gold: boolean; status: string }[] = [];
      for (let t = await nextTask(fx, r); t; ) {
        const res = json<Judged>(await judge(fx, "rater", t, answer(t, true), { next: true }));
        statuses.push({ gold: String(t.prompt).startsWith("Gold"), status: res.status });
        if (res.status !== "active") break;
        t = res.next ?? null;
      }
      const firstGold = statuses.findIndex((x) => x.gold);
      const paused = statuses.findIndex((x) => x.status === "paused");
      expect(firstGold).toBeGreaterThanOrEqual(0);
      // The judgment of the gold item left the rater active; the pause came 1–4 judgments later.
      expect(statuses[firstGold]!.status).toBe("active");
      expect(paused - firstGold).toBeGreaterThanOrEqual(1);
      expect(paused - firstGold).toBeLessThanOrEqual(GOLD_COUNT_DELAY_MAX);
      const row = json<{ raters: { user_id: string; status: string }[] }>(
        await call(fx, fx.actors.admin, "GET", "/api/projects/p1/raters"),
      ).raters.find((x) => x.user_id === r.user_id)!;
      expect(row.status).toBe("paused");
    });

    it("auto-pauses a rater whose gold accuracy falls below the policy, and shows it to admins", async () => {
      const fx = await setup({
        tasks: 30,
        gold: 10,
        overlap: 2,
        gold_rate: 0.9,
        pause_gold_accuracy: 0.5,
        pause_min_gold: 3,
      });
      const r = fx.actors.rater;
      // Wrong on every gold item.
      let status = "active";
      let n = 0;
      for (let t = await nextTask(fx, r); t && status === "active"; n++) {
        const choice = answer(t, true);
        const res = json<Judged>(
          await judge(fx, "rater", t, choice, { next: true, flags: n === 0 ? ["unsafe"] : [] }),
        );
        status = res.status;
        t = res.next ?? null;
      }
      expect(status).toBe("paused");
      expect((await call(fx, r, "POST", "/api/projects/p1/tasks/next")).statusCode).toBe(403);
      const raters = json<{ raters: Record<string, unknown>[] }>(
        await call(fx, fx.actors.admin, "GET", "/api/projects/p1/raters"),
      );
      const row = raters.raters.find((x) => x.user_id === r.user_id)!;
      expect(row.status).toBe("paused");
      expect(row.gold_accuracy).toBe(0);
      expect(row.gold_seen).toBeGreaterThanOrEqual(3);
      // The audit's own verdict: how far past its thresholds depends on how many judgments the
      // rater made before the pause, which the keyed gold coins (random ids and secret) vary.
      expect(["suspect", "excluded"]).toContain(row.verdict);
      expect(row.verdict_source).toBe("audit");
      expect(row.suspicion).toBeGreaterThan(0);
      expect(row.flagged).toBe(1);
      expect(typeof row.reliability).toBe("number");
      const ex = await call(
        fx,
        fx.actors.reviewer,
        "POST",
        `/api/projects/p1/members/${r.user_id}/review`,
        {
          body: { action: "exclude", reason: "systematically wrong on gold" },
        },
      );
      expect(json(ex)).toEqual({ status: "excluded" });
      const again = json<{ raters: Record<string, unknown>[] }>(
        await call(fx, fx.actors.admin, "GET", "/api/projects/p1/raters"),
      );
      expect(again.raters.find((x) => x.user_id === r.user_id)!.verdict).toBe("excluded");
      const self = await call(
        fx,
        fx.actors.reviewer,
        "POST",
        `/api/projects/p1/members/${fx.actors.reviewer.user_id}/review`,
        {
          body: { action: "reinstate", reason: "me" },
        },
      );
      expect(self.statusCode).toBe(403);
    });

    it("pauses raters the audit excludes, for review", async () => {
      const fx = await setup({
        tasks: 30,
        gold: 30,
        overlap: 4,
        gold_rate: 0.5,
        pause_gold_accuracy: 0,
        pause_min_gold: 1000,
      });
      // Three careful raters, and one (rater) who answers like them except on gold items, where it
      // is always wrong.
      const db = collectionDb(fx.store);
      const u3 = await createUser(db, { login: "rater3", role: "rater" }, new Date());
      const rater3: Actor = {
        login: "rater3",
        user_id: u3.user_id,
        role: "rater",
        token: (await createApiToken(db, u3.user_id, "t", new Date())).token,
      };
      await addMembers(db, "p1", [fx.actors.outsider.user_id, u3.user_id], new Date());
      for (const a of [fx.actors.outsider, rater3]) await onboard(fx, a);
      await judgeAll(fx, "rater2", (t) => answer(t, false, 1, 5), true);
      await judgeAll(fx, "outsider", (t) => answer(t, false, 2, 5), true);
      for (let t = await nextTask(fx, rater3); t; ) {
        fx.advance(9000);
        const r = await call(fx, rater3, "POST", `/api/tasks/${t.task_id}/judgment`, {
          body: { choice: answer(t, false, 3, 5), next: true },
        });
        t = json<Judged>(r).next ?? null;
      }
      await judgeAll(fx, "rater", (t) => answer(t, true, 4, 5), true);
      const q = await fx.ctx.queues.get("p1");
      const audited = await fx.ctx.scores.audit(q, Date.now());
      const verdict = new Map(audited!.raters.map((r) => [r.rater_id, r.verdict]));
      expect(verdict.get(fx.actors.rater.user_id)).toBe("excluded");
      expect(verdict.get(fx.actors.rater2.user_id)).toBe("trusted");
      expect(verdict.get(fx.actors.outsider.user_id)).toBe("trusted");
      expect(verdict.get(rater3.user_id)).toBe("trusted");
      expect(await pauseExcluded(fx.ctx, q)).toEqual([fx.actors.rater.user_id]);
      expect(await pauseExcluded(fx.ctx, q)).toEqual([]);
      const queue = json<{ queue: { user_id: string; status_reason: string }[] }>(
        await call(fx, fx.actors.reviewer, "GET", "/api/projects/p1/reviews"),
      );
      expect(queue.queue.map((x) => x.user_id)).toEqual([fx.actors.rater.user_id]);
      expect(queue.queue[0]!.status_reason).toMatch(/^audit: /);
      expect(
        (await call(fx, fx.actors.rater, "POST", "/api/projects/p1/tasks/next")).statusCode,
      ).toBe(403);
      // A reviewer's reinstatement holds: the next sweep sees the same verdict and leaves it.
      const back = await call(
        fx,
        fx.actors.reviewer,
        "POST",
        `/api/projects/p1/members/${fx.actors.rater.user_id}/review`,
        { body: { action: "reinstate", reason: "checked by hand" } },
      );
      expect(back.statusCode, back.body).toBe(200);
      expect(await pauseExcluded(fx.ctx, q)).toEqual([]);
      const member = json<{ queue: unknown[] }>(
        await call(fx, fx.actors.reviewer, "GET", "/api/projects/p1/reviews"),
      );
      expect(member.queue).toEqual([]);
    });

    it("exports the project's judgments and reports agreement per batch and progress", async () => {
      const fx = await setup({
        tasks: 6,
        gold: 2,
        overlap: 2,
        gold_rate: 0.2,
        pause_gold_accuracy: 0,
      });
      await judgeAll(fx, "rater", () => "left");
      await judgeAll(fx, "rater2", () => "left");
      const exp = await call(fx, fx.actors.reviewer, "GET", "/api/projects/p1/export");
      expect(exp.statusCode).toBe(200);
      const lines = exp.body
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toHaveLength(await fx.store.countJudgments());
      expect(
        lines.every((l) => typeof l.shown_order === "string" && typeof l.prompt === "string"),
      ).toBe(true);
      const ag = json<{ batches: { batch: string; judgments: number }[] }>(
        await call(fx, fx.actors.reviewer, "GET", "/api/projects/p1/agreement"),
      );
      expect(ag.batches.map((b) => b.batch)).toEqual(["even", "odd"]);
      expect(ag.batches.reduce((s, b) => s + b.judgments, 0)).toBe(lines.length);
      const pr = json<{ tasks: number; complete: number; judgments: number }>(
        await call(fx, fx.actors.reviewer, "GET", "/api/projects/p1/progress"),
      );
      expect(pr.tasks).toBe(6);
      expect(pr.complete).toBe(6);
      expect(pr.judgments).toBe(lines.length);
      // What `keel project show` counts per member, on this dialect.
      const perRater = await judgmentsPerRater(collectionDb(fx.store), "p1");
      const byRater = (id: string) => lines.filter((l) => l.rater_id === id).length;
      expect(Object.fromEntries(perRater)).toEqual({
        [fx.actors.rater.user_id]: byRater(fx.actors.rater.user_id),
        [fx.actors.rater2.user_id]: byRater(fx.actors.rater2.user_id),
      });
    });
  });
}
