/**
 * `judgments({ taskOf })`: a collection project's live audit reads its own task items'
 * judgments from the store, not the whole ledger (other projects' items, quiz items, judgments of no
 * project), on every dialect.
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

const judgments = makeJudgments(12, 2);
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

    it("are the judgments of its task items, in ledger order, and no others", async () => {
      const ids = async (taskOf?: string) => {
        const out: string[] = [];
        for await (const j of store.judgments({ pageSize: 3, ...(taskOf ? { taskOf } : {}) }))
          out.push(`${j.comparison_id}/${j.rater_id}`);
        return out;
      };
      const all = await ids();
      expect(all).toHaveLength(24);
      const inP1 = ["c0", "c1", "c2", "c3"];
      expect(await ids("p1")).toEqual(all.filter((k) => inP1.includes(k.split("/")[0]!)));
      expect(await ids("p2")).toEqual(
        all.filter((k) => ["c5", "c6", "c7"].includes(k.split("/")[0]!)),
      );
      expect(await ids("nope")).toEqual([]);
    });

    it("are counted by countJudgments({ ofProject }), quiz items included", async () => {
      expect(await store.countJudgments()).toBe(24);
      expect(await store.countJudgments({ ofProject: "p1" })).toBe(10);
      expect(await store.countJudgments({ ofProject: "p2" })).toBe(6);
      expect(await store.countJudgments({ ofProject: "nope" })).toBe(0);
    });
  });
}
