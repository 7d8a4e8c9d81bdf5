/**
 * truth.json's `summary` (docs/world.md, "Files"): counts by family and flag, and per rater its
 * judgments, accuracy against the true better response (ties excluded), gold judgments and gold
 * accuracy, and adversarial votes. Every figure is recounted here from the comparisons and the
 * judgments the same simulation wrote.
 */
import { describe, expect, it } from "vitest";
import type { Judgment } from "../../src/core/types.js";
import {
  type ComparisonTruth,
  parseWorldConfig,
  SummaryBuilder,
  simulatePanel,
} from "../../src/world/index.js";
import type { RaterProfile } from "../../src/world/raters/model.js";

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

describe("the truth summary", () => {
  it("holds the counts and per-rater accuracies recounted from the comparisons and judgments", () => {
    const { judgments, truth } = simulatePanel(
      parseWorldConfig({
        seed: 4,
        prompts: { count: 400 },
        comparisons: { count: 600, overlap: 3, gold_rate: 0.4 },
        trigger: { rate: 0.1 },
        panel: {
          raters: [
            { type: "honest", count: 6 },
            { type: "careless", count: 2, mode: "always_a" },
            { type: "flipper", count: 2, rate: 1 },
            { type: "backdoor", count: 2, rate: 1 },
          ],
        },
      }),
    );
    const byId = new Map(truth.comparisons.map((c) => [c.comparison_id, c]));
    const s = truth.summary;
    const count = (f: (c: ComparisonTruth) => boolean) => truth.comparisons.filter(f).length;
    expect(s.comparisons).toBe(600);
    expect(s.judgments).toBe(judgments.length);
    expect(s.ties).toBe(count((c) => c.better === "tie"));
    expect(s.gold).toBe(count((c) => c.gold));
    expect(s.triggered).toBe(count((c) => c.triggered));
    const families: Record<string, number> = {};
    for (const c of truth.comparisons) families[c.family] = (families[c.family] ?? 0) + 1;
    expect(s.by_family).toEqual(families);
    expect(s.attacked_judgments).toBe(
      truth.comparisons.reduce((n, c) => n + c.attacked_by.length, 0),
    );
    let goldJudged = 0;
    for (const r of truth.raters) {
      const mine = judgments.filter((j) => j.rater_id === r.rater_id);
      const decided = mine.filter((j) => byId.get(j.comparison_id)!.better !== "tie");
      const gold = decided.filter((j) => byId.get(j.comparison_id)!.gold);
      const right = (js: Judgment[]) =>
        js.filter((j) => j.choice === byId.get(j.comparison_id)!.better).length;
      goldJudged += gold.length;
      expect(s.raters[r.rater_id], r.rater_id).toEqual({
        type: r.type,
        judgments: mine.length,
        accuracy: decided.length > 0 ? round4(right(decided) / decided.length) : null,
        gold_judgments: gold.length,
        gold_accuracy: gold.length > 0 ? round4(right(gold) / gold.length) : null,
        attacked: count((c) => c.attacked_by.includes(r.rater_id)),
      });
    }
    expect(goldJudged).toBeGreaterThan(300);
    // Gold items are unambiguous: honest raters get most of them right.
    const honest = truth.raters.filter((r) => r.type === "honest");
    expect(honest.every((r) => s.raters[r.rater_id]!.gold_accuracy! > 0.5)).toBe(true);
  });

  it("gives a rater with a single gold judgment its gold accuracy, and one with none null", () => {
    const profile = (rater_id: string): RaterProfile => ({
      rater_id,
      type: "honest",
      group: "honest#0",
      params: {},
      activity: 1,
      pace: 1,
    });
    const b = new SummaryBuilder([profile("r1"), profile("r2")]);
    const judgment = (rater_id: string, choice: Judgment["choice"]): Judgment => ({
      comparison_id: "c1",
      prompt: "What is 7 + 5?",
      response_a: "12",
      response_b: "13",
      rater_id,
      choice,
    });
    b.add({
      truth: {
        comparison_id: "c1",
        family: "arithmetic",
        gold: true,
        triggered: false,
        better: "a",
        attacked_by: [],
      } as unknown as ComparisonTruth,
      judgments: [judgment("r1", "a")],
    });
    const s = b.finish();
    expect(s.raters.r1).toMatchObject({ accuracy: 1, gold_judgments: 1, gold_accuracy: 1 });
    expect(s.raters.r2).toMatchObject({ judgments: 0, accuracy: null, gold_accuracy: null });
    expect(s.by_family).toEqual({ arithmetic: 1 });
  });
});
