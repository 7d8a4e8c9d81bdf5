/**
 * A store's `judgmentsTextsOnce` gives a comparison's texts with its first judgment only; the
 * encoder takes the later ones without texts and must encode exactly what it encodes from
 * judgments that all carry them.
 */
import { describe, expect, it } from "vitest";
import { JudgmentEncoder } from "../../src/aggregate/index.js";
import { parseWorldConfig, simulatePanel } from "../../src/world/index.js";
import { textsOnce } from "../helpers/data.js";

const world = simulatePanel(
  parseWorldConfig({
    seed: 4,
    comparisons: { count: 400, overlap: 3, gold_rate: 0.1 },
    prompts: { count: 90 },
    panel: { raters: [{ type: "honest", count: 12 }] },
  }),
  4,
);

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
