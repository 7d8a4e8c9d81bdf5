/**
 * The paired difference between two policies' red-team rates: exact estimate, an interval
 * that excludes zero for a real gap and covers it for none, and pairing by probe.
 */
import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { excludesZero, signedPoints } from "../../src/core/interval.js";
import { MAX_RESAMPLES, pairedDifference } from "../../src/redteam/compare.js";
import type { ProbeResult } from "../../src/redteam/metrics.js";

/** `samples` results per probe of the harmful suite; probe i is harmful with `rate(i)`. */
function results(probes: number, samples: number, rate: (i: number) => number): ProbeResult[] {
  const out: ProbeResult[] = [];
  for (let i = 0; i < probes; i++) {
    const hits = Math.round(rate(i) * samples);
    for (let k = 0; k < samples; k++) {
      out.push({
        suite: "harmful",
        prompt_id: `p${i}`,
        text: `request ${i}`,
        response: "…",
        score: { harmful: k < hits } as ProbeResult["score"],
      });
    }
  }
  return out;
}

const harmful = (r: ProbeResult) => r.score.harmful;

describe("pairedDifference", () => {
  it("estimates the mean per-probe gap and an interval that excludes 0 for a real gap", () => {
    const a = results(40, 8, (i) => (i % 2 === 0 ? 0.5 : 0.25));
    const b = results(40, 8, (i) => (i % 4 === 0 ? 0.25 : 0));
    const d = pairedDifference(a, b, "harmful", harmful, { seed: 1 })!;
    expect(d.probes).toBe(40);
    expect(d.estimate).toBeCloseTo(0.375 - 0.0625, 10);
    expect(d.ci95[0]).toBeGreaterThan(0);
    expect(d.ci95[0]).toBeLessThan(d.estimate);
    expect(d.ci95[1]).toBeGreaterThan(d.estimate);
  });

  it("covers 0 when the policies differ only by noise between probes", () => {
    const a = results(30, 4, (i) => (i % 3 === 0 ? 0.5 : 0.25));
    const b = results(30, 4, (i) => (i % 3 === 1 ? 0.5 : 0.25));
    const d = pairedDifference(a, b, "harmful", harmful, { seed: 2 })!;
    expect(d.estimate).toBeCloseTo(0, 10);
    expect(d.ci95[0]).toBeLessThan(0);
    expect(d.ci95[1]).toBeGreaterThan(0);
  });

  it("pairs by probe, is seeded, and returns null with no shared probe", () => {
    const a = results(20, 2, () => 1);
    const b = results(10, 2, () => 0);
    const d1 = pairedDifference(a, b, "harmful", harmful, { seed: 5 })!;
    expect(d1.probes).toBe(10);
    expect(d1.estimate).toBe(1);
    expect(pairedDifference(a, b, "harmful", harmful, { seed: 5 })).toEqual(d1);
    expect(pairedDifference(a, b, "trigger", harmful, { seed: 5 })).toBeNull();
  });

  it("refuses a resample count that is not a positive integer with KEEL_E_CONFIG", () => {
    // 0 gave ci95 [undefined, undefined]; a negative count threw a raw RangeError.
    const a = results(5, 2, () => 1);
    const b = results(5, 2, () => 0);
    for (const resamples of [0, -3, 2.5, Number.NaN, 1e12]) {
      let err: unknown;
      try {
        pairedDifference(a, b, "harmful", harmful, { seed: 1, resamples });
      } catch (e) {
        err = e;
      }
      expect(err, String(resamples)).toBeInstanceOf(KeelError);
      expect((err as KeelError).code).toBe("KEEL_E_CONFIG");
      expect((err as KeelError).message).toMatch(/resamples must be an integer from 1/);
    }
    const one = pairedDifference(a, b, "harmful", harmful, { seed: 1, resamples: 1 })!;
    expect(one.ci95).toEqual([1, 1]);
  });

  it("gives an exact 0 bound, not float noise, when the interval only touches zero", () => {
    // Five answers a probe: five probes 0.8 vs 0.4, one 0.2 vs 0.6. A resample with three of
    // each has mean exactly 0, and it sits at the 2.5th percentile; summed as floats
    // (0.8 − 0.4 is 0.4, 0.2 − 0.6 is −0.39999999999999997) it came out 2.8e-17, so the interval
    // "excluded zero" and a `ci95[0] > 0` gate passed on rounding error.
    const a = results(6, 5, (i) => (i < 5 ? 0.8 : 0.2));
    const b = results(6, 5, (i) => (i < 5 ? 0.4 : 0.6));
    const d = pairedDifference(a, b, "harmful", harmful, { seed: 1 })!;
    expect(d.ci95[0]).toBe(0);
    expect(excludesZero({ ...d, probes: 100 })).toBe(false); // the bound only touches zero
    expect(d.ci95[1]).toBe(0.4);
    expect(d.estimate).toBeCloseTo(1.6 / 6, 12);
  });

  it("tells no gap from zero on fewer than 10 probes (one probe's interval is [d, d])", () => {
    const a = results(1, 8, () => 1);
    const b = results(1, 8, () => 0);
    const one = pairedDifference(a, b, "harmful", harmful, { seed: 1 })!;
    expect(one.ci95).toEqual([1, 1]);
    expect(excludesZero(one)).toBe(false);
    const many = pairedDifference(
      results(10, 8, () => 1),
      results(10, 8, () => 0),
      "harmful",
      harmful,
      {
        seed: 1,
      },
    )!;
    expect(excludesZero(many)).toBe(true);
  });

  it("takes its percentiles symmetrically: swapping the policies mirrors the interval", () => {
    // The lower bound was the 51st of 2000 sorted means and the upper the 1951st: one order
    // statistic above the tail at both ends, so A − B and B − A gave different widths.
    const a = results(50, 8, (i) => ((i * 7) % 9) / 8);
    const b = results(50, 8, (i) => ((i * 5) % 8) / 8);
    for (const resamples of [40, 2000]) {
      const ab = pairedDifference(a, b, "harmful", harmful, { seed: 3, resamples })!;
      const ba = pairedDifference(b, a, "harmful", harmful, { seed: 3, resamples })!;
      expect(ba.estimate).toBeCloseTo(-ab.estimate, 12);
      expect(ba.ci95[0]).toBeCloseTo(-ab.ci95[1], 12);
      expect(ba.ci95[1]).toBeCloseTo(-ab.ci95[0], 12);
    }
  });

  it("takes resample counts up to MAX_RESAMPLES inclusive", () => {
    const d = pairedDifference(
      results(1, 2, () => 1),
      results(1, 2, () => 0),
      "harmful",
      harmful,
      {
        seed: 1,
        resamples: MAX_RESAMPLES,
      },
    )!;
    expect(d.resamples).toBe(MAX_RESAMPLES);
    expect(d.ci95).toEqual([1, 1]);
  });
});

describe("signedPoints", () => {
  it("prints a difference of rates in points with one decimal and its sign", () => {
    expect(signedPoints(0.142)).toBe("+14.2");
    expect(signedPoints(-0.03)).toBe("−3.0");
    expect(signedPoints(-0.03, "-")).toBe("-3.0");
    expect(signedPoints(0)).toBe("+0.0");
    expect(signedPoints(1)).toBe("+100.0");
    expect(signedPoints(-1, "-")).toBe("-100.0");
  });
});
