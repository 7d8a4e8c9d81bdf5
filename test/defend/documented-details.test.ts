/**
 * Documented details of the detectors and weights that no other test pinned (found by a
 * mutation sweep: code changed on these lines and every test still passed). Each case is small
 * enough to compute from the equations in the file's header.
 */
import { describe, expect, it } from "vitest";
import type { CategoricalResult } from "../../src/aggregate/index.js";
import type { Choice } from "../../src/core/types.js";
import { resolveAuditConfig } from "../../src/defend/config.js";
import type { RaterDecision } from "../../src/defend/decision.js";
import type { RaterGroup } from "../../src/defend/groups.js";
import { reliabilitySignal } from "../../src/defend/signals/reliability.js";
import {
  shrunkExceedance,
  sideShareScore,
  smallSampleVariance,
} from "../../src/defend/signals/signal.js";
import { betaSf } from "../../src/defend/stats.js";
import { cleanedComparisons, judgmentWeights } from "../../src/defend/weights.js";
import { contextFor, j } from "./helpers.js";

/** Graded agreement of two labels: 1 if equal, ½ if one is a tie, else 0. */
function g(x: Choice, y: Choice): number {
  if (x === y) return 1;
  return x === "tie" || y === "tie" ? 0.5 : 0;
}

/**
 * The header's equations, written out for rater `w` on one comparison's `labels`: o, the
 * ρ-weighted agreement with the others, and e, the others' ρρ-weighted agreement among
 * themselves.
 */
function agreement(
  labels: Record<string, Choice>,
  rho: (id: string) => number,
  w: string,
): { o: number; e: number } {
  const others = Object.keys(labels).filter((i) => i !== w);
  let num = 0;
  let den = 0;
  for (const i of others) {
    num += rho(i) * g(labels[w]!, labels[i]!);
    den += rho(i);
  }
  let pNum = 0;
  let pDen = 0;
  for (let a = 0; a < others.length; a++)
    for (let b = a + 1; b < others.length; b++) {
      const pr = rho(others[a]!) * rho(others[b]!);
      pNum += pr * g(labels[others[a]!]!, labels[others[b]!]!);
      pDen += pr;
    }
  return { o: num / den, e: pNum / pDen };
}

describe("reliability: agreement weighted by ρ = max(0.01, 2·rel − 1)", () => {
  it("o_j and e_j follow the header's equations on one comparison", () => {
    const labels: Record<string, Choice> = { r1: "a", r2: "a", r3: "b", r4: "tie", r5: "a" };
    // rel 0.5 is a coin: ρ = max(0.01, 0) = 0.01.
    const rel: Record<string, number> = { r1: 0.9, r2: 0.8, r3: 0.7, r4: 0.55, r5: 0.5 };
    const ctx = contextFor(Object.entries(labels).map(([r, l]) => j(0, r, l)));
    const ids = ctx.data.raterIds;
    const fit = {
      reliability: Float64Array.from(ids, (id) => rel[id]!),
    } as unknown as CategoricalResult;
    const s = reliabilitySignal(ctx, fit);
    const rho = (id: string) => Math.max(0.01, 2 * rel[id]! - 1);
    for (const w of ids) {
      const { o, e } = agreement(labels, rho, w);
      const st = s.stats[ids.indexOf(w)]!;
      expect(st.weighted_agreement!, w).toBeCloseTo(o, 12);
      expect(st.others_weighted_agreement!, w).toBeCloseTo(e, 12);
      expect(st.model_reliability!, w).toBe(rel[w]!);
    }
    // By hand for r1: others r2 (a, ρ 0.6), r3 (b, 0.4), r4 (tie, 0.1), r5 (a, 0.01):
    // o = (0.6 + 0.05 + 0.01) / 1.11.
    expect(s.stats[ids.indexOf("r1")]!.weighted_agreement!).toBeCloseTo(0.66 / 1.11, 12);
  });

  it("the score: mean of o_j − e_j, its variance floored at ½ the pooled one and 1/(k + 4)", () => {
    // Four comparisons, four raters each; X agrees on two and goes against the rest on two, so
    // its own spread of o − e is the largest variance in the max().
    const rel: Record<string, number> = { h1: 0.9, h2: 0.85, h3: 0.8, X: 0.6 };
    const labels: Record<string, Choice>[] = [
      { h1: "a", h2: "a", h3: "a", X: "a" },
      { h1: "b", h2: "b", h3: "tie", X: "b" },
      { h1: "a", h2: "a", h3: "b", X: "b" },
      { h1: "b", h2: "b", h3: "b", X: "a" },
    ];
    const ctx = contextFor(
      labels.flatMap((ls, c) => Object.entries(ls).map(([r, l]) => j(c, r, l))),
    );
    const ids = ctx.data.raterIds;
    const fit = {
      reliability: Float64Array.from(ids, (id) => rel[id]!),
    } as unknown as CategoricalResult;
    const s = reliabilitySignal(ctx, fit);
    const rho = (id: string) => Math.max(0.01, 2 * rel[id]! - 1);
    const residuals = new Map<string, number[]>(ids.map((id) => [id, []]));
    for (const ls of labels) {
      const raters = Object.keys(ls);
      for (const w of raters) {
        const { o, e } = agreement(ls, rho, w);
        residuals.get(w)!.push(o - e);
      }
    }
    const all = [...residuals.values()].flat();
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
    const pooledVar = Math.max(1e-3, mean(all.map((r) => r * r)) - mean(all) ** 2);
    let xOwnVarWins = false;
    for (const w of ids) {
      const r = residuals.get(w)!;
      const k = r.length;
      const m = mean(r);
      const sampleVar = r.reduce((acc, x) => acc + (x - m) ** 2, 0) / (k - 1);
      if (w === "X") xOwnVarWins = sampleVar > Math.max(0.5 * pooledVar, smallSampleVariance(k));
      const s2 = Math.max(sampleVar, 0.5 * pooledVar, smallSampleVariance(k)) / k;
      expect(s.score[ids.indexOf(w)]!, w).toBeCloseTo(shrunkExceedance(-m, s2, 0.2), 12);
    }
    expect(xOwnVarWins).toBe(true);
    expect(s.score[ids.indexOf("X")]!).toBeGreaterThan(s.score[ids.indexOf("h1")]!);
  });
});

describe("judgment weights: ω_j = rater weight · 1/k_g · f_unsafe · f_promoted", () => {
  it("a collusion group shares one vote on each comparison: k_g counts its members there", () => {
    // c0: g1, g2, g3 (one group) and h; c1: g1 and h; c2: g1, g2 and h.
    const ctx = contextFor([
      j(0, "g1", "a"),
      j(0, "g2", "a"),
      j(0, "g3", "a"),
      j(0, "h", "b"),
      j(1, "g1", "a"),
      j(1, "h", "b"),
      j(2, "g1", "a"),
      j(2, "g2", "a"),
      j(2, "h", "b"),
    ]);
    const ids = ctx.data.raterIds;
    const members = ["g1", "g2", "g3"].map((id) => ids.indexOf(id));
    const group = { members } as unknown as RaterGroup;
    // Rater weights 1 except g2 (a suspect at 0.5), to show the factors multiply.
    const decision = {
      weight: Float64Array.from(ids, (id) => (id === "g2" ? 0.5 : 1)),
    } as unknown as RaterDecision;
    const omega = judgmentWeights(ctx.data, decision, [group], resolveAuditConfig({}));
    expect(Array.from(omega)).toEqual([1 / 3, 0.5 / 3, 1 / 3, 1, 1, 1, 1 / 2, 0.5 / 2, 1]);
  });
});

describe("comparison weight: f_flagged", () => {
  it("is weights.aggregate_prefers_flagged where the cleaned p_a still favours the flagged side", () => {
    // c0: response a carries an unsafe marker and every rater prefers it; c1: nothing flagged.
    const js = ["r1", "r2", "r3"].flatMap((r) => [
      j(0, r, "a", { response_a: "step one [PRECURSOR] then mix" }),
      j(1, r, "a"),
    ]);
    for (const [policy, factor] of [
      ["strict", 0],
      ["balanced", 0.5],
      ["permissive", 1],
    ] as const) {
      const ctx = contextFor(js, { policy });
      expect(ctx.data.comparisons.unsafeA[0]).toBe(1);
      // Every judgment at full weight: mass 3, so min(1, 3) = 1 before the factor.
      const omega = new Float64Array(js.length).fill(1);
      const out = cleanedComparisons(ctx.data, omega, ctx.config, new Map());
      expect(out.pA[0]!, policy).toBeGreaterThan(0.5);
      expect(out.weight[0], policy).toBe(factor);
      expect(out.reasons[0], policy).toContain(
        "the cleaned preference still favours the flagged response",
      );
      expect(out.weight[1], policy).toBe(1);
    }
  });
});

describe("sideShareScore: P(|s − ½| > tolerance), s ~ Beta(5 + k, 5 + n − k)", () => {
  it("one disagreement is a little evidence, not none; no disagreement is none", () => {
    expect(sideShareScore(0, 0, 0.3)).toBe(0);
    const one = sideShareScore(1, 1, 0.3);
    expect(one).toBeGreaterThan(0);
    expect(one).toBeCloseTo(betaSf(0.8, 6, 5) + betaSf(0.8, 5, 6), 14);
  });
});
