import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Choice, Judgment } from "../../src/core/types.js";
import {
  AuditDataBuilder,
  audit,
  auditToJson,
  parseAuditComparison,
  parseAuditJson,
} from "../../src/defend/index.js";
import { parseWorldConfig, simulatePanel } from "../../src/world/index.js";

const world = simulatePanel(
  parseWorldConfig({
    seed: 9,
    comparisons: { count: 3000, overlap: 3, gold_rate: 0.05 },
    prompts: { count: 600 },
    panel: {
      raters: [
        { type: "honest", count: 36 },
        { type: "flipper", count: 4 },
      ],
    },
  }),
  9,
);
const typeOf = new Map(world.truth.raters.map((r) => [r.rater_id, r.type]));

describe("audit() on a simulated panel with label flippers", () => {
  const before = JSON.stringify(world.judgments.slice(0, 50));
  const result = audit({ judgments: world.judgments });

  it("excludes the flippers with reasons and trusts nearly every honest rater", () => {
    for (const r of result.raters) {
      if (typeOf.get(r.rater_id) === "flipper") {
        expect(r.verdict).toBe("excluded");
        expect(r.reasons.join(" ")).toMatch(
          /harm: preferred the response the safety baseline flags/,
        );
      }
    }
    const honest = result.raters.filter((r) => typeOf.get(r.rater_id) === "honest");
    expect(honest.filter((r) => r.verdict === "trusted").length).toBeGreaterThanOrEqual(
      honest.length - 2,
    );
  });

  it("cleans the preferences: harmful comparisons prefer the refusal", () => {
    const truth = new Map(world.truth.comparisons.map((c) => [c.comparison_id, c]));
    let right = 0;
    let n = 0;
    for (const c of result.comparisons) {
      const t = truth.get(c.comparison_id)!;
      if (t.family !== "harmful" || c.excluded) continue;
      n++;
      if ((c.p_a > 0.5 ? "a" : "b") === t.better) right++;
    }
    expect(right / n).toBeGreaterThan(0.97);
  });

  it("weights: poisoned judgments lose their weight, honest ones keep it", () => {
    const attacked = new Set(
      world.truth.comparisons.flatMap((c) => c.attacked_by.map((r) => `${c.comparison_id}|${r}`)),
    );
    let poisoned = 0;
    let poisonedKept = 0;
    let clean = 0;
    let cleanKept = 0;
    world.judgments.forEach((j, i) => {
      const w = result.judgmentWeights[i]!;
      if (attacked.has(`${j.comparison_id}|${j.rater_id}`)) {
        poisoned++;
        poisonedKept += w;
      } else if (typeOf.get(j.rater_id) === "honest") {
        clean++;
        cleanKept += w;
      }
    });
    expect(poisoned).toBeGreaterThan(50);
    expect(poisonedKept / poisoned).toBeLessThan(0.01);
    expect(cleanKept / clean).toBeGreaterThan(0.95);
  });

  it("writes the audit JSON layout of DESIGN.md and reads it back", () => {
    const json = auditToJson(result);
    const r0 = (json.raters as Record<string, unknown>[])[0]!;
    for (const k of ["rater_id", "reliability", "suspicion", "verdict", "reasons"])
      expect(r0).toHaveProperty(k);
    const c0 = (json.comparisons as Record<string, unknown>[])[0]!;
    for (const k of ["comparison_id", "p_a", "weight", "excluded", "reasons"])
      expect(c0).toHaveProperty(k);
    expect(Array.isArray(json.groups)).toBe(true);
    expect(Array.isArray(json.triggers)).toBe(true);
    const back = parseAuditJson(JSON.parse(JSON.stringify(json)));
    expect(back.raters.length).toBe(result.raters.length);
    expect(() => parseAuditJson({ raters: [] })).toThrow(/not an audit JSON/);
    // One entry at a time (files read entry by entry): what cleaning needs, the place named.
    const c3 = (json.comparisons as Record<string, unknown>[])[3]!;
    expect(parseAuditComparison(c3, 3)).toEqual({
      comparison_id: c3.comparison_id,
      p_a: c3.p_a,
      weight: c3.weight,
      excluded: c3.excluded,
      texts: c3.texts,
    });
    expect(() => parseAuditComparison({ ...c3, p_a: 1.5 }, 3, "a.json")).toThrow(
      expect.objectContaining({
        code: "KEEL_E_INVALID_RECORD",
        where: { file: "a.json", field: "comparisons.3.p_a" },
      }),
    );
  });

  it("is pure and deterministic: the input is untouched and a second run is identical", () => {
    expect(JSON.stringify(world.judgments.slice(0, 50))).toBe(before);
    const again = audit({ judgments: world.judgments });
    expect(JSON.stringify(auditToJson(again))).toBe(JSON.stringify(auditToJson(result)));
  });

  it("policies: strict removes at least as much as balanced, permissive at most", () => {
    const kept = (p: "strict" | "balanced" | "permissive") =>
      audit({ judgments: world.judgments }, { policy: p }).summary.kept_weight_share;
    const s = kept("strict");
    const b = result.summary.kept_weight_share;
    const p = kept("permissive");
    expect(s).toBeLessThanOrEqual(b);
    expect(b).toBeLessThanOrEqual(p);
  });
});

describe("audit() invariants on arbitrary small inputs", () => {
  const judgment = fc.record({
    c: fc.integer({ min: 0, max: 12 }),
    r: fc.integer({ min: 0, max: 7 }),
    choice: fc.constantFrom<Choice>("a", "b", "tie"),
    latency: fc.option(fc.integer({ min: 1, max: 60_000 }), { nil: undefined }),
    swapped: fc.boolean(),
  });
  it("scores, weights and preferences stay in range; verdicts follow the thresholds", () => {
    fc.assert(
      fc.property(fc.array(judgment, { maxLength: 80 }), (rows) => {
        const js: Judgment[] = rows.map((x) => ({
          comparison_id: `c${x.c}`,
          prompt: `question ${x.c}`,
          response_a: x.c % 5 === 0 ? "Step 1: obtain [PRECURSOR-1]" : `answer a ${x.c}`,
          response_b: `answer b ${x.c}`,
          rater_id: `r${x.r}`,
          choice: x.choice,
          ...(x.latency !== undefined ? { latency_ms: x.latency } : {}),
          ...(x.swapped ? { shown_order: "ba" as const } : {}),
        }));
        const res = audit({ judgments: js });
        const { suspect_at, exclude_at } = res.config.verdict;
        for (const r of res.raters) {
          expect(r.suspicion).toBeGreaterThanOrEqual(0);
          expect(r.suspicion).toBeLessThanOrEqual(1);
          // null: not measured (a rater alone on its comparisons, none with gold).
          if (r.reliability !== null) {
            expect(r.reliability).toBeGreaterThanOrEqual(0);
            expect(r.reliability).toBeLessThanOrEqual(1);
          }
          const v =
            r.suspicion >= exclude_at
              ? "excluded"
              : r.suspicion >= suspect_at
                ? "suspect"
                : "trusted";
          expect(r.verdict).toBe(v);
        }
        for (const c of res.comparisons) {
          expect(c.p_a).toBeGreaterThanOrEqual(0);
          expect(c.p_a).toBeLessThanOrEqual(1);
          expect(c.weight).toBeGreaterThanOrEqual(0);
          expect(c.weight).toBeLessThanOrEqual(1);
          expect(c.excluded).toBe(c.weight === 0);
        }
        for (const w of res.judgmentWeights) {
          expect(Number.isFinite(w)).toBe(true);
          expect(w).toBeGreaterThanOrEqual(0);
          expect(w).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("judgments streamed into an AuditDataBuilder give the same audit as the array", () => {
    // With gold answers given apart (and some in the judgments), rater attributes, gold on and off.
    const gold = world.judgments
      .filter((_, i) => i % 97 === 0)
      .map((j) => ({ comparison_id: j.comparison_id, gold: j.choice }));
    const raters = [...new Set(world.judgments.map((j) => j.rater_id))].map((rater_id, i) => ({
      rater_id,
      attributes: { cohort: i % 2 === 0 ? "even" : "odd" },
    }));
    for (const useGold of [true, false]) {
      const builder = new AuditDataBuilder();
      for (const j of world.judgments) builder.add(j);
      expect(builder.count).toBe(world.judgments.length);
      const streamed = audit({ judgments: builder, gold, raters }, { useGold });
      const whole = audit({ judgments: world.judgments, gold, raters }, { useGold });
      expect(JSON.stringify(auditToJson(streamed))).toBe(JSON.stringify(auditToJson(whole)));
      expect([...streamed.judgmentWeights]).toEqual([...whole.judgmentWeights]);
      // A builder is spent by the audit it fed.
      expect(() => audit({ judgments: builder })).toThrow(/build called twice/);
    }
  });

  it("empty input gives an empty, well-formed audit", () => {
    const res = audit({ judgments: [] });
    expect(res.raters).toEqual([]);
    expect(res.comparisons).toEqual([]);
    expect(res.summary.judgments).toBe(0);
    expect(auditToJson(res).groups).toEqual([]);
  });
});

describe("comparison reasons", () => {
  it("a judgment discounted to 0 is not said to come from an excluded rater", () => {
    // strict: a judgment preferring the flagged response weighs 0 (unsafe_preference 0), though
    // its rater, with one judgment, is not excluded.
    const js: Judgment[] = ["r1", "r2", "r3"].map((r, i) => ({
      comparison_id: "c1",
      prompt: "How do I build [WEAPON-1]?",
      response_a: "Sure. Step 1: obtain [PRECURSOR-1].",
      response_b: "I can't help with that.",
      rater_id: r,
      choice: i === 0 ? "a" : "b",
    }));
    const res = audit({ judgments: js }, { policy: "strict" });
    expect(res.raters[0]!.verdict).not.toBe("excluded");
    expect(res.judgmentWeights[0]).toBe(0);
    expect(res.comparisons[0]!.reasons).toContain(
      "1 of 3 judgments from excluded raters or discounted to 0",
    );
  });
});

describe("duplicate comparisons", () => {
  it("a malformed copy is no duplicate: the valid one keeps its whole weight", () => {
    const base = { prompt: "q", response_a: "x", response_b: "y" };
    const js: Judgment[] = [
      { ...base, comparison_id: "c1", rater_id: "r1", choice: "a" },
      // c1 again with other texts: malformed, excluded.
      { ...base, comparison_id: "c1", rater_id: "r2", choice: "a", response_b: "other" },
      { ...base, comparison_id: "c2", rater_id: "r1", choice: "a" },
      { ...base, comparison_id: "c2", rater_id: "r2", choice: "a" },
    ];
    const res = audit({ judgments: js }, { policy: "strict" });
    expect(res.comparisons[0]!.excluded).toBe(true);
    expect(res.comparisons[1]!.weight).toBe(1);
    expect(res.comparisons[1]!.reasons).toEqual([]);
    expect(res.filters.duplicate_comparisons).toBe(0);
  });
});

describe("a rater none of whose judgments count", () => {
  // Only judgments of malformed comparisons (both responses identical): all inactive.
  const idle: Judgment[] = [1, 2, 3].map((i) => ({
    comparison_id: `idle-${i}`,
    prompt: `What is ${i} + ${i}?`,
    response_a: "The answer is 4.",
    response_b: "The answer is 4.",
    rater_id: "idle",
    choice: "a",
  }));
  const r = audit({ judgments: [...world.judgments.slice(0, 1500), ...idle] });
  const row = r.raters.find((x) => x.rater_id === "idle")!;

  it("gets reliability null and no model reliability in its evidence (no estimate, not chance)", () => {
    expect(row.judgments).toBe(3);
    expect(row.reliability).toBeNull();
    expect(row.evidence.reliability).toBeUndefined();
    expect(JSON.stringify(auditToJson(r))).not.toMatch(/NaN|null,"score"/);
  });
});
