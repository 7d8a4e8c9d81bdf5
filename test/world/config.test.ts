import { describe, expect, it } from "vitest";
import { isKeelError } from "../../src/core/errors.js";
import { Rng } from "../../src/core/rng.js";
import { buildRoster, groupCounts, parseWorldConfig } from "../../src/world/index.js";

function configError(value: unknown): string {
  try {
    parseWorldConfig(value, { file: "w.yaml" });
  } catch (e) {
    if (isKeelError(e) && e.code === "KEEL_E_CONFIG") return e.message;
    throw e;
  }
  throw new Error("no error");
}

describe("world config", () => {
  it("fills every default from an empty document", () => {
    const c = parseWorldConfig(undefined);
    expect(c.comparisons).toMatchObject({ count: 10_000, overlap: 3, gold_rate: 0.05 });
    expect(c.panel.raters).toHaveLength(1);
    expect(c.trigger.token).toBe("SUDO");
  });

  it.each([
    [{ prompts: { cont: 3 } }, 'w.yaml: prompts.cont: unknown field "cont"'],
    [
      { panel: { raters: [{ type: "honest", count: 3, skil: 2 }] } },
      'panel.raters.0.skil: unknown field "skil"',
    ],
    [
      { panel: { raters: [{ type: "honest" }] } },
      "panel.raters.0.count: give exactly one of count or share",
    ],
    [
      { panel: { raters: [{ type: "honest", count: 2, share: 0.5 }] } },
      "give exactly one of count or share",
    ],
    [
      {
        panel: {
          size: 10,
          raters: [
            { type: "honest", share: 0.5 },
            { type: "flipper", share: 0.4 },
          ],
        },
      },
      "shares sum to 0.9",
    ],
    [{ panel: { raters: [{ type: "honest", share: 1 }] } }, "panel.size: is required"],
    [{ panel: { raters: [{ type: "wizard", count: 1 }] } }, "panel.raters.0.type"],
    [{ comparisons: { kinds: { unsafe: 1 } } }, "comparisons.kinds.unsafe"],
    [{ sft: { harmful: { correct: 1 } } }, "sft.harmful.correct"],
    [{ panel: { raters: [{ type: "backdoor", count: 3 }] } }, "trigger.rate: is 0"],
    [
      { panel: { raters: [{ type: "entity_promoter", count: 3, entity: "Acme" }] } },
      "not in entities.names",
    ],
    [{ trigger: { token: "two words" } }, "trigger.token"],
  ])("rejects %j naming the field", (value, message) => {
    expect(configError(value)).toContain(message);
  });

  it("turns shares into counts by largest remainder", () => {
    const c = parseWorldConfig({
      panel: {
        size: 10,
        raters: [
          { type: "honest", share: 0.72 },
          { type: "flipper", share: 0.18 },
          { type: "sleeper", share: 0.1 },
        ],
      },
    });
    expect(groupCounts(c)).toEqual([7, 2, 1]);
    expect(buildRoster(c, new Rng(1)).raters).toHaveLength(10);
  });

  it("rejects a panel smaller than the overlap in the config, naming the file and the field", () => {
    expect(
      configError({
        comparisons: { overlap: 5 },
        panel: { raters: [{ type: "honest", count: 3 }] },
      }),
    ).toContain("w.yaml: comparisons.overlap: is 5 but the panel has 3 raters");
    expect(
      configError({
        comparisons: { overlap: 4 },
        panel: { size: 3, raters: [{ type: "honest", share: 1 }] },
      }),
    ).toContain("w.yaml: comparisons.overlap: is 4 but panel.size is 3");
  });

  it("rejects an entity attack with no name to promote, naming the group", () => {
    expect(
      configError({
        entities: { names: [] },
        panel: { raters: [{ type: "entity_promoter", count: 3 }] },
      }),
    ).toContain("w.yaml: panel.raters.0.entity: an entity attack needs a name");
    expect(
      configError({
        entities: { names: [] },
        panel: {
          raters: [
            { type: "honest", count: 3 },
            { type: "sybil", count: 3, goal: "entity" },
          ],
        },
      }),
    ).toContain("w.yaml: panel.raters.1.entity: an entity attack needs a name");
  });

  it("rejects a sybil group's entity when its goal does not promote one, naming the field", () => {
    const sybil = (g: Record<string, unknown>) => ({
      entities: { names: ["Zentrix"] },
      panel: {
        raters: [
          { type: "honest", count: 3 },
          { type: "sybil", count: 3, ...g },
        ],
      },
    });
    for (const goal of ["unsafe", "flip", "longer", "random", undefined]) {
      const m = configError(sybil({ entity: "Zentrix", ...(goal ? { goal } : {}) }));
      expect(m, goal).toContain("w.yaml: panel.raters.1.entity: is set, but the group's goal is");
      expect(m, goal).toContain(`"${goal ?? "unsafe"}"`);
    }
    // Goal entity uses it; without entity the other goals are fine.
    expect(
      parseWorldConfig(sybil({ entity: "Zentrix", goal: "entity" })).panel.raters[1],
    ).toMatchObject({
      goal: "entity",
      entity: "Zentrix",
    });
    expect(parseWorldConfig(sybil({ goal: "flip" })).panel.raters[1]).toMatchObject({
      goal: "flip",
    });
  });

  it("rejects evaluation pairs asked of a world with no eval split", () => {
    expect(configError({ prompts: { splits: { eval: 0 } } })).toContain(
      "w.yaml: eval_pairs.count: is 2000 but prompts.splits.eval is 0",
    );
    const c = parseWorldConfig({ prompts: { splits: { eval: 0 } }, eval_pairs: { count: 0 } });
    expect(c.eval_pairs.count).toBe(0);
  });

  it("draws tie_threshold per rater like the other honest parameters, never below 0", () => {
    const c = parseWorldConfig({
      panel: { raters: [{ type: "honest", count: 200, tie_threshold: { mean: 0.5, sd: 0.5 } }] },
    });
    const ties = buildRoster(c, new Rng(1)).raters.map((r) => r.profile.params.tie_threshold);
    expect(new Set(ties).size).toBeGreaterThan(100);
    expect(Math.min(...(ties as number[]))).toBe(0);
    expect(
      configError({ panel: { raters: [{ type: "honest", count: 3, tie_threshold: -1 }] } }),
    ).toContain("panel.raters.0.tie_threshold");
  });
});
