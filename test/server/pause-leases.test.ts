/**
 * What a rater who stopped taking part in a project (paused, excluded) is told when they submit
 * the task they held there, through the HTTP app, on every lease store (in memory; Redis) and
 * both dialects. Their lease went when they were paused (it would otherwise hold the
 * comparison's slot); the answer must still be the one a rater paused in their only project
 * gets, whatever other projects they are active in, and must say nothing about other raters'
 * tasks or which items are gold.
 */
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { buildApp } from "../../src/server/app.js";
import { RedisLeaseStore } from "../../src/server/redis/index.js";
import { SYNC_MS } from "../../src/server/tasks/registry.js";
import {
  addItems,
  addMembers,
  collectionDb,
  setMemberStatus,
} from "../../src/store/collection/index.js";
import { dialectFixtures } from "../helpers/stores.js";
import { connect } from "../scale/helpers.js";
import {
  type Actor,
  CHEAP_SCRYPT,
  call,
  type Fixture,
  items,
  json,
  makeFixture,
  nextTask,
  onboard,
  type TaskView,
} from "./helpers.js";
import { freshRedisKeys, leaseStoreKinds } from "./lease-kinds.js";

type Failure = { error: { code: string; message: string } };

const review = (fx: Fixture, who: Actor, action: "pause" | "exclude" | "reinstate") =>
  call(fx, fx.actors.reviewer, "POST", `/api/projects/p1/members/${who.user_id}/review`, {
    body: { action, reason: "checking" },
  });

for (const d of dialectFixtures()) {
  for (const ls of leaseStoreKinds) {
    describe(`a paused rater's released task (${d.name}, ${ls.name} leases)`, () => {
      let f: Fixture | undefined;
      afterEach(async () => {
        await f?.close();
        f = undefined;
      });

      /**
       * p1 (overlap 1, no gold) with `rater` and `rater2`; `rater` is also an active member of
       * p2, which has tasks of its own; `rater2` belongs to p1 only.
       */
      async function setup(overlap = 1): Promise<Fixture> {
        const fx = await makeFixture(
          await d.open(),
          { tasks: 4, gold: 0, overlap, lease_seconds: 3600 },
          { leases: await ls.open() },
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
        await onboard(fx, fx.actors.rater2);
        const ack = await call(fx, fx.actors.rater, "POST", "/api/projects/p2/guidelines/ack");
        expect(ack.statusCode, ack.body).toBe(200);
        return fx;
      }

      const judge = (fx: Fixture, who: Actor, taskId: string) =>
        call(fx, who, "POST", `/api/tasks/${taskId}/judgment`, { body: { choice: "left" } });
      const skip = (fx: Fixture, who: Actor, taskId: string) =>
        call(fx, who, "POST", `/api/tasks/${taskId}/skip`, { body: { reason: "unclear" } });

      /** Both raters' answers to judging and to skipping their own task, as [status, error]. */
      async function answers(fx: Fixture, mine: TaskView, theirs: TaskView) {
        const out: [number, Failure["error"]][] = [];
        for (const [who, t] of [
          [fx.actors.rater, mine],
          [fx.actors.rater2, theirs],
        ] as const) {
          for (const send of [judge, skip]) {
            const r = await send(fx, who, t.task_id);
            out.push([r.statusCode, json<Failure>(r).error]);
          }
        }
        return out;
      }

      it("tells a rater paused in one project while active in another that they are paused", async () => {
        const fx = await setup();
        const { rater, rater2 } = fx.actors;
        const mine = (await nextTask(fx, rater))!;
        const theirs = (await nextTask(fx, rater2))!;
        expect((await review(fx, rater, "pause")).statusCode).toBe(200);
        expect((await review(fx, rater2, "pause")).statusCode).toBe(200);
        const paused = {
          code: "KEEL_E_FORBIDDEN",
          message: "your work on this project is paused pending review",
        };
        // Before: the rater active in p2 was answered 404 "no task with this id is reserved for
        // you" (their lease was gone, and being active in p2 the id might have been a p2 task).
        expect(await answers(fx, mine, theirs)).toEqual([
          [403, paused],
          [403, paused],
          [403, paused],
          [403, paused],
        ]);
        // The slots went back at once: the outsider, added now, is served both comparisons.
        const { outsider } = fx.actors;
        await addMembers(collectionDb(fx.store), "p1", [outsider.user_id], new Date());
        await onboard(fx, outsider);
        const one = (await nextTask(fx, outsider))!;
        expect((await judge(fx, outsider, one.task_id)).statusCode).toBe(200);
        const two = (await nextTask(fx, outsider))!;
        expect([one.prompt, two.prompt]).toEqual([mine.prompt, theirs.prompt]);
        // Still active in p2: served there as before.
        const there = await call(fx, rater, "POST", "/api/projects/p2/tasks/next");
        expect(there.statusCode, there.body).toBe(200);
        expect(String(json<{ task: TaskView }>(there).task.prompt)).toMatch(/^Task prompt/);
      });

      it("tells an excluded rater active elsewhere that they no longer take part", async () => {
        const fx = await setup();
        const { rater, rater2 } = fx.actors;
        const mine = (await nextTask(fx, rater))!;
        const theirs = (await nextTask(fx, rater2))!;
        expect((await review(fx, rater, "exclude")).statusCode).toBe(200);
        expect((await review(fx, rater2, "exclude")).statusCode).toBe(200);
        const gone = {
          code: "KEEL_E_FORBIDDEN",
          message: "you are no longer taking part in this project",
        };
        expect(await answers(fx, mine, theirs)).toEqual([
          [403, gone],
          [403, gone],
          [403, gone],
          [403, gone],
        ]);
      });

      it("answers another rater's released task id as it answers an id that names nothing", async () => {
        const fx = await setup();
        const { rater, rater2 } = fx.actors;
        const theirs = (await nextTask(fx, rater2))!;
        expect((await review(fx, rater2, "pause")).statusCode).toBe(200);
        const unknown = await judge(fx, rater, "AAAAAAAAAAAAAAAAAAAAAA");
        expect(unknown.statusCode).toBe(404);
        for (const send of [judge, skip]) {
          const r = await send(fx, rater, theirs.task_id);
          expect([r.statusCode, json<Failure>(r).error]).toEqual([
            404,
            json<Failure>(unknown).error,
          ]);
        }
      });

      it("answers the retry of a judgment refused at commit (paused elsewhere) as the first", async () => {
        const fx = await setup();
        const { rater } = fx.actors;
        const mine = (await nextTask(fx, rater))!;
        // Another server process pauses the rater: this one's copy of their standing is stale,
        // so the judgment passes the route's checks and is refused in its commit.
        await setMemberStatus(
          collectionDb(fx.store),
          {
            project_id: "p1",
            user_id: rater.user_id,
            status: "paused",
            action: "pause",
            actor_id: fx.actors.reviewer.user_id,
            reason: "elsewhere",
            from: ["active"],
          },
          new Date(),
        );
        const paused = [403, "your work on this project is paused pending review"];
        for (let i = 0; i < 2; i++) {
          // Before, the retry was answered 404: the refusal released the lease.
          const r = await judge(fx, rater, mine.task_id);
          expect([r.statusCode, json<Failure>(r).error.message], `try ${i}`).toEqual(paused);
        }
        const s = await skip(fx, rater, mine.task_id);
        expect([s.statusCode, json<Failure>(s).error.message]).toEqual(paused);
      });

      it("answers the retry of a judgment refused for a lowered overlap as the first", async () => {
        const fx = await setup(2);
        const { rater, rater2, admin } = fx.actors;
        const mine = (await nextTask(fx, rater))!;
        const theirs = (await nextTask(fx, rater2))!;
        expect(theirs.prompt).toEqual(mine.prompt);
        expect((await judge(fx, rater2, theirs.task_id)).statusCode).toBe(200);
        const lowered = await call(fx, admin, "PATCH", "/api/projects/p1", {
          body: { overlap: 1 },
        });
        expect(lowered.statusCode, lowered.body).toBe(200);
        const first = await judge(fx, rater, mine.task_id);
        expect(first.statusCode, first.body).toBe(409);
        expect(json<Failure>(first).error.message).toContain("all the judgments it needs");
        // Before: 404, the refusal having released the lease.
        const again = await judge(fx, rater, mine.task_id);
        expect([again.statusCode, json<Failure>(again).error]).toEqual([
          409,
          json<Failure>(first).error,
        ]);
        // The slot is free: the rater is served another comparison.
        expect((await nextTask(fx, rater))?.prompt).not.toEqual(mine.prompt);
      });

      it("answers a lease that lapsed before the pause as one the pause released", async () => {
        const fx = await setup();
        const { rater } = fx.actors;
        const mine = (await nextTask(fx, rater))!;
        fx.advance(3_601_000);
        expect((await review(fx, rater, "pause")).statusCode).toBe(200);
        const r = await judge(fx, rater, mine.task_id);
        expect([r.statusCode, json<Failure>(r).error.message]).toEqual([
          403,
          "your work on this project is paused pending review",
        ]);
      });

      it("gives a reinstated rater their released task back while its slot is free", async () => {
        const fx = await setup();
        const { rater } = fx.actors;
        const mine = (await nextTask(fx, rater))!;
        expect((await review(fx, rater, "pause")).statusCode).toBe(200);
        expect((await review(fx, rater, "reinstate")).statusCode).toBe(200);
        const r = await judge(fx, rater, mine.task_id);
        expect(r.statusCode, r.body).toBe(200);
      });
    });
  }
}

/**
 * Two servers on one store and one Redis (what two `keel serve --redis` processes share): a
 * pause or a reinstatement made through one must reach the other, whose copy of the rater's
 * standing was loaded before it.
 */
for (const d of dialectFixtures()) {
  describe(`a standing changed through another server (${d.name}, redis leases)`, () => {
    let f: Fixture | undefined;
    let other: FastifyInstance | undefined;
    afterEach(async () => {
      await other?.close();
      await f?.close();
      f = other = undefined;
    });

    it("stops serving a rater another server paused, frees their task, and serves them reinstated", async () => {
      const keys = freshRedisKeys();
      const fx = await makeFixture(
        await d.open(),
        { tasks: 4, gold: 0, overlap: 1, lease_seconds: 3600 },
        { leases: new RedisLeaseStore(await connect(keys)), auditIntervalMs: 0 },
      );
      f = fx;
      other = (
        await buildApp(fx.store, {
          logLevel: "silent",
          scrypt: CHEAP_SCRYPT,
          authCacheMs: 0,
          scoresCacheMs: 0,
          auditIntervalMs: 0,
          appendWorker: false,
          rateLimits: {
            ip: { rate: 0, burst: 1 },
            user: { rate: 0, burst: 1 },
            login: { rate: 0, burst: 1 },
          },
          leases: new RedisLeaseStore(await connect(keys)),
          now: () => fx.ctx.now(),
        })
      ).app;
      const b = other;
      const { rater, rater2 } = fx.actors;
      await onboard(fx, rater);
      await onboard(fx, rater2);
      const nextOnB = (who: Actor) =>
        b.inject({
          method: "POST",
          url: "/api/projects/p1/tasks/next",
          headers: { authorization: `Bearer ${who.token}` },
        });
      const first = await nextOnB(rater);
      expect(first.statusCode, first.body).toBe(200);
      const mine = json<{ task: TaskView }>(first).task;
      expect((await review(fx, rater, "pause")).statusCode).toBe(200);
      // Server B learns of it within one sync of its queue (SYNC_MS): it stops serving the
      // rater, and the task its stale copy let them take again goes back to the others.
      // Before, B kept its copy of the rater ("active") until B restarted: it went on serving
      // them, each task holding its comparison's slot for the whole lease.
      await nextOnB(rater);
      fx.advance(SYNC_MS);
      const refused = await nextOnB(rater);
      expect(refused.statusCode, refused.body).toBe(403);
      expect(json<Failure>(refused).error.message).toBe(
        "your work on this project is paused pending review",
      );
      expect((await nextTask(fx, rater2))?.prompt).toEqual(mine.prompt);
      // Reinstated through A: B serves them again (before, B answered 403 until it restarted).
      expect((await review(fx, rater, "reinstate")).statusCode).toBe(200);
      fx.advance(SYNC_MS);
      const back = await nextOnB(rater);
      expect(back.statusCode, back.body).toBe(200);
      expect(json<{ task: TaskView | null }>(back).task).not.toBeNull();
    });
  });
}
