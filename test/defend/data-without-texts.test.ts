/**
 * A store's `judgmentsTextsOnce` gives a comparison's texts with its first judgment only; the
 * audit's builder takes the later ones without texts and must give the same audit as from
 * judgments that all carry them.
 */
import { describe, expect, it } from "vitest";
import { AuditDataBuilder } from "../../src/defend/data.js";
import { audit, auditToJson } from "../../src/defend/index.js";
import { parseWorldConfig, simulatePanel } from "../../src/world/index.js";
import { textsOnce } from "../helpers/data.js";

const world = simulatePanel(
  parseWorldConfig({
    seed: 5,
    comparisons: { count: 500, overlap: 3, gold_rate: 0.1 },
    prompts: { count: 120 },
    panel: {
      raters: [
        { type: "honest", count: 14 },
        { type: "flipper", count: 2 },
      ],
    },
  }),
  5,
);

describe("AuditDataBuilder with later judgments without texts", () => {
  it("gives the audit it gives from judgments that all carry their texts", () => {
    const builder = new AuditDataBuilder();
    const input = textsOnce(world.judgments);
    expect(input.filter((j) => !("prompt" in j)).length).toBe(world.judgments.length - 500);
    for (const j of input) builder.add(j);
    const once = audit({ judgments: builder });
    const whole = audit({ judgments: world.judgments });
    expect(JSON.stringify(auditToJson(once))).toBe(JSON.stringify(auditToJson(whole)));
    expect([...once.judgmentWeights]).toEqual([...whole.judgmentWeights]);
  });

  it("refuses a judgment without texts before its comparison's first", () => {
    const { prompt: _p, response_a: _a, response_b: _b, ...bare } = world.judgments[0]!;
    expect(() => new AuditDataBuilder().add(bare)).toThrow(
      expect.objectContaining({ code: "KEEL_E_INTERNAL" }),
    );
  });
});
