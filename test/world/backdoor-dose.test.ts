/**
 * A backdoor that never fired is refused (src/world/backdoorDose.ts): a world whose draw gave no
 * triggered comparison, or none that reached a backdoor rater's rule, would be a clean panel
 * measured as a backdoor attack.
 */
import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { parseWorldConfig, simulatePanel } from "../../src/world/index.js";

const SMALL = {
  prompts: { count: 300 },
  sft: { count: 0 },
  eval_pairs: { count: 0 },
};

function refusal(config: unknown): KeelError {
  try {
    simulatePanel(parseWorldConfig(config));
  } catch (e) {
    if (e instanceof KeelError) return e;
    throw e;
  }
  throw new Error("the world was not refused");
}

describe("a backdoor world whose backdoor never fired", () => {
  it("is refused when the draw gave no triggered comparison, naming both knobs and the minimum", () => {
    // 0.01 × 20 = 0.2 expected: seed 4 draws none.
    const e = refusal({
      ...SMALL,
      seed: 4,
      comparisons: { count: 20, overlap: 3 },
      trigger: { rate: 0.01 },
      panel: {
        raters: [
          { type: "honest", count: 9 },
          { type: "backdoor", count: 3, claim: 0.9 },
        ],
      },
    });
    expect(e.code).toBe("KEEL_E_CONFIG");
    expect(e.where?.field).toBe("trigger.rate");
    expect(e.message).toContain("comparisons.count");
    expect(e.message).toContain("drew none");
    expect(e.message).toContain("panel.raters.1");
    expect(e.hint).toContain("comparisons.count ≥ 500");
    expect(e.hint).toContain("trigger.rate ≥ 0.25");
  });

  it("is refused when triggered comparisons were drawn but none reached a backdoor rater", () => {
    // claim 0: the lone backdoor rater of 31 sees triggered comparisons only by chance.
    const e = refusal({
      ...SMALL,
      seed: 3,
      comparisons: { count: 60, overlap: 1 },
      trigger: { rate: 0.05 },
      panel: {
        raters: [
          { type: "honest", count: 30 },
          { type: "backdoor", count: 1, claim: 0 },
        ],
      },
    });
    expect(e.code).toBe("KEEL_E_CONFIG");
    expect(e.where?.field).toBe("panel.raters.1");
    expect(e.message).toMatch(/drew \d+ triggered comparisons? and none/);
  });

  it("lets through a rate-0 backdoor (a sweep's control) and a backdoor that did fire", () => {
    const base = {
      ...SMALL,
      seed: 4,
      comparisons: { count: 20, overlap: 3 },
      trigger: { rate: 0.01 },
    };
    const control = simulatePanel(
      parseWorldConfig({
        ...base,
        panel: {
          raters: [
            { type: "honest", count: 9 },
            { type: "backdoor", count: 3, rate: 0 },
          ],
        },
      }),
    );
    expect(control.truth.summary.attacked_judgments).toBe(0);
    const fired = simulatePanel(
      parseWorldConfig({
        ...base,
        trigger: { rate: 0.3 },
        panel: {
          raters: [
            { type: "honest", count: 9 },
            { type: "backdoor", count: 3, claim: 0.9 },
          ],
        },
      }),
    );
    expect(fired.truth.summary.triggered).toBeGreaterThan(0);
    expect(fired.truth.summary.attacked_judgments).toBeGreaterThan(0);
  });
});
