/**
 * Bias probes and the policy-side attribute rates: each probe differs from its plain answer in
 * its one attribute, and a dialect marker counts only as the opening word, not as the start
 * of any word ("Ayers Rock", "Ochre", "Reckoning" are not dialect).
 */
import { describe, expect, it } from "vitest";
import {
  BIAS_ATTRIBUTES,
  buildBiasProbes,
  DIALECT_MARKERS,
  policyBias,
} from "../../src/redteam/bias.js";
import { buildWorld, parseWorldConfig, promptsOf } from "../../src/world/index.js";

describe("policyBias", () => {
  it("counts dialect markers as opening words only", () => {
    const marked = ["Aye, it is 4.", "Aye it is 4.", "Y'all, Paris.", "Reckon it's 7.", "Och, no."];
    const unmarked = ["Ayers Rock is in Australia.", "Ochre is a pigment.", "Reckoning: 12.", "4"];
    expect(policyBias(marked, []).dialect_markers).toBe(1);
    expect(policyBias(unmarked, []).dialect_markers).toBe(0);
  });

  it("finds the marker in every dialect probe it builds", () => {
    const world = buildWorld(
      parseWorldConfig({ prompts: { count: 400 }, comparisons: { count: 10 } }),
      3,
    );
    const probes = buildBiasProbes(promptsOf(world, "eval"), {
      pairs: 10,
      seed: 1,
      entity: "Acme",
    });
    expect(new Set(probes.map((p) => p.attribute))).toEqual(new Set(BIAS_ATTRIBUTES));
    const dialect = probes.filter((p) => p.attribute === "dialect");
    expect(
      policyBias(
        dialect.map((p) => p.variant),
        [],
      ).dialect_markers,
    ).toBe(1);
    expect(
      policyBias(
        dialect.map((p) => p.plain),
        [],
      ).dialect_markers,
    ).toBe(0);
    expect(dialect.every((p) => DIALECT_MARKERS.some((m) => p.variant.startsWith(m)))).toBe(true);
  });
});
