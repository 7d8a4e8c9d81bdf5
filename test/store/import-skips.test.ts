/**
 * A task has one outcome (migration 0003): an import's judgment of a task its rater skipped in
 * the collection app is refused with KEEL_E_DUPLICATE and nothing is imported. A bulk import
 * into a store without skips drops the per-row check for its transaction and puts it back
 * before it commits.
 */
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { refusedOutcome } from "../../src/store/collection/outcome.js";
import type { FeedbackStore } from "../../src/store/store.js";
import { asBatches, makeJudgments } from "../helpers/data.js";
import { dialectFixtures } from "../helpers/stores.js";

const skip = (store: FeedbackStore, rater: string, comparison: string) =>
  store.rawExecute(
    "INSERT INTO skips (project_id, user_id, comparison_id, reason, note, created_at) " +
      `VALUES ('p', '${rater}', '${comparison}', 'unsure', NULL, '2026-01-01T00:00:00.000Z')`,
  );

async function ledgerRows(store: FeedbackStore): Promise<number> {
  const r = await sql<{ n: number | string }>`SELECT count(*) AS n FROM judgments`.execute(
    store.db,
  );
  return Number(r.rows[0]!.n);
}

for (const fx of dialectFixtures()) {
  describe(`imports and skips on ${fx.name}`, () => {
    it("refuses an import holding a judgment of a skipped task, whole", async () => {
      const store = await fx.open();
      try {
        await store.importJudgments(asBatches(makeJudgments(5)));
        const before = await ledgerRows(store);
        await skip(store, "r0", "c7");
        const e = await store
          .importJudgments(asBatches(makeJudgments(10).slice(15)), { source: "more.jsonl" })
          .then(
            () => undefined,
            (x: unknown) => x,
          );
        expect(e).toMatchObject({ code: "KEEL_E_DUPLICATE", where: { file: "more.jsonl" } });
        expect((e as Error).message).toContain("skipped in the collection app");
        expect(await ledgerRows(store)).toBe(before);
        // Without the skipped task the same judgments go in.
        const rest = makeJudgments(10)
          .slice(15)
          .filter((j) => !(j.comparison_id === "c7" && j.rater_id === "r0"));
        const r = await store.importJudgments(asBatches(rest));
        expect(r.appended).toBe(rest.length);
      } finally {
        await store.close();
      }
    });

    it("still refuses a judgment of a skipped task after a bulk import into a store without skips", async () => {
      const store = await fx.open();
      try {
        const r = await store.importJudgments(asBatches(makeJudgments(20)));
        expect(r.appended).toBe(60);
        await skip(store, "r0", "c50");
        const late = { ...makeJudgments(1)[0]!, comparison_id: "c50", rater_id: "r0" };
        const e = await store.appendJudgments([late]).then(
          () => undefined,
          (x: unknown) => x,
        );
        expect(refusedOutcome(e)).toBe("skipped");
        expect(await ledgerRows(store)).toBe(60);
      } finally {
        await store.close();
      }
    });
  });
}
