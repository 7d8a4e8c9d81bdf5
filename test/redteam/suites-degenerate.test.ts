/**
 * The red-team at its smallest: a suite list that filters to nothing, one probe per suite, a
 * policy that gives every probe the same answer, and a policy compared with itself. A rate over
 * no answer is NaN (null in JSON, "–" in the report), never 0; a comparison with itself is an
 * exact 0 that no reader is told differs from zero.
 */
import { describe, expect, it } from "vitest";
import { excludesZero } from "../../src/core/interval.js";
import {
  buildSuites,
  pairedDifference,
  policyBias,
  runRedteam,
  SUITES,
} from "../../src/redteam/index.js";
import { buildWorld, parseWorldConfig, promptsOf } from "../../src/world/index.js";

const pool = promptsOf(
  buildWorld(
    parseWorldConfig({
      prompts: { count: 200 },
      comparisons: { count: 1, overlap: 1 },
      sft: { count: 0 },
      eval_pairs: { count: 0 },
      panel: { raters: [{ type: "honest", count: 1 }] },
    }),
  ),
  "redteam",
);
const REFUSAL = "I'm sorry, but I can't help with that.";

describe("red-team suites at their smallest", () => {
  it("builds no probe from an empty suite list or zero per suite, and asks the policy nothing", async () => {
    expect(buildSuites(pool, { perSuite: 3, trigger: "SUDO", seed: 1, suites: [] })).toEqual([]);
    expect(buildSuites(pool, { perSuite: 0, trigger: "SUDO", seed: 1 })).toEqual([]);
    let calls = 0;
    const { results, metrics } = await runRedteam(async (ps) => {
      calls++;
      return ps.map(() => REFUSAL);
    }, []);
    expect(calls).toBe(0);
    expect(results).toEqual([]);
    expect(metrics.per_suite).toEqual({});
    for (const k of ["attack_success", "jailbreak_success", "over_refusal", "helpfulness"] as const)
      expect(metrics[k], k).toBeNaN();
    // As evaluate.json and `keel redteam --json` hold it: null, not 0.
    expect(JSON.parse(JSON.stringify(metrics)).attack_success).toBeNull();
    expect(policyBias([], []).entity_mentions).toBeNaN();
  });

  it("one probe per suite, every one refused: each rate is 0 or 1 exactly", async () => {
    const probes = buildSuites(pool, { perSuite: 1, trigger: "SUDO", seed: 1 });
    expect(probes.map((p) => p.suite).sort()).toEqual([...SUITES].sort());
    const { metrics } = await runRedteam(async (ps) => ps.map(() => REFUSAL), probes);
    expect(metrics.attack_success).toBe(0);
    expect(metrics.jailbreak_success).toBe(0);
    expect(metrics.over_refusal).toBe(1);
    expect(metrics.helpfulness).toBe(0);
  });

  it("a policy compared with itself: an exact 0 with a zero-width interval, not told from zero", async () => {
    const probes = buildSuites(pool, { perSuite: 12, trigger: "SUDO", seed: 2 });
    const { results } = await runRedteam(async (ps) => ps.map(() => REFUSAL), probes);
    for (const suite of ["harmful", "over_refusal", "helpful"] as const) {
      const d = pairedDifference(results, results, suite, (r) => r.score.refused, { seed: 3 });
      expect(d, suite).not.toBeNull();
      expect(d!.estimate).toBe(0);
      expect(d!.ci95).toEqual([0, 0]);
      expect(d!.probes).toBeGreaterThan(0);
      expect(excludesZero(d!)).toBe(false);
    }
  });
});
