import { describe, expect, it } from "vitest";
import type { Judgment } from "../../src/core/types.js";
import { CleanPlan } from "../../src/defend/clean.js";
import { audit, auditToJson, parseAuditJson } from "../../src/defend/index.js";

/** 60 judgments of 12 comparisons by 5 raters, from a small LCG: many near-ties. */
function judgments(seed: number): Judgment[] {
  let s = seed;
  const rnd = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
  const out: Judgment[] = [];
  for (let i = 0; i < 60; i++) {
    const c = Math.floor(rnd() * 12);
    const r = Math.floor(rnd() * 5);
    out.push({
      comparison_id: `c${c}`,
      prompt: `q ${c}`,
      response_a: `a ${c}`,
      response_b: `b ${c}`,
      rater_id: `r${r}`,
      choice: (["a", "b", "tie"] as const)[Math.floor(rnd() * 3)]!,
    });
  }
  return out;
}

/** What `keel export --clean` writes per comparison: [id, chosen, weight] or [id, null]. */
function rows(plan: CleanPlan, js: readonly Judgment[]) {
  return js.map((j) => {
    const c = plan.choose(j);
    return c ? [j.comparison_id, c.choice, plan.weightOf(j)] : [j.comparison_id, null];
  });
}

describe("CleanPlan", () => {
  it("an audit applied in memory writes the rows its audit JSON would", () => {
    let nearTies = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const js = judgments(seed);
      const result = audit({ judgments: js });
      nearTies += result.comparisons.filter(
        (c) => c.p_a !== 0.5 && Math.abs(c.p_a - 0.5) < 1e-9,
      ).length;
      const file = parseAuditJson(JSON.parse(JSON.stringify(auditToJson(result))));
      expect(rows(new CleanPlan(result.comparisons), js)).toEqual(
        rows(new CleanPlan(file.comparisons), js),
      );
    }
    // Dawid–Skene leaves some ties a rounding error off ½: the case that differed.
    expect(nearTies).toBeGreaterThan(0);
  });
});
