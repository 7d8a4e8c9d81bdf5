/**
 * `judgmentsTextsOnce` yields what `judgments` yields, in the same order with the same keys,
 * except that a comparison's texts come with its first judgment only (audit and aggregate read
 * a million judgments of 250,000 comparisons: three texts a judgment were most of the read).
 * Pages and text batches are small here so that both cross boundaries.
 */
import { describe, expect, it } from "vitest";
import type { Choice, Judgment, LedgerEntry } from "../../src/core/types.js";
import type { EntryWithoutTexts, FeedbackStore } from "../../src/store/store.js";
import { asBatches, collect, textsOnce } from "../helpers/data.js";
import { type DialectFixture, dialectFixtures } from "../helpers/stores.js";

/** Comparisons judged in rounds (each rater's turn comes after every comparison's previous). */
function interleaved(comparisons: number, raters: number): Judgment[] {
  const out: Judgment[] = [];
  const choices: Choice[] = ["a", "b", "tie"];
  for (let r = 0; r < raters; r++) {
    for (let c = 0; c < comparisons; c++) {
      out.push({
        comparison_id: `c${c}`,
        // Shared prompts, one of them a chat: one text under several comparisons.
        prompt: c % 5 === 0 ? [{ role: "user", content: `chat ${c % 3}` }] : `prompt ${c % 4}`,
        response_a: `a ${c}`,
        response_b: c % 7 === 0 ? [{ role: "assistant", content: `b ${c}` }] : `b ${c}`,
        rater_id: `r${r}`,
        choice: choices[(c + r) % 3]!,
        ...(c % 6 === 0 ? { gold: "b" as const } : {}),
        ...(r % 2 === 1 ? { shown_order: "ba" as const, latency_ms: 100 + c } : {}),
        ...(c % 4 === 1 ? { rationale: `why ${c}`, flags: ["unsure"] } : {}),
      });
    }
  }
  return out;
}

/** Equal values and equal key order (the audit and aggregate results depend on neither, but). */
function expectSame(got: unknown[], want: unknown[]): void {
  expect(got).toEqual(want);
  expect(got.map((e) => Object.keys(e as object))).toEqual(
    want.map((e) => Object.keys(e as object)),
  );
}

async function withStore(fx: DialectFixture, fn: (s: FeedbackStore) => Promise<void>) {
  const store = await fx.open();
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}

for (const fx of dialectFixtures()) {
  describe(`judgmentsTextsOnce on ${fx.name}`, () => {
    it("yields the ledger as judgments() does, texts on each comparison's first judgment only", async () => {
      await withStore(fx, async (store) => {
        await store.importJudgments(asBatches(interleaved(23, 4)));
        for (const pageSize of [1, 7, 23, 5000]) {
          const all = await collect(store.judgments({ pageSize }));
          expect(all).toHaveLength(92);
          const once = await collect(store.judgmentsTextsOnce({ pageSize }));
          expectSame(once, textsOnce(all));
          expect(once.filter((e) => "prompt" in e)).toHaveLength(23);
        }
      });
    });

    it("takes the same scopes: a start after a seq, one project's items", async () => {
      await withStore(fx, async (store) => {
        await store.importJudgments(asBatches(interleaved(10, 3)));
        // After seq 15, c5…c9's first judgments are in the second round: they carry the texts.
        const after = await collect(store.judgmentsTextsOnce({ afterSeq: 15, pageSize: 4 }));
        expectSame(after, textsOnce(await collect(store.judgments({ afterSeq: 15 }))));
        expect(after.filter((e) => "prompt" in e).map((e) => e.comparison_id)).toEqual([
          "c5",
          "c6",
          "c7",
          "c8",
          "c9",
          "c0",
          "c1",
          "c2",
          "c3",
          "c4",
        ]);
        const empty = await collect(store.judgmentsTextsOnce({ project: "nowhere" }));
        expect(empty).toEqual([]);
      });
    });

    it("reads long texts in batches sized by characters (a text past the batch is read later)", async () => {
      await withStore(fx, async (store) => {
        const long = `${"long context ".repeat(16_000)}end`; // ~200,000 characters
        const judgments = interleaved(120, 2).map((j) => ({
          ...j,
          prompt: `${long} ${j.comparison_id}`,
        }));
        await store.importJudgments(asBatches(judgments));
        const got: (LedgerEntry | EntryWithoutTexts)[] = [];
        for await (const e of store.judgmentsTextsOnce()) {
          got.push(e);
          // One page of 240 judgments; texts for its first 64 comparisons, then ~40 (8M
          // characters / 200,000 a comparison): c110's are read after c64's. A batch of every
          // new comparison of the page, or of 64 more, would hold them already.
          if (got.length === 65)
            await fx.tamper(store, [
              "UPDATE texts SET body = 'edited late' WHERE digest = (SELECT a_digest FROM comparisons WHERE comparison_id = 'c110')",
            ]);
        }
        const c110 = got[110] as LedgerEntry;
        expect(c110.comparison_id).toBe("c110");
        expect(c110.response_a).toBe("edited late");
        expectSame(got, textsOnce(await collect(store.judgments())));
      });
    });

    it("skips a comparison whose texts were deleted behind keel, as judgments() does", async () => {
      await withStore(fx, async (store) => {
        await store.importJudgments(asBatches(interleaved(12, 3)));
        const lift =
          fx.name === "sqlite"
            ? ["PRAGMA foreign_keys = OFF"]
            : [
                "ALTER TABLE comparisons DROP CONSTRAINT IF EXISTS comparisons_a_digest_fkey",
                "ALTER TABLE comparisons DROP CONSTRAINT IF EXISTS comparisons_b_digest_fkey",
              ];
        await fx.tamper(store, [
          ...lift,
          // c3's response a is a plain text of its own; c7's response b a chat of its own.
          "DELETE FROM texts WHERE digest = (SELECT a_digest FROM comparisons WHERE comparison_id = 'c3')",
          "DELETE FROM texts WHERE digest = (SELECT b_digest FROM comparisons WHERE comparison_id = 'c7')",
        ]);
        const all = await collect(store.judgments({ pageSize: 5 }));
        expect(all).toHaveLength(30);
        const once = await collect(store.judgmentsTextsOnce({ pageSize: 5 }));
        expectSame(once, textsOnce(all));
      });
    });
  });
}
