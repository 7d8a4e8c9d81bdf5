/**
 * Each detector on a panel small enough to compute its score by hand, from the equations in its
 * header; the Beta tails are checked through I_x(a, b) = P(Bin(a + b − 1, x) ≥ a) (integer a, b),
 * which does not go through stats.ts. Then the small-sample cases that must not reach a verdict,
 * and the audit's invariance under the order of the input and the names of the raters.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import type { Choice, Judgment } from "../../src/core/types.js";
import { resolveAuditConfig } from "../../src/defend/config.js";
import { decide } from "../../src/defend/decision.js";
import { audit } from "../../src/defend/index.js";
import { agreementSignal } from "../../src/defend/signals/agreement.js";
import { entropySignal } from "../../src/defend/signals/entropy.js";
import { goldSignal } from "../../src/defend/signals/gold.js";
import { harmSignal } from "../../src/defend/signals/harm.js";
import { positionSignal } from "../../src/defend/signals/position.js";
import type { RaterSignal } from "../../src/defend/signals/signal.js";
import { speedSignal } from "../../src/defend/signals/speed.js";
import { normalSf } from "../../src/defend/stats.js";
import { contextFor, j, scoreOf } from "./helpers.js";

/** P(Bin(n, p) ≥ k), by summing the probabilities. */
function binomialAtLeast(n: number, p: number, k: number): number {
  let s = 0;
  let choose = 1; // C(n, i)
  for (let i = 0; i <= n; i++) {
    if (i > 0) choose = (choose * (n - i + 1)) / i;
    if (i >= k) s += choose * p ** i * (1 - p) ** (n - i);
  }
  return s;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("detectors on hand-computed panels", () => {
  it("gold: Beta(8 + correct, 2 + wrong) below 0.65, a tie against a side counting half", () => {
    // X: wrong on c0, a tie where gold is b (½ + ½), a side where gold is a tie (½ + ½):
    // 1 correct, 2 wrong → P(θ < 0.65), θ ~ Beta(9, 4) = P(Bin(12, 0.65) ≥ 9).
    const gold: Choice[] = ["a", "b", "tie"];
    const x: Choice[] = ["b", "tie", "a"];
    const js = range(3).flatMap((c) => [
      j(c, "X", x[c]!, { gold: gold[c]! }),
      j(c, "h", gold[c]!, { gold: gold[c]! }),
    ]);
    js.push(j(9, "nogold", "a"), j(9, "h", "a"));
    const ctx = contextFor(js);
    const s = goldSignal(ctx);
    expect(scoreOf(ctx, s, "X")).toBeCloseTo(binomialAtLeast(12, 0.65, 9), 12);
    expect(s.stats[ctx.data.raterIds.indexOf("X")]).toMatchObject({
      gold_items: 3,
      gold_correct: 1,
    });
    // h: 3 of 3 → P(Bin(12, 0.65) ≥ 11); a rater without gold items has no evidence.
    expect(scoreOf(ctx, s, "h")).toBeCloseTo(binomialAtLeast(12, 0.65, 11), 12);
    expect(scoreOf(ctx, s, "nogold")).toBe(0);
    expect(s.stats[ctx.data.raterIds.indexOf("nogold")]).toBeUndefined();
  });

  it("position: an always-A rater against a b majority, and the same shown swapped", () => {
    // 20 disagreements, all on the side shown first: s ~ Beta(25, 5);
    // P(s > 0.8) + P(s < 0.2) = P(Bin(29, 0.8) < 25) + P(Bin(29, 0.2) ≥ 25).
    const want = 1 - binomialAtLeast(29, 0.8, 25) + binomialAtLeast(29, 0.2, 25);
    for (const swapped of [false, true]) {
      const js = range(20).flatMap((c) => [
        j(c, "X", "a", swapped ? { shown_order: "ba" } : {}),
        j(c, "h1", "b"),
        j(c, "h2", "b"),
      ]);
      const ctx = contextFor(js);
      const s = positionSignal(ctx);
      expect(scoreOf(ctx, s, "X")).toBeCloseTo(want, 12);
      expect(s.stats[0]).toEqual({
        position_disagreements: 20,
        position_first_share: swapped ? 0 : 1,
      });
      // h1's others are X and h2: no majority, so no disagreement to count.
      expect(scoreOf(ctx, s, "h1")).toBe(0);
    }
    expect(want).toBeGreaterThan(0.5);
  });

  it("entropy: always a where the others split evenly", () => {
    // e = ½, s ~ Beta(20·½ + 10, 20·½ + 0) = Beta(20, 10); P(s > 0.8) = P(Bin(29, 0.8) < 20).
    const js = range(10).flatMap((c) => [j(c, "X", "a"), j(c, "h1", "a"), j(c, "h2", "b")]);
    const ctx = contextFor(js);
    const s = entropySignal(ctx);
    expect(scoreOf(ctx, s, "X")).toBeCloseTo(1 - binomialAtLeast(29, 0.8, 20), 12);
    expect(s.stats[0]).toMatchObject({ top_label_share: 1, others_top_label_share: 0.5 });
  });

  it("agreement: a rater who always goes against two who agree", () => {
    // X: r = 0 − 1 each. h1, h2: agree ½, between 0, r = ½. Pooled variance of {−1 ×10, ½ ×20}
    // is ½; X's own is 0, so s² = max(0, ¼, ¼·4/14)/10 = 0.025; with the N(0, 0.15²) prior
    // v = 1/(1/0.0225 + 40), m = v/0.025, score = Φ̄((0.2 − m)/√v).
    const js = range(10).flatMap((c) => [j(c, "X", "a"), j(c, "h1", "b"), j(c, "h2", "b")]);
    const ctx = contextFor(js);
    const s = agreementSignal(ctx);
    const v = 1 / (1 / 0.0225 + 40);
    const m = v / 0.025;
    expect(scoreOf(ctx, s, "X")).toBeCloseTo(normalSf((0.2 - m) / Math.sqrt(v)), 12);
    expect(scoreOf(ctx, s, "X")).toBeGreaterThan(0.99);
    expect(s.stats[0]).toEqual({
      agreement_n: 10,
      agreement: 0,
      others_agreement: 1,
      agreement_excess: -1,
    });
    expect(scoreOf(ctx, s, "h1")).toBeLessThan(1e-4);
  });

  it("speed: a rater whose five judgments all took a twentieth of the typical time", () => {
    // 30 judgments of equal length (one bin), median 2000 ms; X's 5 at 100 ms are all fast:
    // s ~ Beta(6, 19), P(s > 0.4) = P(Bin(24, 0.4) < 6). A rater with 0 fast of 5: Beta(1, 24).
    const js = range(5).flatMap((c) => [
      j(c, "X", "a", { latency_ms: 100 }),
      ...["h1", "h2", "h3", "h4", "h5"].map((r) => j(c, r, "a", { latency_ms: 2000 })),
    ]);
    const ctx = contextFor(js);
    const s = speedSignal(ctx);
    expect(scoreOf(ctx, s, "X")).toBeCloseTo(1 - binomialAtLeast(24, 0.4, 6), 12);
    expect(scoreOf(ctx, s, "h1")).toBeCloseTo(1 - binomialAtLeast(24, 0.4, 1), 12);
    expect(s.stats[0]).toMatchObject({ timed: 5, fast_share: 1, median_time_ratio: 0.05 });
  });

  it("decision: noisy-OR of the scores, and the suspect weight's ramp", () => {
    // 1 − 0.5·0.6 = 0.7; balanced (0.5, 0.9): suspect, weight 1 − ¾·(0.2/0.4) = 0.625.
    const sig = (key: RaterSignal["key"], x: number): RaterSignal => ({
      key,
      score: Float64Array.of(x),
      stats: [{ x }],
      reason: () => key,
    });
    const d = decide([sig("gold", 0.5), sig("speed", 0.4)], 1, resolveAuditConfig({}, "balanced"));
    expect(d.suspicion[0]).toBeCloseTo(0.7, 14);
    expect(d.verdict[0]).toBe("suspect");
    expect(d.weight[0]).toBeCloseTo(0.625, 14);
  });
});

describe("a handful of judgments does not reach a verdict by chance", () => {
  // Three raters who agree on everything: the pooled variance of their agreement is 0 (floored
  // at 1e-3), the setting in which one honest slip used to be many standard errors out.
  const panel = range(40).flatMap((c) => ["h1", "h2", "h3"].map((r) => j(c, r, "a")));

  it("one disagreement by a rater with one judgment", () => {
    const ctx = contextFor([...panel, j(3, "once", "b")]);
    // s² = max(0, ½·1e-3, ¼·4/5)/1 = 0.2: v = 1/(1/0.0225 + 5), m = v/0.2, Φ̄((0.2 − m)/√v).
    const v = 1 / (1 / 0.0225 + 5);
    const want = normalSf((0.2 - v / 0.2) / Math.sqrt(v));
    expect(scoreOf(ctx, agreementSignal(ctx), "once")).toBeCloseTo(want, 10);
    expect(want).toBeLessThan(0.3);
    const res = audit({ judgments: [...panel, j(3, "once", "b")] });
    const once = res.raters.find((r) => r.rater_id === "once")!;
    expect(once.verdict).toBe("trusted");
    expect(once.reasons).toEqual([]);
  });

  it("ten disagreements in ten judgments still do", () => {
    const js = [...panel, ...range(10).map((c) => j(c, "against", "b"))];
    const res = audit({ judgments: js });
    expect(res.raters.find((r) => r.rater_id === "against")!.verdict).toBe("excluded");
  });

  it("harm: one flagged response preferred, by a rater with two judgments", () => {
    // Comparisons 0, 4, 8, …: a harmful request, a refusal (a) and compliance (b, flagged).
    const harmful = (c: number): Partial<Judgment> =>
      c % 4 === 0
        ? {
            prompt: `How do I build [WEAPON-${c}]?`,
            response_a: "I can't help with that.",
            response_b: "Step 1: obtain [PRECURSOR-1]",
          }
        : {};
    const js = range(40).flatMap((c) => ["h1", "h2", "h3"].map((r) => j(c, r, "a", harmful(c))));
    js.push(j(4, "two", "b", harmful(4)), j(5, "two", "a", harmful(5)));
    const ctx = contextFor(js);
    // (2): Δ̂ = 1 − 0 over 1 and 1 judgments: s² = 2·max(0.01, ¼·4/5) = 0.4.
    const v = 1 / (1 / 0.0225 + 1 / 0.4);
    const p2 = normalSf((0.3 - v / 0.4) / Math.sqrt(v));
    // (1): 1 of 1 flagged preferred: u ~ Beta(2, 19), P(u > 0.15) = P(Bin(20, 0.15) < 2).
    const p1 = 1 - binomialAtLeast(20, 0.15, 2);
    expect(scoreOf(ctx, harmSignal(ctx), "two")).toBeCloseTo(Math.max(p1, p2), 10);
    expect(scoreOf(ctx, harmSignal(ctx), "two")).toBeLessThan(0.3);
    // Ten of ten flagged responses preferred is a verdict.
    const flipper = range(10).map((i) => j(4 * i, "flipper", "b", harmful(4 * i)));
    const c2 = contextFor([...js, ...flipper]);
    expect(scoreOf(c2, harmSignal(c2), "flipper")).toBeGreaterThan(0.99);
  });
});

/** A panel with honest raters, an always-A rater, a flipper, ties and a co-assigned team. */
function mixedPanel(seed: number): Judgment[] {
  const rng = new Rng(`known-answers/${seed}`);
  const kinds = range(10).map((r) => (r < 5 ? 0 : r < 8 ? r - 4 : 4));
  const out: Judgment[] = [];
  for (let c = 0; c < 120; c++) {
    const better: Choice = rng.bernoulli(0.5) ? "a" : "b";
    const worse: Choice = better === "a" ? "b" : "a";
    const shared: Choice = rng.bernoulli(0.5) ? "a" : "b";
    const team = rng.bernoulli(0.6);
    const gold = rng.bernoulli(0.1);
    kinds.forEach((kind, r) => {
      if (kind === 4 ? !team : !rng.bernoulli(0.35)) return;
      let ch: Choice = rng.bernoulli(0.85) ? better : worse;
      if (kind === 1) ch = "a";
      if (kind === 2) ch = worse;
      if (kind === 3 && rng.bernoulli(0.3)) ch = "tie";
      if (kind === 4) ch = shared;
      out.push(
        j(c, `r${r}`, ch, {
          latency_ms: 1000 + rng.int(3000),
          ...(gold ? { gold: better } : {}),
          ...(rng.bernoulli(0.5) ? { shown_order: "ba" as const } : {}),
        }),
      );
    });
  }
  return out;
}

describe("audit() does not depend on input order or rater names", () => {
  it("a shuffled, renamed panel gets the same verdicts, weights and groups", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer(), (seed, shuffleSeed) => {
        const js = mixedPanel(seed);
        const rng = new Rng(`shuffle/${shuffleSeed}`);
        const order = rng.sampleIndices(js.length, js.length);
        const ids = [...new Set(js.map((x) => x.rater_id))];
        const names = rng.sampleIndices(ids.length, ids.length);
        const rename = new Map(ids.map((id, i) => [id, `z${names[i]}`]));
        const moved = order.map((i) => ({ ...js[i]!, rater_id: rename.get(js[i]!.rater_id)! }));
        const a = audit({ judgments: js });
        const b = audit({ judgments: moved });
        const byId = new Map(b.raters.map((r) => [r.rater_id, r]));
        for (const r of a.raters) {
          const o = byId.get(rename.get(r.rater_id)!)!;
          expect(o.verdict).toBe(r.verdict);
          expect(o.suspicion).toBeCloseTo(r.suspicion, 9);
          expect(o.weight).toBeCloseTo(r.weight, 9);
          expect(Number.isFinite(r.weight) && r.weight >= 0 && r.weight <= 1).toBe(true);
        }
        const cById = new Map(b.comparisons.map((c) => [c.comparison_id, c]));
        for (const c of a.comparisons) {
          const o = cById.get(c.comparison_id)!;
          expect(o.p_a).toBeCloseTo(c.p_a, 9);
          expect(o.weight).toBeCloseTo(c.weight, 9);
        }
        const groups = (gs: typeof a.groups, f: (id: string) => string) =>
          gs.map((g) => g.rater_ids.map(f).sort().join(",")).sort();
        expect(groups(b.groups, (x) => x)).toEqual(groups(a.groups, (x) => rename.get(x)!));
      }),
      { numRuns: 6 },
    );
  });
});
