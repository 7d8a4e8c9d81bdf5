import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  betaCdf,
  betaSf,
  binomialZ,
  entropyBits,
  logNormalSf,
  median,
  minusLog10P,
  noisyOr,
  normalSf,
  poissonZ,
} from "../../src/defend/stats.js";

describe("stats", () => {
  it("Beta CDF matches closed forms", () => {
    // Beta(1, 1) is uniform; Beta(a, 1) has CDF x^a; Beta(1, b) has CDF 1 − (1 − x)^b.
    expect(betaCdf(0.3, 1, 1)).toBeCloseTo(0.3, 12);
    expect(betaCdf(0.7, 4, 1)).toBeCloseTo(0.7 ** 4, 12);
    expect(betaCdf(0.2, 1, 9)).toBeCloseTo(1 - 0.8 ** 9, 12);
    // Beta(2, 2): 3x² − 2x³
    expect(betaCdf(0.4, 2, 2)).toBeCloseTo(3 * 0.16 - 2 * 0.064, 12);
    // symmetry I_x(a, b) = 1 − I_{1−x}(b, a)
    expect(betaCdf(0.35, 7.5, 3.2) + betaCdf(0.65, 3.2, 7.5)).toBeCloseTo(1, 12);
    expect(betaSf(0.5, 50, 50)).toBeCloseTo(0.5, 10);
  });

  it("Beta tails with one small and one large parameter, to 1e-13", () => {
    // Beta(4, 1e5) and Beta(7, 1e5), near their means (4e-5, 7e-5): the prefactor takes
    // Stirling's series for the large parameter only; for a parameter of 4 the series would be
    // 2e-11 off (references: mpmath's hypergeometric series, as in scripts/stats-reference.py).
    // log Γ(1e5 + 4) − log Γ(1e5) from two terms of 1.05e6 left these 6e-11 off.
    const cases: [number, number, number, number][] = [
      [4e-5, 4, 1e5, 0.56655723107201],
      [1e-5, 4, 1e5, 0.01898938316752703],
      [4e-5, 7, 1e5, 0.11069481891879213],
    ];
    for (const [x, a, b, cdf] of cases) {
      expect(Math.abs(betaCdf(x, a, b) / cdf - 1)).toBeLessThan(1e-13);
      expect(Math.abs(betaSf(x, a, b) / (1 - cdf) - 1)).toBeLessThan(1e-13);
    }
  });

  it("Beta CDF is monotone in x", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.1, max: 200, noNaN: true }),
        fc.double({ min: 0.1, max: 200, noNaN: true }),
        fc.double({ min: 0.01, max: 0.98, noNaN: true }),
        (a, b, x) => betaCdf(x, a, b) <= betaCdf(x + 0.01, a, b) + 1e-12,
      ),
    );
  });

  it("normal tails, including far ones in log space", () => {
    expect(normalSf(0)).toBeCloseTo(0.5, 14);
    expect(normalSf(1.959963984540054)).toBeCloseTo(0.025, 10);
    expect(normalSf(-1)).toBeCloseTo(1 - 0.15865525393145707, 12);
    expect(Math.exp(logNormalSf(3))).toBeCloseTo(0.0013498980316301, 14);
    // Φ̄(10) = 7.6198530241605e-24
    expect(logNormalSf(10)).toBeCloseTo(Math.log(7.6198530241605e-24), 4);
    expect(minusLog10P(40)).toBeGreaterThan(300);
    // continuity across the switch at z = 8
    expect(logNormalSf(7.999999)).toBeCloseTo(logNormalSf(8.000001), 4);
  });

  it("log normal tails are accurate on both sides of every switch", () => {
    // A four-term asymptotic series from z = 8 on was 5.6e-6 off there:
    // log Φ̄(8) = −35.013437159914559 (SciPy's log_ndtr(−8)).
    expect(Math.abs(logNormalSf(8) / -35.01343715991456 - 1)).toBeLessThan(1e-14);
    // Below zero log(1 − Φ̄(|z|)) rounded to 0: log Φ̄(−10) = −7.6198530241605e-24.
    expect(Math.abs(logNormalSf(-10) / -7.619853024160527e-24 - 1)).toBeLessThan(1e-13);
    expect(minusLog10P(-10)).toBeGreaterThan(0);
  });

  it("signed-root LR statistics have the sign of the deviation and grow with evidence", () => {
    expect(binomialZ(50, 100, 0.5)).toBe(0);
    expect(binomialZ(70, 100, 0.5)).toBeGreaterThan(3.9);
    expect(binomialZ(30, 100, 0.5)).toBeLessThan(-3.9);
    expect(binomialZ(700, 1000, 0.5)).toBeGreaterThan(binomialZ(70, 100, 0.5));
    expect(poissonZ(10, 10)).toBe(0);
    expect(poissonZ(40, 10)).toBeGreaterThan(6);
    expect(poissonZ(2, 10)).toBeLessThan(0);
  });

  it("poissonZ keeps its precision near the null for large means", () => {
    // k·log(k/λ) − (k − λ) with k/λ = 0.9995 lost 1e-10 of z to the rounding of log near 1
    // (mpmath at 40 digits: z = −0.50004167534962461 and +0.49995834201148803).
    expect(poissonZ(999_500, 1e6)).toBeCloseTo(-0.5000416753496246, 12);
    expect(poissonZ(1_000_500, 1e6)).toBeCloseTo(0.49995834201148803, 12);
  });

  it("median, entropy and noisy-OR", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([Number.NaN, 1])).toBe(1);
    expect(Number.isNaN(median([]))).toBe(true);
    expect(entropyBits([1, 1])).toBeCloseTo(1, 14);
    expect(entropyBits([5, 0, 0])).toBe(0);
    expect(noisyOr([0.5, 0.5])).toBeCloseTo(0.75, 14);
    expect(noisyOr([])).toBe(0);
  });
});
