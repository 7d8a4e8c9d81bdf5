/**
 * Reading the ledger with its texts holds a bounded number of characters, not a fixed number of
 * rows: every row brings its own copy of its texts, and a page of 5,000 judgments of one
 * 200,000-character prompt was 1.4 GB in `keel export`. What a page has read ahead is seen by
 * changing a row after the iteration started: a row not yet read shows the change.
 */
import { describe, expect, it } from "vitest";
import type { Judgment } from "../../src/core/types.js";
import { asBatches } from "../helpers/data.js";
import { dialectFixtures } from "../helpers/stores.js";

const PROMPT = `${"long context ".repeat(16_000)}end`; // ~200,000 characters

const judgments: Judgment[] = Array.from({ length: 120 }, (_, i) => ({
  comparison_id: `c${i}`,
  prompt: PROMPT,
  response_a: `answer a ${i}`,
  response_b: `answer b ${i}`,
  rater_id: "r1",
  choice: "a",
}));

for (const fx of dialectFixtures()) {
  describe(`ledger pages on ${fx.name}`, () => {
    it("reads long texts in pages sized by characters (a row past the page is read later)", async () => {
      const store = await fx.open();
      try {
        await store.importJudgments(asBatches(judgments));
        const seen: Judgment[] = [];
        for await (const j of store.judgments()) {
          seen.push(j);
          // The first page is 64 rows, the next ones ~40 (8M characters / 200,000): row 110 is
          // read two pages after row 65. A page of 5,000 rows, or of 64, would hold it already.
          if (seen.length === 65)
            await fx.tamper(store, ["UPDATE judgments SET rationale = 'late' WHERE seq = 110"]);
        }
        expect(seen).toHaveLength(120);
        expect(seen.every((j) => j.prompt === PROMPT)).toBe(true);
        expect(seen[109]!.rationale).toBe("late");
      } finally {
        await store.close();
      }
    });
  });
}
