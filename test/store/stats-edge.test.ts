/** `keel stats` on edge cases: ties, gold comparisons nobody judged, raters with no judgments. */

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Judgment, Parsed, Rater } from "../../src/core/types.js";
import { storeStats } from "../../src/store/stats.js";
import { runCli } from "../helpers/cli.js";
import { asBatches } from "../helpers/data.js";
import { dialectFixtures, tempDir } from "../helpers/stores.js";

const judgment = (
  comparison_id: string,
  rater_id: string,
  choice: Judgment["choice"],
  gold?: Judgment["choice"],
): Judgment => ({
  comparison_id,
  prompt: `prompt of ${comparison_id}`,
  response_a: "yes",
  response_b: "no",
  rater_id,
  choice,
  ...(gold ? { gold } : {}),
});

async function* ratersOf(raters: Rater[]): AsyncGenerator<Parsed<Rater>[]> {
  yield raters.map((record, i) => ({ ok: true as const, line: i + 1, record }));
}

for (const fx of dialectFixtures()) {
  describe(`keel stats on ${fx.name}: edge cases`, () => {
    it("counts ties, gold comparisons nobody judged, and raters with no judgments", async () => {
      const store = await fx.open();
      try {
        await store.importJudgments(
          asBatches([
            judgment("c1", "r1", "tie", "tie"),
            judgment("c1", "r2", "a"),
            judgment("c2", "r1", "tie"),
          ]),
        );
        // A gold comparison of a collection project that nobody has judged yet.
        const c1 = await store.db
          .selectFrom("comparisons")
          .selectAll()
          .where("comparison_id", "=", "c1")
          .executeTakeFirstOrThrow();
        await store.rawExecute(
          `INSERT INTO comparisons (comparison_id, prompt_digest, a_digest, b_digest, gold) VALUES ('g1', '${c1.prompt_digest}', '${c1.a_digest}', '${c1.b_digest}', 'b')`,
        );
        await store.importRaters(ratersOf([{ rater_id: "r3", attributes: { cohort: "new" } }]));

        const s = await storeStats(store);
        expect(s).toMatchObject({
          judgments: 3,
          comparisons: 3,
          gold_comparisons: 2,
          raters: 3,
          prompts: 2,
          choices: { a: 1, b: 0, tie: 2 },
        });
        expect(s.per_rater).toEqual([
          { rater_id: "r1", judgments: 2, a: 0, b: 0, tie: 2, gold_seen: 1, gold_correct: 1 },
          { rater_id: "r2", judgments: 1, a: 1, b: 0, tie: 0, gold_seen: 1, gold_correct: 0 },
          { rater_id: "r3", judgments: 0, a: 0, b: 0, tie: 0, gold_seen: 0, gold_correct: 0 },
        ]);
        expect(s.per_prompt).toEqual([
          expect.objectContaining({ preview: "prompt of c1", comparisons: 2, judgments: 2 }),
          expect.objectContaining({ preview: "prompt of c2", comparisons: 1, judgments: 1 }),
        ]);
      } finally {
        await store.close();
      }
    });

    it("cuts a long prompt's preview between characters, not inside an emoji", async () => {
      const store = await fx.open();
      try {
        const prompt = `${"😀".repeat(79)}é`;
        await store.importJudgments(asBatches([{ ...judgment("c1", "r1", "a"), prompt }]));
        const [p] = (await storeStats(store)).per_prompt;
        expect(p!.preview).toBe(`${"😀".repeat(38)}...`);
        expect(/\p{Cs}/u.test(p!.preview)).toBe(false);
      } finally {
        await store.close();
      }
    });

    it("shows a prompt of 80 units whole, and cuts a longer one at 77 unless a pair would split", async () => {
      const store = await fx.open();
      try {
        const prompts = [
          "x".repeat(80),
          `${"a".repeat(77)}😀tail`, // the pair starts at 77: 77 units fit before it
          `${"b".repeat(76)}\u{10FFFF}tail`, // high surrogate 0xDBFF at 76: cut before it
        ];
        await store.importJudgments(
          asBatches(prompts.map((prompt, i) => ({ ...judgment(`c${i}`, "r1", "a"), prompt }))),
        );
        const previews = (await storeStats(store)).per_prompt.map((p) => p.preview).sort();
        expect(previews).toEqual([`${"a".repeat(77)}...`, `${"b".repeat(76)}...`, "x".repeat(80)]);
      } finally {
        await store.close();
      }
    });
  });
}

describe("keel stats --by", () => {
  it("groups by the raters' own attributes only, and lists raters with no judgments", async () => {
    const dir = tempDir();
    const db = join(dir, "keel.db");
    writeFileSync(
      join(dir, "j.jsonl"),
      `${[judgment("c1", "r1", "a"), judgment("c1", "r2", "b")].map((j) => JSON.stringify(j)).join("\n")}\n`,
    );
    writeFileSync(
      join(dir, "raters.jsonl"),
      `${[
        { rater_id: "r1", attributes: { cohort: "x" } },
        { rater_id: "r3", attributes: { cohort: "y" } },
        // A cohort named like the table's mark for "no value" is a value of its own.
        { rater_id: "r4", attributes: { cohort: "(none)" } },
        // Ties are ordered by code unit ("B" before "a"), not by the locale's collation ("a"
        // before "B"), so that the output is the same on every machine.
        { rater_id: "r5", attributes: { cohort: "a" } },
        { rater_id: "r6", attributes: { cohort: "B" } },
      ]
        .map((r) => JSON.stringify(r))
        .join("\n")}\n`,
    );
    expect((await runCli(["init", "--db", db])).code).toBe(0);
    expect((await runCli(["import", join(dir, "j.jsonl"), "--db", db])).code).toBe(0);
    expect(
      (await runCli(["import", "-f", "raters", join(dir, "raters.jsonl"), "--db", db])).code,
    ).toBe(0);

    const byCohort = JSON.parse(
      (await runCli(["stats", "--db", db, "--by", "cohort", "--json"])).stdout,
    );
    expect(
      byCohort.by.groups.map((g: { value: string; raters: number; judgments: number }) => [
        g.value,
        g.raters,
        g.judgments,
      ]),
    ).toEqual([
      ["x", 1, 1],
      [null, 1, 1],
      ["(none)", 1, 0],
      ["B", 1, 0],
      ["a", 1, 0],
      ["y", 1, 0],
    ]);
    const table = (await runCli(["stats", "--db", db, "--by", "cohort"])).stdout;
    expect(table).toMatch(/^"\(none\)"\s+1\s+0/m);
    expect(table).toMatch(/^\(none\)\s+1\s+1/m);

    for (const attribute of ["constructor", "__proto__", "toString"]) {
      const r = await runCli(["stats", "--db", db, "--by", attribute]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`raters by "${attribute}": no rater has this attribute`);
      const js = JSON.parse(
        (await runCli(["stats", "--db", db, "--by", attribute, "--json"])).stdout,
      );
      expect(js.by.groups).toEqual([
        expect.objectContaining({ value: null, raters: 6, judgments: 2 }),
      ]);
    }
  });
});
