/**
 * Round trips through the store: file → import → export → import, for arbitrary judgments
 * (fast-check), on every dialect. What goes in comes out identical (gold, latencies, shown
 * orders, chat turns), a second import of the export holds the same judgments, and the two
 * dialects store the same ledger, byte for byte.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Choice, Content, Judgment } from "../../src/core/types.js";
import { exportFormat } from "../../src/io/exporters.js";
import { judgmentToJson } from "../../src/io/formats/judgments.js";
import { importFormat } from "../../src/io/registry.js";
import { storeStats } from "../../src/store/stats.js";
import type { FeedbackStore } from "../../src/store/store.js";
import { collect, fixedClock } from "../helpers/data.js";
import { type DialectFixture, dialectFixtures, reopenStore, tempDir } from "../helpers/stores.js";

const dir = tempDir();
let k = 0;

const text = fc.string({ maxLength: 40 }).filter((s) => !s.includes("\u0000"));
const content: fc.Arbitrary<Content> = fc.oneof(
  text,
  fc.array(fc.record({ role: fc.constantFrom("system", "user", "assistant"), content: text }), {
    minLength: 1,
    maxLength: 3,
  }),
);
const id = fc.stringMatching(/^[a-z0-9_-]{1,12}$/);
const choice = fc.constantFrom<Choice>("a", "b", "tie");

/** Judgments with consistent comparisons: each comparison id always names the same texts. */
const judgmentSet = fc
  .array(
    fc.record({
      prompt: content,
      a: content,
      b: content,
      gold: fc.option(choice, { nil: undefined }),
    }),
    { minLength: 1, maxLength: 6 },
  )
  .chain((comparisons) =>
    fc
      .uniqueArray(
        fc.record({
          c: fc.nat({ max: comparisons.length - 1 }),
          rater: id,
          choice,
          latency: fc.option(fc.integer({ min: 0, max: 100000 }), { nil: undefined }),
          order: fc.option(fc.constantFrom("ab" as const, "ba" as const), { nil: undefined }),
        }),
        { selector: (x) => `${x.c}/${x.rater}`, maxLength: 25 },
      )
      .map((rows) =>
        rows.map((r): Judgment => {
          const c = comparisons[r.c]!;
          return {
            comparison_id: `cmp-${r.c}`,
            prompt: c.prompt,
            response_a: c.a,
            response_b: c.b,
            rater_id: r.rater,
            choice: r.choice,
            ...(c.gold ? { gold: c.gold } : {}),
            ...(r.latency !== undefined ? { latency_ms: r.latency } : {}),
            ...(r.order ? { shown_order: r.order } : {}),
          };
        }),
      ),
  );

async function importFile(store: FeedbackStore, path: string, format: string) {
  const f = importFormat(format);
  if (f.kind !== "judgments") throw new Error("judgment format expected");
  return store.importJudgments(f.parse(path, {}));
}

/** Exports through another connection, so that what is read back is what was committed. */
async function exportFile(store: FeedbackStore, path: string, format: string) {
  const reader = await reopenStore(store);
  try {
    const ex = exportFormat(format).open(path, {});
    for await (const j of reader.judgments()) await ex.write(j);
    await ex.commit();
  } finally {
    await reader.close();
  }
}

/** Runs `fn` with a new store of `fx`, closed afterwards. */
async function withStore<T>(fx: DialectFixture, fn: (s: FeedbackStore) => Promise<T>): Promise<T> {
  const store = await fx.open({ now: fixedClock() });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** PostgreSQL's stores cost a schema and its migrations each: fewer runs there. */
const runs = (fx: DialectFixture, sqlite: number) =>
  fx.name === "sqlite" ? { numRuns: sqlite } : { numRuns: 3, seed: 20260601 };

const withGoldEverywhere = (js: Judgment[]): Record<string, unknown>[] => {
  // The store keeps gold on the comparison, so every exported judgment of a gold comparison carries it.
  const gold = new Map(js.filter((j) => j.gold).map((j) => [j.comparison_id, j.gold]));
  return js.map((j) =>
    judgmentToJson({
      ...j,
      ...(gold.get(j.comparison_id) ? { gold: gold.get(j.comparison_id)! } : {}),
    }),
  );
};

/** Chat turns as TRL's conversational data sets have them: any role, multi-line text. */
const turn = fc.record({
  role: fc.constantFrom("system", "user", "assistant", "tool"),
  content: fc.oneof(text, fc.constantFrom("", " lead", "trail ", "a\n\nHuman: b", "Sure,")),
});
const turns = (min: number, max: number) => fc.array(turn, { minLength: min, maxLength: max });
const sameTurn = (x: { role: string; content: string }, y: { role: string; content: string }) =>
  x.role === y.role && x.content === y.content;

/**
 * A TRL row as written (explicit prompt, or implicit: chosen and rejected repeat the prompt's
 * turns), with the row keel should export for it (always an explicit prompt) and whether it
 * had a weight (read, reported, not stored).
 */
const trlRow = fc.oneof(
  fc
    .record({
      prompt: turns(1, 3),
      chosen: turns(1, 2),
      rejected: turns(1, 2),
      weighted: fc.boolean(),
    })
    .map(({ weighted, ...row }) => ({
      input: { ...row, ...(weighted ? { weight: 0.5 } : {}) },
      expected: row,
      weighted,
    })),
  fc
    .record({ prompt: turns(1, 3), chosen: turns(1, 2), rejected: turns(1, 2) })
    // The tails must differ at their first turn, or that turn belongs to the shared prompt.
    .filter((r) => !sameTurn(r.chosen[0]!, r.rejected[0]!))
    .map((r) => ({
      input: { chosen: [...r.prompt, ...r.chosen], rejected: [...r.prompt, ...r.rejected] },
      expected: r,
      weighted: false,
    })),
);

for (const fx of dialectFixtures()) {
  describe(`import → export → import (${fx.name})`, () => {
    it("keel judgments round-trip exactly", async () => {
      await fc.assert(
        fc.asyncProperty(judgmentSet, async (js) => {
          const n = k++;
          const src = join(dir, `in${n}.jsonl`);
          writeFileSync(src, js.map((j) => JSON.stringify(j)).join("\n"));
          const out = join(dir, `out${n}.jsonl`);
          await withStore(fx, async (a) => {
            await importFile(a, src, "judgments");
            await exportFile(a, out, "judgments");
          });
          const exported = readFileSync(out, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l));
          expect(exported).toEqual(withGoldEverywhere(js));
          const again = join(dir, `again${n}.jsonl`);
          await withStore(fx, async (b) => {
            const r = await importFile(b, out, "judgments");
            expect(r.appended).toBe(js.length);
            await exportFile(b, again, "judgments");
          });
          expect(readFileSync(again, "utf8")).toBe(readFileSync(out, "utf8"));
        }),
        runs(fx, 25),
      );
    }, 60_000);

    it("TRL pairs round-trip (ties dropped on export)", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ prompt: content, chosen: content, rejected: content }), {
            minLength: 1,
            maxLength: 10,
          }),
          async (pairs) => {
            const n = k++;
            const src = join(dir, `trl${n}.jsonl`);
            writeFileSync(src, `${pairs.map((p) => JSON.stringify(p)).join("\n")}\n`);
            const out = join(dir, `trl-out${n}.jsonl`);
            await withStore(fx, async (store) => {
              await importFile(store, src, "trl");
              await exportFile(store, out, "trl");
              const rows = readFileSync(out, "utf8")
                .split("\n")
                .filter(Boolean)
                .map((l) => JSON.parse(l));
              // Identical pairs are one comparison (deduplicated by content), so compare as sets in order of first appearance.
              const unique = [...new Map(pairs.map((p) => [JSON.stringify(p), p])).values()];
              expect(rows).toEqual(unique);
              expect((await store.verifyLedger()).ok).toBe(true);
              expect((await collect(store.judgments())).length).toBe(unique.length);
            });
          },
        ),
        runs(fx, 20),
      );
    }, 60_000);

    it("TRL conversations round-trip: system turns, assistant prefixes, implicit prompts", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(trlRow, {
            selector: (r) => JSON.stringify(r.expected),
            minLength: 1,
            maxLength: 10,
          }),
          async (rows) => {
            const n = k++;
            const src = join(dir, `conv${n}.jsonl`);
            writeFileSync(src, `${rows.map((r) => JSON.stringify(r.input)).join("\n")}\n`);
            const out = join(dir, `conv-out${n}.jsonl`);
            await withStore(fx, async (store) => {
              const report = await importFile(store, src, "trl");
              expect(report.appended).toBe(rows.length);
              const weighted = rows.filter((r) => r.weighted).length;
              expect(report.ignoredFields).toEqual(weighted > 0 ? { weight: weighted } : {});
              await exportFile(store, out, "trl");
            });
            const exported = readFileSync(out, "utf8")
              .split("\n")
              .filter(Boolean)
              .map((l) => JSON.parse(l));
            expect(exported).toEqual(rows.map((r) => r.expected));
          },
        ),
        runs(fx, 30),
      );
    }, 60_000);
  });
}

/** Values at the edges of what a judgment may carry, where one database could differ from the other. */
const EDGE: Judgment[] = (() => {
  const base = { prompt: "p", response_a: "x", response_b: "y" };
  const astral = "\u{1d518}".repeat(128); // 256 UTF-16 code units: the longest id
  const rows: Judgment[] = [
    { ...base, comparison_id: "c1", rater_id: "r", choice: "a", gold: "b", latency_ms: 0 },
    { ...base, comparison_id: "c1", rater_id: "R", choice: "b", latency_ms: 5e-324 },
    { ...base, comparison_id: "c1", rater_id: "r ", choice: "tie", latency_ms: 1e10 },
    { ...base, comparison_id: "c1", rater_id: "\u00e9", choice: "a", latency_ms: 0.1 },
    {
      ...base,
      comparison_id: "c1",
      rater_id: "e\u0301",
      choice: "a",
      latency_ms: 123456.789012345,
    },
    { ...base, comparison_id: "c1", rater_id: "\ue000", choice: "b", latency_ms: 2 ** 33 + 0.5 },
    { ...base, comparison_id: "c1", rater_id: "\u{1f600}", choice: "b", latency_ms: -0 },
    {
      ...base,
      comparison_id: astral,
      rater_id: "l".repeat(256),
      choice: "tie",
      created_at: "0001-01-01T00:00:00Z",
      shown_order: "ba",
    },
    {
      comparison_id: "c2",
      prompt: [
        { role: "system", content: "" },
        { role: "user", content: "q\u2028\r\n\u001b" },
      ],
      response_a: " ",
      response_b: "\ufeff".repeat(3),
      rater_id: "r",
      choice: "b",
      created_at: "2026-03-01T10:00:00.123456789+14:00",
      shown_order: "ab",
      rationale: "why\u0085 \u202e",
      flags: ["slow", "unsure"],
    },
    {
      ...base,
      comparison_id: "C2",
      // Previewed by `keel stats`: 81 characters read by the database, astral ones included.
      prompt: `${"\u{1f600}".repeat(79)}e\u0301${"\u{1d518}".repeat(5)}`,
      response_a: "z".repeat(100_000),
      rater_id: "r",
      choice: "a",
      created_at: "9999-12-31T23:59:59.999-12:00",
      rationale: "",
      flags: [],
    },
  ];
  return rows;
})();

describe("the same judgments on every dialect", () => {
  it("store the same ledger, head and export, edge values kept exactly", async () => {
    const src = join(dir, "edge.jsonl");
    writeFileSync(src, EDGE.map((j) => `${JSON.stringify(j)}\n`).join(""));
    const seen: { head: unknown; out: string; stats: unknown }[] = [];
    for (const fx of dialectFixtures()) {
      const out = join(dir, `edge-${fx.name}.jsonl`);
      await withStore(fx, async (store) => {
        const r = await importFile(store, src, "judgments");
        expect(r.appended).toBe(EDGE.length);
        expect((await store.verifyLedger()).ok).toBe(true);
        await exportFile(store, out, "judgments");
        const stats = await storeStats(store);
        seen.push({ head: await store.ledgerHead(), out: readFileSync(out, "utf8"), stats });
      });
    }
    const [sqlite, postgres] = seen;
    expect(sqlite!.out).toBe(
      withGoldEverywhere(EDGE)
        .map((j) => `${JSON.stringify(j)}\n`)
        .join(""),
    );
    expect(postgres!.out).toBe(sqlite!.out);
    expect(postgres!.head).toEqual(sqlite!.head);
    expect(postgres!.stats).toEqual(sqlite!.stats);
  });
});
