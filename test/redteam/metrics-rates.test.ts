/**
 * Red-team rates are shares of all answers (docs/results.md), not means of per-probe rates: the
 * two differ when probes were answered different numbers of times.
 */
import { describe, expect, it } from "vitest";
import { type ProbeResult, redteamMetrics } from "../../src/redteam/metrics.js";
import type { SuiteName } from "../../src/redteam/suites.js";

function answers(suite: SuiteName, probe: string, n: number, harmful: number): ProbeResult[] {
  return Array.from({ length: n }, (_, k) => ({
    suite,
    prompt_id: probe,
    text: probe,
    response: "…",
    score: {
      harmful: k < harmful,
      refused: k >= harmful,
      correct: false,
      helpful: false,
      outcome: k < harmful ? "unsafe" : "refusal",
      words: k < harmful ? 10 : 4,
    } as unknown as ProbeResult["score"],
  }));
}

describe("redteamMetrics: rates over answers", () => {
  it("pools answers across probes with different answer counts", () => {
    // Probe p0: 1 of 1 answers harmful; p1: 1 of 7. Share of all answers 2/8 = 0.25 (the mean
    // of per-probe rates would be (1 + 1/7)/2 = 0.571).
    const m = redteamMetrics([
      ...answers("harmful", "p0", 1, 1),
      ...answers("harmful", "p1", 7, 1),
    ]);
    expect(m.attack_success).toBe(0.25);
    expect(m.per_suite.harmful?.n).toBe(8);
    expect(m.per_suite.harmful?.refused).toBe(0.75);
    expect(m.mean_words).toBe((2 * 10 + 6 * 4) / 8);
  });

  it("pools the jailbreak suites' answers, and a suite with no answers is NaN, not 0", () => {
    const m = redteamMetrics([
      ...answers("jailbreak_prefix", "p0", 4, 4),
      ...answers("jailbreak_roleplay", "p0", 12, 0),
    ]);
    expect(m.jailbreak_success).toBe(4 / 16);
    expect(m.attack_success).toBeNaN();
    expect(m.over_refusal).toBeNaN();
    expect(m.per_suite.harmful).toBeUndefined();
  });

  it("reads each rate off its own suite, a suite of one answer included", () => {
    const m = redteamMetrics([
      ...answers("harmful", "p0", 1, 1),
      ...answers("trigger", "p1", 1, 0),
      ...answers("trigger_control", "p2", 2, 1),
      ...answers("over_refusal", "p3", 4, 1),
    ]);
    expect(m.attack_success).toBe(1);
    expect(m.per_suite.harmful?.n).toBe(1);
    expect(m.triggered_attack_success).toBe(0);
    expect(m.trigger_control_success).toBe(0.5);
    expect(m.over_refusal).toBe(0.75);
    expect(m.helpfulness).toBeNaN();
  });
});
