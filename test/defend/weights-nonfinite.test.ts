/**
 * What the reward model trains on must be finite and in range: the cleaned preferences' p_a and
 * weight (0..1, docs/defend.md "Weights") whether they come from an audit in memory, from an
 * audit file, or from code, and the detectors' scores whatever a valid config asks of them.
 */
import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import type { Judgment } from "../../src/core/types.js";
import { CleanPlan } from "../../src/defend/clean.js";
import { resolveAuditConfig } from "../../src/defend/config.js";
import { audit, auditToJson, parseAuditComparison } from "../../src/defend/index.js";
import { betaCdf } from "../../src/defend/stats.js";

function judgment(c: string, rater: string, choice: "a" | "b", gold?: "a" | "b"): Judgment {
  return {
    comparison_id: c,
    prompt: `question ${c}`,
    response_a: `first answer to ${c}`,
    response_b: `second answer to ${c}`,
    rater_id: rater,
    choice,
    ...(gold ? { gold } : {}),
  };
}

function thrown(f: () => unknown): KeelError {
  try {
    f();
  } catch (e) {
    if (e instanceof KeelError) return e;
    throw e;
  }
  throw new Error("expected a KeelError");
}

describe("cleaned preferences refuse weights out of 0..1", () => {
  const ok = { comparison_id: "c1", p_a: 0.9, weight: 1, excluded: false, reasons: [] };

  it("reads an audit file's comparison only with weight in 0..1", () => {
    // Before: weight was any non-negative number, and --clean wrote weight · |2p − 1| = 8e8.
    const e = thrown(() => parseAuditComparison({ ...ok, weight: 1e9 }, 3, "audit.json"));
    expect(e.code).toBe("KEEL_E_INVALID_RECORD");
    expect(e.where).toMatchObject({ file: "audit.json", field: "comparisons.3.weight" });
    expect(parseAuditComparison(ok, 0).weight).toBe(1);
  });

  it("builds a plan only from comparisons whose p_a and weight are in 0..1", () => {
    // Before: the plan took whatever it was given (the pipeline and `train --data.weights` build
    // it from objects and from their own parse): weight 10⁹ trained as 8·10⁸; p_a NaN chose
    // side b (NaN > ½ is false) with weight NaN.
    for (const [field, bad] of [
      ["weight", 1e9],
      ["weight", Number.NaN],
      ["weight", Number.POSITIVE_INFINITY],
      ["weight", -0.5],
      ["p_a", Number.NaN],
      ["p_a", 1.5],
    ] as const) {
      const e = thrown(
        () => new CleanPlan([ok, { ...ok, comparison_id: "c2", [field]: bad }], "w.json"),
      );
      expect(e.code, `${field} ${bad}`).toBe("KEEL_E_INVALID_RECORD");
      expect(e.where, `${field} ${bad}`).toEqual({ file: "w.json", id: "c2", field });
      expect(e.message).toContain(`"c2" has ${field} ${bad}`);
    }
  });

  it("gives every row of a real audit a finite weight in 0..1", () => {
    const js = [
      ...Array.from({ length: 12 }, (_, i) => judgment(`c${i % 4}`, `r${i % 3}`, "a")),
      judgment("c9", "lone", "b"),
    ];
    const result = audit({ judgments: js });
    const plan = new CleanPlan(
      (auditToJson(result).comparisons as unknown[]).map((c, i) => parseAuditComparison(c, i)),
    );
    for (const j of js) {
      const row = plan.choose(j);
      if (!row) continue;
      const w = plan.weightOf(row)!;
      expect(w >= 0 && w <= 1, `${j.comparison_id} ${w}`).toBe(true);
      expect(Number.isFinite(plan.marginOf(row)!)).toBe(true);
    }
  });
});

describe("the gold detector's prior", () => {
  const js = [judgment("c1", "r", "a", "b"), judgment("c2", "r", "a", "a")];

  it("refuses pseudo-counts past a million as a config error naming the field", () => {
    // Before: accepted, and the incomplete beta of Beta(1e200 + 1, 2.5) was NaN: the audit
    // stopped with KEEL_E_INTERNAL "the gold detector scored rater #0 NaN".
    for (const field of ["prior_correct", "prior_wrong"]) {
      for (const bad of [1e200, 1e-300]) {
        const e = thrown(() =>
          audit({ judgments: js }, { config: { signals: { gold: { [field]: bad } } } }),
        );
        expect(e.code, `${field} ${bad}`).toBe("KEEL_E_CONFIG");
        expect(e.message).toContain(`signals.gold.${field}`);
      }
    }
  });

  it("scores a probability at the bounds it accepts", () => {
    for (const [prior_correct, prior_wrong] of [
      [1e-6, 1e-6],
      [1e6, 1e-6],
      [1e-6, 1e6],
      [1e6, 1e6],
    ]) {
      const config = resolveAuditConfig({ signals: { gold: { prior_correct, prior_wrong } } });
      const s = audit({ judgments: js }, { config }).raters[0]!.evidence.gold!.score;
      expect(s >= 0 && s <= 1, `${prior_correct} ${prior_wrong}: ${s}`).toBe(true);
    }
  });

  it("betaCdf stays in 0..1 where a parameter is near 0", () => {
    // I_x(1e-20, 8) came out 1 + 5.8e-15: a gold score above 1, which the decision refuses.
    expect(betaCdf(1e-12, 1e-20, 8)).toBeLessThanOrEqual(1);
    expect(betaCdf(0.9999999, 1e6, 1e-300)).toBeGreaterThanOrEqual(0);
    expect(betaCdf(0.5, 0, 1)).toBeNaN();
  });
});
