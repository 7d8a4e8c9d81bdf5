/**
 * `keel stats` at scale: how SQLite runs its queries (a plan that reads the ledger in rater
 * order costs one random page read per judgment: 20 s at a million), and what it reads of the
 * prompt texts.
 */
import { type Kysely, sql } from "kysely";
import { describe, expect, it } from "vitest";
import type { Judgment } from "../../src/core/types.js";
import type { Database } from "../../src/store/schema.js";
import { promptCounts, raterChoiceCounts, storeStats } from "../../src/store/stats.js";
import { asBatches } from "../helpers/data.js";
import { dialectFixtures } from "../helpers/stores.js";

const judgment = (comparison_id: string, rater_id: string, prompt: string): Judgment => ({
  comparison_id,
  prompt,
  response_a: `a of ${comparison_id}`,
  response_b: `b of ${comparison_id}`,
  rater_id,
  choice: "a",
});

/** SQLite's plan of a query (its parameters unbound: the plan does not depend on them). */
async function plan(db: Kysely<Database>, q: { compile(): { sql: string } }): Promise<string> {
  const r = await sql.raw<{ detail: string }>(`EXPLAIN QUERY PLAN ${q.compile().sql}`).execute(db);
  return r.rows.map((x) => x.detail).join("\n");
}

const sqlite = dialectFixtures().find((f) => f.name === "sqlite")!;

describe("keel stats on SQLite: query plans", () => {
  it("counts per rater by scanning the judgments, not by walking them in rater order", async () => {
    const store = await sqlite.open();
    try {
      await store.importJudgments(
        asBatches([
          judgment("c1", "r1", "p"),
          judgment("c1", "r2", "p"),
          judgment("c2", "r1", "q"),
        ]),
      );
      const p = await plan(store.db, raterChoiceCounts(store.db));
      expect(p).not.toMatch(/judgments_rater/);
      expect(p).toMatch(/SCAN j/);
    } finally {
      await store.close();
    }
  });
});

for (const fx of dialectFixtures()) {
  describe(`keel stats on ${fx.name}: prompt texts`, () => {
    it("reads a preview's worth of each listed prompt, not the whole text", async () => {
      const store = await fx.open();
      try {
        const long = `${"word ".repeat(200_000)}end`;
        await store.importJudgments(
          asBatches([
            judgment("c1", "r1", long),
            judgment("c1", "r2", long),
            judgment("c2", "r1", "short prompt"),
          ]),
        );
        const rows = await promptCounts(store.db, undefined).execute();
        expect(rows.map((r) => [r.head.length, Number(r.judgments)])).toEqual([
          [81, 2],
          ["short prompt".length, 1],
        ]);
        const s = await storeStats(store, { top: 1 });
        expect(s.per_prompt).toEqual([
          expect.objectContaining({
            preview: `${long.slice(0, 77)}...`,
            comparisons: 1,
            judgments: 2,
          }),
        ]);
      } finally {
        await store.close();
      }
    });
  });
}
