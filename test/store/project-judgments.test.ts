/**
 * `judgments({ project })` and the counts with it: a collection project's live audit (its task
 * items, `tasksOnly`) and its export (all its items) read its own judgments from the store, not
 * the whole ledger (other projects' items, judgments of no project), on every dialect.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addItems,
  collectionDb,
  createProject,
  type NewItem,
} from "../../src/store/collection/index.js";
import type { FeedbackStore } from "../../src/store/store.js";
import { makeJudgments } from "../helpers/data.js";
import { dialectFixtures } from "../helpers/stores.js";

// Without gold: c0, a task of p1, cannot be given gold after it was added to the project.
const judgments = makeJudgments(12, 2).map(({ gold: _gold, ...j }) => j);
const item = (c: number, kind: "task" | "quiz"): NewItem => {
  const j = judgments.find((x) => x.comparison_id === `c${c}`)!;
  return {
    comparison: {
      comparison_id: j.comparison_id,
      prompt: j.prompt,
      response_a: j.response_a,
      response_b: j.response_b,
      ...(kind === "quiz" ? { gold: "a" as const } : {}),
    },
    kind,
    batch: "b",
  };
};

for (const fx of dialectFixtures()) {
  describe(`a project's judgments on ${fx.name}`, () => {
    let store: FeedbackStore;
    beforeAll(async () => {
      store = await fx.open();
      const db = collectionDb(store);
      const now = new Date();
      for (const p of ["p1", "p2"]) await createProject(db, { project_id: p, name: p }, now);
      // p1: c0–c3 tasks and c4 a quiz item; p2: c5–c7; c8–c11 belong to no project.
      await addItems(db, "p1", [0, 1, 2, 3].map((c) => item(c, "task")).concat(item(4, "quiz")));
      await addItems(
        db,
        "p2",
        [5, 6, 7].map((c) => item(c, "task")),
      );
      await store.appendJudgments(judgments.filter((j) => j.comparison_id !== "c4"));
      await store.appendJudgments(
        judgments.filter((j) => j.comparison_id === "c4").map((j) => ({ ...j, gold: "a" })),
      );
    });
    afterAll(async () => {
      await store?.close();
    });

    it("are the judgments of its items (or task items), in ledger order, and no others", async () => {
      const ids = async (scope: { project?: string; tasksOnly?: boolean } = {}, first = false) => {
        const out: string[] = [];
        const read = first ? store.firstJudgments : store.judgments;
        for await (const j of read.call(store, { pageSize: 3, ...scope }))
          out.push(`${j.comparison_id}/${j.rater_id}`);
        return out;
      };
      const all = await ids();
      expect(all).toHaveLength(24);
      const of = (cs: string[]) => all.filter((k) => cs.includes(k.split("/")[0]!));
      const tasksP1 = ["c0", "c1", "c2", "c3"];
      expect(await ids({ project: "p1", tasksOnly: true })).toEqual(of(tasksP1));
      expect(await ids({ project: "p1" })).toEqual(of([...tasksP1, "c4"]));
      expect(await ids({ project: "p2" })).toEqual(of(["c5", "c6", "c7"]));
      expect(await ids({ project: "nope" })).toEqual([]);
      // One per comparison, the first in ledger order.
      const firsts = await ids({ project: "p2" }, true);
      expect(firsts.map((k) => k.split("/")[0])).toEqual(["c5", "c6", "c7"]);
      expect(firsts).toEqual(["c5", "c6", "c7"].map((c) => of([c])[0]));
    });

    it("are counted with the same scope, quiz items included unless tasksOnly", async () => {
      expect(await store.countJudgments()).toBe(24);
      expect(await store.countJudgments({ project: "p1" })).toBe(10);
      expect(await store.countJudgments({ project: "p1", tasksOnly: true })).toBe(8);
      expect(await store.countJudgments({ project: "p2" })).toBe(6);
      expect(await store.countJudgments({ project: "nope" })).toBe(0);
      expect(await store.countJudgedComparisons()).toBe(12);
      expect(await store.countJudgedComparisons({ project: "p1" })).toBe(5);
      expect(await store.countJudgedComparisons({ project: "p2" })).toBe(3);
    });
  });
}
