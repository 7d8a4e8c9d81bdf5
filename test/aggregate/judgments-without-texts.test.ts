/**
 * A store's `judgmentsTextsOnce` gives a comparison's texts with its first judgment only; the
 * encoder takes the later ones without texts and must encode exactly what it encodes from
 * judgments that all carry them.
 */
import { describe, expect, it } from "vitest";
import { JudgmentEncoder, type JudgmentWithoutTexts } from "../../src/aggregate/index.js";
import type { Judgment } from "../../src/core/types.js";
import { parseWorldConfig, simulatePanel } from "../../src/world/index.js";

const world = simulatePanel(
  parseWorldConfig({
    seed: 4,
    comparisons: { count: 400, overlap: 3, gold_rate: 0.1 },
    prompts: { count: 90 },
    panel: { raters: [{ type: "honest", count: 12 }] },
  }),
  4,
);

/** The judgments with the texts of each comparison's later judgments taken off. */
function textsOnce(js: readonly Judgment[]): (Judgment | JudgmentWithoutTexts)[] {
  const seen = new Set<string>();
  return js.map((j) => {
    if (!seen.has(j.comparison_id)) {
      seen.add(j.comparison_id);
      return j;
    }
    const { prompt: _p, response_a: _a, response_b: _b, ...rest } = j;
    return rest;
  });
}

describe("JudgmentEncoder with later judgments without texts", () => {
  it("encodes what it encodes from judgments that all carry their texts", () => {
    // Swapped orders and repeated prompts are what the item keys and outcomes depend on.
    const js = world.judgments.map((j, i) =>
      i % 3 === 0 ? { ...j, shown_order: "ba" as const } : j,
    );
    expect(new Set(js.map((j) => j.prompt)).size).toBeLessThan(400);
    const whole = new JudgmentEncoder();
    for (const j of js) whole.add(j);
    const once = new JudgmentEncoder();
    const input = textsOnce(js);
    expect(input.filter((j) => !("prompt" in j)).length).toBe(js.length - 400);
    for (const j of input) once.add(j);
    expect(once.finish()).toEqual(whole.finish());
  });

  it("refuses a judgment without texts before its comparison's first", () => {
    const { prompt: _p, response_a: _a, response_b: _b, ...bare } = world.judgments[0]!;
    expect(() => new JudgmentEncoder().add(bare)).toThrow(
      expect.objectContaining({ code: "KEEL_E_INTERNAL" }),
    );
  });
});
