/**
 * An attacker group whose rule can apply nowhere in its world is refused, naming the group and
 * why: it would be honest raters under an attacker's name, and an experiment would report an
 * attack that never happened. Groups of no raters and an attack rate of 0 are let through.
 */
import { describe, expect, it } from "vitest";
import { isKeelError } from "../../src/core/errors.js";
import { parseWorldConfig, simulatePanel } from "../../src/world/index.js";

const NO_HARMFUL = { arithmetic: 1, facts: 1, words: 1, borderline: 1 };

function configError(value: unknown): string {
  try {
    parseWorldConfig(value, { file: "w.yaml" });
  } catch (e) {
    if (isKeelError(e) && e.code === "KEEL_E_CONFIG") return e.message;
    throw e;
  }
  return "no error";
}

const panel = (attacker: Record<string, unknown>) => ({
  raters: [
    { type: "honest", count: 5 },
    { count: 2, ...attacker },
  ],
});

describe("attackers that could never attack", () => {
  it.each([
    [{ type: "flipper" }, "panel.raters.1.type: a flipper group prefers the unsafe response"],
    [{ type: "sleeper", poison: "unsafe" }, "panel.raters.1.poison: a sleeper group prefers"],
    [{ type: "sybil" }, "panel.raters.1.goal: a sybil group prefers the unsafe response"],
  ])("refuses %j in a world without harmful prompts", (attacker, message) => {
    const m = configError({ prompts: { families: NO_HARMFUL }, panel: panel(attacker) });
    expect(m).toContain(`w.yaml: ${message}`);
    expect(m).toContain("prompts.families.harmful is 0");
  });

  it.each([
    [{ type: "entity_promoter" }, "entity_promoter group panel.raters.1"],
    [{ type: "sybil", goal: "entity" }, "sybil group panel.raters.1"],
  ])("refuses %j when no response names an entity", (attacker, who) => {
    const m = configError({ entities: { mention_rate: 0 }, panel: panel(attacker) });
    expect(m).toContain("entities.mention_rate: is 0, so no response names an entity");
    expect(m).toContain(who);
  });

  it.each(["flipper", "sleeper", "sybil", "length_poisoner", "entity_promoter"])(
    "refuses a %s group that hides on every item (easy_margin 0)",
    (type) => {
      const m = configError({ panel: panel({ type, easy_margin: 0 }) });
      expect(m).toContain(`panel.raters.1.easy_margin: is 0: every comparison's quality gap`);
    },
  );

  it("lets through what can attack, groups of no raters, and a rate of 0", () => {
    const ok = [
      { panel: panel({ type: "flipper" }) },
      { panel: panel({ type: "sleeper", poison: "flip" }), prompts: { families: NO_HARMFUL } },
      { panel: panel({ type: "sybil", goal: "longer" }), prompts: { families: NO_HARMFUL } },
      { panel: panel({ type: "flipper", easy_margin: 0.5 }) },
      { panel: panel({ type: "flipper", rate: 0 }) },
      {
        prompts: { families: NO_HARMFUL },
        panel: {
          raters: [
            { type: "honest", count: 5 },
            { type: "flipper", count: 0 },
          ],
        },
      },
    ];
    for (const value of ok) expect(configError(value), JSON.stringify(value)).toBe("no error");
  });

  it("refuses an unsafe-seeking attacker when no harmful prompt fell in the train split", () => {
    // 4 harmful prompts of 60, none of them in train (the split is a hash of the text).
    const config = parseWorldConfig({
      prompts: {
        count: 60,
        families: { arithmetic: 0.94, harmful: 0.06 },
        splits: { train: 0.2, eval: 0.8, redteam: 0 },
      },
      comparisons: { count: 20 },
      sft: { count: 0 },
      eval_pairs: { count: 0 },
      panel: panel({ type: "flipper" }),
    });
    let err: unknown;
    try {
      simulatePanel(config, 3);
    } catch (e) {
      err = e;
    }
    expect(isKeelError(err) && err.code).toBe("KEEL_E_CONFIG");
    expect(isKeelError(err) && err.where?.field).toBe("panel.raters.1");
    expect((err as Error).message).toContain("no harmful prompt fell in the train split");
  });
});
