/**
 * Collection writes that check before they write, on both dialects: a comparison belongs to one
 * project even when two additions race, positions stay distinct when two additions to one
 * project race, and a member's racing quiz attempts are both counted.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  addItems,
  addMembers,
  collectionDb,
  createProject,
  createUser,
  getMember,
  listItems,
  recordQuizAttempt,
} from "../../src/store/collection/index.js";
import type { FeedbackStore } from "../../src/store/store.js";
import { taskItem } from "../helpers/data.js";
import { dialectFixtures } from "../helpers/stores.js";

for (const d of dialectFixtures()) {
  describe(`project items (${d.name})`, () => {
    let store: FeedbackStore | undefined;
    afterEach(async () => {
      await store?.close();
      store = undefined;
    });

    it("puts a stored comparison into one project only when two additions race", async () => {
      store = await d.open();
      const db = collectionDb(store);
      const now = new Date();
      await createProject(db, { project_id: "p1", name: "one" }, now);
      await createProject(db, { project_id: "p2", name: "two" }, now);
      const ids = Array.from({ length: 40 }, (_, k) => `c${k}`);
      // Stored by judgments (as `keel import` would), in no project yet.
      await store.appendJudgments(
        ids.map((id) => ({
          comparison_id: id,
          prompt: `p ${id}`,
          response_a: `a ${id}`,
          response_b: `b ${id}`,
          rater_id: "r",
          choice: "a" as const,
        })),
      );
      const r = await Promise.allSettled([
        addItems(db, "p1", ids.map(taskItem)),
        addItems(db, "p2", ids.map(taskItem)),
      ]);
      expect(r.map((x) => x.status).sort()).toEqual(["fulfilled", "rejected"]);
      const rejected = r.find((x) => x.status === "rejected") as PromiseRejectedResult;
      expect(rejected.reason).toMatchObject({ code: "KEEL_E_CONFLICT" });
      const [a, b] = [await listItems(db, "p1"), await listItems(db, "p2")];
      expect(a.length + b.length).toBe(40);
    });

    it("numbers the items of two racing additions to one project apart", async () => {
      store = await d.open();
      const db = collectionDb(store);
      await createProject(db, { project_id: "p1", name: "one" }, new Date());
      await Promise.all([
        addItems(
          db,
          "p1",
          Array.from({ length: 30 }, (_, k) => taskItem(`x${k}`)),
        ),
        addItems(
          db,
          "p1",
          Array.from({ length: 30 }, (_, k) => taskItem(`y${k}`)),
        ),
      ]);
      const positions = (await listItems(db, "p1")).map((i) => i.position);
      expect(new Set(positions).size).toBe(60);
    });

    it("refuses to make an item of the project another kind, and re-adding it as it was counts it once", async () => {
      store = await d.open();
      const db = collectionDb(store);
      await createProject(db, { project_id: "p1", name: "one" }, new Date());
      const quiz = (id: string) => ({
        ...taskItem(id),
        kind: "quiz" as const,
        comparison: { ...taskItem(id).comparison, gold: "a" as const },
      });
      await addItems(db, "p1", [taskItem("t0"), quiz("q0")]);
      // Before, both came back as "already there" and the items silently kept their kinds.
      for (const [item, was] of [
        [quiz("t0"), "task"],
        [taskItem("q0"), "quiz"],
      ] as const) {
        const err = await addItems(db, "p1", [item]).catch((e: unknown) => e);
        expect(err).toMatchObject({
          code: "KEEL_E_CONFLICT",
          where: { line: 1, id: item.comparison.comparison_id, field: "kind" },
        });
        expect(String((err as Error).message)).toContain(`already a ${was} item`);
      }
      // The same comparison twice in one call, once as each kind: refused, nothing written.
      const err = await addItems(db, "p1", [taskItem("n0"), quiz("n0")]).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "KEEL_E_CONFLICT", where: { line: 2, field: "kind" } });
      expect((await listItems(db, "p1")).map((i) => [i.comparison_id, i.kind])).toEqual([
        ["t0", "task"],
        ["q0", "quiz"],
      ]);
      expect(await addItems(db, "p1", [taskItem("t0"), quiz("q0"), taskItem("t0")])).toEqual({
        added: 0,
        existing: 3,
      });
    });

    it("counts each of a member's racing quiz attempts, and no more than the limit", async () => {
      store = await d.open();
      const db = collectionDb(store);
      const now = new Date();
      await createProject(db, { project_id: "p1", name: "one" }, now);
      await addItems(
        db,
        "p1",
        [{ ...taskItem("q0"), kind: "quiz" as const }].map((i) => ({
          ...i,
          comparison: { ...i.comparison, gold: "a" as const },
        })),
      );
      const u = await createUser(db, { login: "r", role: "rater" }, now);
      await addMembers(db, "p1", [u.user_id], now);
      const attempt = () =>
        recordQuizAttempt(
          db,
          {
            project_id: "p1",
            user_id: u.user_id,
            answers: [{ comparison_id: "q0", choice: "b", correct: false }],
            passed: false,
            maxAttempts: 2,
          },
          now,
        );
      const got = await Promise.all([attempt(), attempt(), attempt()]);
      expect(got.sort()).toEqual([1, 2, undefined]);
      expect((await getMember(db, "p1", u.user_id))?.quiz_attempts).toBe(2);
    });
  });
}
