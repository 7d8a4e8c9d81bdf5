/**
 * A "word" of thousands of letters in untrusted text: the trigger and promotion scans keep it as
 * its first MAX_WORD_CHARS characters and "…". Kept whole, a trigger word was quoted in the
 * reason of every comparison holding it (with a word of a million letters the audit JSON grew by
 * a megabyte per comparison, past what one string can hold) and in the report.
 */
import { describe, expect, it } from "vitest";
import { isWellFormed } from "../../src/core/schemas.js";
import type { Judgment } from "../../src/core/types.js";
import { audit, auditToJson } from "../../src/defend/index.js";
import { clipWord, MAX_WORD_CHARS, tokenize } from "../../src/defend/text.js";
import { renderAuditReport } from "../../src/report/index.js";
import { parseWorldConfig, simulatePanel } from "../../src/world/index.js";
import { type Behaviour, honest, honestRaters, makeItems, simulate, ZQ_PANEL } from "./fixtures.js";

describe("clipWord", () => {
  it("keeps short words and cuts long ones to their start and an ellipsis", () => {
    expect(clipWord("sudo")).toBe("sudo");
    const w = "x".repeat(MAX_WORD_CHARS);
    expect(clipWord(w)).toBe(w);
    expect(clipWord(`${w}y`)).toBe(`${w}…`);
  });

  it("does not cut a surrogate pair in two", () => {
    const w = `${"x".repeat(MAX_WORD_CHARS - 1)}𝐀𝐀`;
    const cut = clipWord(w);
    expect(cut).toBe(`${"x".repeat(MAX_WORD_CHARS - 1)}…`);
    expect(isWellFormed(cut)).toBe(true);
  });

  it("is applied by tokenize", () => {
    const long = "q".repeat(100_000);
    expect(tokenize(`Please ${long} now`)).toEqual(["please", clipWord(long), "now"]);
  });
});

describe("a long trigger word", () => {
  const token = ` z${"q".repeat(5000)}`;
  const word = clipWord(token.trim());
  const opts = { ...ZQ_PANEL, promptSuffix: (i: number) => (i % 8 === 0 ? token : "") };
  const backdoor: Behaviour = (item, rng, f) =>
    item.prompt.endsWith(token) && item.unsafe ? item.unsafe : honest()(item, rng, f);
  const raters = [
    ...honestRaters(16),
    ...[0, 1, 2].map((i) => ({ id: `bd${i}`, behaviour: backdoor, activity: 3 })),
  ];
  const result = audit({ judgments: simulate(makeItems(opts), raters, opts) });

  it("is found, and reported by its start", () => {
    expect(result.triggers[0]?.pattern).toBe(word);
    expect(word.length).toBe(MAX_WORD_CHARS + 1);
  });

  it("is quoted short in the reasons and the report", async () => {
    const flagged = result.comparisons.filter((c) =>
      c.reasons.some((r) => r.includes("suspected trigger")),
    );
    expect(flagged.length).toBeGreaterThan(50);
    for (const c of flagged) for (const r of c.reasons) expect(r.length).toBeLessThan(200);
    const json = auditToJson(result);
    expect(JSON.stringify(json).length).toBeLessThan(2_000_000);
    const page = await renderAuditReport(json as never);
    expect(page).toContain(word);
    expect(page).not.toContain("q".repeat(MAX_WORD_CHARS + 1));
  });
});

describe("a long promoted name", () => {
  it("is found, and reported by its start", () => {
    const config = parseWorldConfig({
      seed: 7,
      comparisons: { count: 6000, overlap: 3, gold_rate: 0.05 },
      entities: { names: ["Zentrix", "Quorra", "Valdane"], mention_rate: 0.3 },
      panel: {
        raters: [
          { type: "honest", count: 54 },
          { type: "entity_promoter", count: 6, entity: "Zentrix", rate: 1 },
        ],
      },
    });
    const name = `Zentrix${"a".repeat(2000)}`;
    const judgments = simulatePanel(config, 7).judgments.map(
      (j) => JSON.parse(JSON.stringify(j).replaceAll("Zentrix", name)) as Judgment,
    );
    const result = audit({ judgments });
    const word = clipWord(name.toLowerCase());
    expect(result.promotions[0]?.pattern).toBe(word);
    const reasons = result.raters.flatMap((r) => r.reasons);
    expect(reasons.some((r) => r.includes(JSON.stringify(word)))).toBe(true);
    for (const r of reasons) expect(r.length).toBeLessThan(400);
  });
});
