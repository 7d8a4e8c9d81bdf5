/**
 * Round trips through the store: file → import → export → import, for arbitrary judgments
 * (fast-check), on SQLite. What goes in comes out identical, and a second import of the export
 * holds the same judgments.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Choice, Content, Judgment } from "../../src/core/types.js";
import { exportFormat } from "../../src/io/exporters.js";
import { judgmentToJson } from "../../src/io/formats/judgments.js";
import { importFormat } from "../../src/io/registry.js";
import { openStore } from "../../src/store/store.js";
import { collect } from "../helpers/data.js";
import { tempDir } from "../helpers/stores.js";

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

async function importFile(db: string, path: string, format: string) {
  const store = await openStore(db, { create: true });
  try {
    const f = importFormat(format);
    if (f.kind !== "judgments") throw new Error("judgment format expected");
    return await store.importJudgments(f.parse(path, {}));
  } finally {
    await store.close();
  }
}

async function exportFile(db: string, path: string, format: string) {
  const store = await openStore(db);
  try {
    const ex = exportFormat(format).open(path, {});
    for await (const j of store.judgments()) await ex.write(j);
    await ex.commit();
  } finally {
    await store.close();
  }
}

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

describe("import → export → import", () => {
  it("keel judgments round-trip exactly", async () => {
    await fc.assert(
      fc.asyncProperty(judgmentSet, async (js) => {
        const n = k++;
        const src = join(dir, `in${n}.jsonl`);
        writeFileSync(src, js.map((j) => JSON.stringify(j)).join("\n"));
        await importFile(join(dir, `a${n}.db`), src, "judgments");
        const out = join(dir, `out${n}.jsonl`);
        await exportFile(join(dir, `a${n}.db`), out, "judgments");
        const exported = readFileSync(out, "utf8")
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l));
        expect(exported).toEqual(withGoldEverywhere(js));
        const r = await importFile(join(dir, `b${n}.db`), out, "judgments");
        expect(r.appended).toBe(js.length);
        const again = join(dir, `again${n}.jsonl`);
        await exportFile(join(dir, `b${n}.db`), again, "judgments");
        expect(readFileSync(again, "utf8")).toBe(readFileSync(out, "utf8"));
      }),
      { numRuns: 25 },
    );
  });

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
          await importFile(join(dir, `t${n}.db`), src, "trl");
          const out = join(dir, `trl-out${n}.jsonl`);
          await exportFile(join(dir, `t${n}.db`), out, "trl");
          const rows = readFileSync(out, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l));
          // Identical pairs are one comparison (deduplicated by content), so compare as sets in order of first appearance.
          const unique = [...new Map(pairs.map((p) => [JSON.stringify(p), p])).values()];
          expect(rows).toEqual(unique);
          const store = await openStore(join(dir, `t${n}.db`));
          expect((await store.verifyLedger()).ok).toBe(true);
          expect((await collect(store.judgments())).length).toBe(unique.length);
          await store.close();
        },
      ),
      { numRuns: 20 },
    );
  });

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
          const report = await importFile(join(dir, `conv${n}.db`), src, "trl");
          expect(report.appended).toBe(rows.length);
          const weighted = rows.filter((r) => r.weighted).length;
          expect(report.ignoredFields).toEqual(weighted > 0 ? { weight: weighted } : {});
          const out = join(dir, `conv-out${n}.jsonl`);
          await exportFile(join(dir, `conv${n}.db`), out, "trl");
          const exported = readFileSync(out, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l));
          expect(exported).toEqual(rows.map((r) => r.expected));
        },
      ),
      { numRuns: 30 },
    );
  });
});
