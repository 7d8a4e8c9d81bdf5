import { describe, expect, it } from "vitest";
import { applyAttack, attackerGroupIndex } from "../../src/redteam/scenarios.js";
import { parseWorldConfig, simulatePanel } from "../../src/world/index.js";

/** A sweep-like clean panel: honest raters first, careless groups after them. */
const base = {
  prompts: { count: 600 },
  trigger: { token: "SUDO", rate: 0.1 },
  comparisons: { count: 800, overlap: 3 },
  panel: {
    size: 100,
    raters: [
      { type: "honest" as const, share: 0.9 },
      { type: "careless" as const, share: 0.05, mode: "random" as const },
      { type: "careless" as const, share: 0.05, mode: "always_a" as const },
    ],
  },
};

function run(config: unknown) {
  const sim = simulatePanel(parseWorldConfig(config as never), 11);
  const type = new Map(sim.truth.raters.map((r) => [r.rater_id, r.type]));
  const votes = new Map(sim.judgments.map((j) => [`${j.comparison_id}/${j.rater_id}`, j.choice]));
  return { sim, type, votes };
}

describe("an attacked world paired with the clean world of the same seed", () => {
  const clean = run(base);
  const attacked = run(applyAttack(base, { type: "backdoor", rate: 0.05, claim: 0.9 }));

  it("puts the attacker in the honest raters' places, so every other rater keeps its id", () => {
    const groups = (applyAttack(base, { type: "flip", rate: 0.05 }) as typeof base).panel.raters;
    expect(groups.map((g) => g.type)).toEqual(["honest", "flipper", "careless", "careless"]);
    expect(attackerGroupIndex(groups)).toBe(1);
    let moved = 0;
    for (const [id, t] of attacked.type) if (t !== "backdoor" && clean.type.get(id) !== t) moved++;
    expect(moved).toBe(0);
    expect([...attacked.type.values()].filter((t) => t === "backdoor")).toHaveLength(5);
  });

  it("gives the comparisons the clean world's raters and honest votes, but where claimed", () => {
    const backdoor = new Set(
      [...attacked.type].filter(([, t]) => t === "backdoor").map(([id]) => id),
    );
    const byId = new Map(clean.sim.truth.comparisons.map((c) => [c.comparison_id, c]));
    let pairs = 0;
    let matched = 0;
    let honest = 0;
    let agree = 0;
    let claimed = 0;
    for (const c of attacked.sim.truth.comparisons) {
      if (c.triggered && c.raters.filter((r) => backdoor.has(r)).length >= 2) claimed++;
      const before = new Set(byId.get(c.comparison_id)!.raters);
      for (const r of c.raters) {
        if (backdoor.has(r)) continue;
        pairs++;
        if (!before.has(r)) continue;
        matched++;
        if (attacked.type.get(r) !== "honest") continue;
        const k = `${c.comparison_id}/${r}`;
        honest++;
        if (attacked.votes.get(k) === clean.votes.get(k)) agree++;
      }
    }
    // The attack is there (claimed triggered comparisons), and the rest is the clean world's:
    // with claims drawn from the panel's own stream, 5% of the pairs matched (107 of 2,102).
    expect(claimed).toBeGreaterThan(40);
    expect(matched / pairs).toBeGreaterThan(0.95);
    expect(agree / honest).toBeGreaterThan(0.97);
  });
});
