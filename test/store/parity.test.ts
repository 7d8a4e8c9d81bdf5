/** The same operations give the same answers on SQLite and PostgreSQL. */
import { describe, expect, it } from "vitest";
import { storeStats } from "../../src/store/stats.js";
import { asBatches } from "../helpers/data.js";
import { dialectFixtures } from "../helpers/stores.js";

for (const fx of dialectFixtures()) {
  describe(`store parity on ${fx.name}`, () => {
    it("lists raters in code-unit order whatever the database's collation", async () => {
      const store = await fx.open();
      try {
        if (fx.name === "postgres") {
          // A database created with an en_US locale orders text this way ("a" before "B").
          for (const table of ["judgments", "raters"]) {
            await store.rawExecute(
              `ALTER TABLE ${table} ALTER COLUMN rater_id TYPE text COLLATE "en-x-icu"`,
            );
          }
        }
        const ids = ["b", "B", "a", "A", "_z", "Z"];
        await store.importJudgments(
          asBatches(
            ids.map((rater_id) => ({
              comparison_id: "c1",
              prompt: "p",
              response_a: "x",
              response_b: "y",
              rater_id,
              choice: "a" as const,
            })),
          ),
        );
        const sorted = ["A", "B", "Z", "_z", "a", "b"];
        expect((await storeStats(store)).per_rater.map((r) => r.rater_id)).toEqual(sorted);
        expect((await store.raters()).map((r) => r.rater_id)).toEqual(sorted);
      } finally {
        await store.close();
      }
    });
  });
}
