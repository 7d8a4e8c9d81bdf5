/**
 * The detector statistics against SciPy and mpmath on a grid that reaches the hard ranges:
 * arguments from 1e-300 to 1e300, x at 0, 1 and 1 − 1e-12, Beta parameters from 1e-3 to 1e6,
 * z from −50 to 1e10, counts far in the tails (fixtures/stats-scipy.json, written by
 * scripts/stats-reference.py, which says where each reference comes from).
 *
 * Each function gets the tolerance its arithmetic deserves, said where it is used. A tolerance is
 * a bound on |keel − reference| of the form rtol·|reference| + atol.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  betaCdf,
  betaSf,
  binomialZ,
  entropyBits,
  erfc,
  logGamma,
  logNormalSf,
  minusLog10P,
  noisyOr,
  normalSf,
  poissonZ,
} from "../../src/defend/stats.js";

type Num = number | "inf" | "-inf";

interface Fixture {
  logGamma: [number, number][];
  /** [x, a, b, I_x(a, b), 1 − I_x(a, b), SciPy's betainc (not used: wrong for large a, b)] */
  beta: [number, number, number, number, number, number][];
  /** [z, P(Z > z), log P(Z > z), −log10 P(Z > z)] */
  normal: [number, number, Num, Num][];
  erfc: [number, number][];
  binomialZ: [number, number, number, number][];
  poissonZ: [number, number, number][];
  entropyBits: [number[], number][];
  noisyOr: [number[], number][];
}

const fx = JSON.parse(
  readFileSync(new URL("./fixtures/stats-scipy.json", import.meta.url), "utf8"),
) as Fixture;

const num = (x: Num): number =>
  x === "inf" ? Number.POSITIVE_INFINITY : x === "-inf" ? Number.NEGATIVE_INFINITY : x;

/** Where got and want differ by more than rtol·|want| + atol, as readable lines. */
function misses(
  cases: readonly { label: string; got: number; want: number; rtol: number; atol: number }[],
): string[] {
  const out: string[] = [];
  for (const { label, got, want, rtol, atol } of cases) {
    if (got === want) continue;
    const err = Math.abs(got - want);
    if (!(err <= rtol * Math.abs(want) + atol))
      out.push(`${label}: got ${got}, want ${want} (error ${err.toExponential(2)})`);
  }
  return out;
}

/** One ulp of double precision. */
const EPS = 2 ** -52;

describe("stats against SciPy / mpmath", () => {
  it("logGamma: within 1e-14 absolute, or relative above 1", () => {
    // Absolute where |log Γ| < 1: it passes through 0 at 1 and 2, where only absolute error
    // means anything, and the Beta tails use exp of differences of log Γ, so an absolute error
    // there is the relative error of the probability.
    const bad = misses(
      fx.logGamma.map(([x, want]) => ({
        label: `logGamma(${x})`,
        got: logGamma(x),
        want,
        rtol: 1e-14,
        atol: 1e-14,
      })),
    );
    expect(bad).toEqual([]);
  });

  it("betaCdf and betaSf: both tails, the smaller one to relative precision", () => {
    // keel computes one tail by the continued fraction (the lower one below
    // x = (a + 1)/(a + b + 2)), times the prefactor x^a (1 − x)^b / B(a, b), and takes the other
    // as 1 minus it. Three things bound the relative error of the tail computed:
    // - 1e-13 for the arithmetic, plus 2 ulps of |log tail|: the prefactor is exp of a sum whose
    //   size is that logarithm (up to 745 before the tail underflows);
    // - the continued fraction g(t) = tail · p / prefactor, evaluated at t = x (parameters
    //   p = a, q = b) or t = 1 − x (p = b, q = a), in double precision: each rounding in it acts
    //   like a relative change of t by an ulp, which moves g by κ = t |d log g/dt| ulps, and
    //   κ = |t f(x) / tail − p + q t/(1 − t)| with f the Beta density (from the derivatives of the
    //   tail and of the prefactor). κ is largest for the skewed pairs (10, 1e6) and (1e6, 100)
    //   near the mean, up to 1.6e5 (errors of 3.8e-11 are measured there); for every other pair
    //   on the grid it stays below 2e3 (1.1e3 at a = b = 1e6).
    // Before the prefactor was computed without cancelling log-gammas (DiDonato & Morris), the
    // tails at a, b ≥ 2e5 were off by up to 2.9e-9, and the worst case was 1.2e4 times this bound.
    const cases = fx.beta.flatMap(([x, a, b, cdf, sf]) => {
      const lowerComputed = x < (a + 1) / (a + b + 2);
      const tail = lowerComputed ? cdf : sf;
      let kappa = 0;
      if (x > 0 && x < 1 && tail > 0) {
        const y = 1 - x;
        const logPrefactor =
          logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
        // t f(x) = prefactor / (1 − t); log-gamma's cancellation (1e-9 here) does not matter
        // for a bound.
        kappa = lowerComputed
          ? Math.abs(Math.exp(logPrefactor) / y / cdf - a + (b * x) / y)
          : Math.abs(Math.exp(logPrefactor) / x / sf - b + (a * y) / x);
      }
      const rtol = 1e-13 + 2 * EPS * (tail > 0 ? Math.abs(Math.log(tail)) : 0) + 8 * EPS * kappa;
      // The other tail is 1 minus the computed one: off by rtol times it, plus an ulp of 1.
      const other = rtol * tail + 4 * EPS;
      return [
        {
          label: `betaCdf(${x}, ${a}, ${b})`,
          got: betaCdf(x, a, b),
          want: cdf,
          rtol: lowerComputed ? rtol : 0,
          atol: lowerComputed ? 0 : other,
        },
        {
          label: `betaSf(${x}, ${a}, ${b})`,
          got: betaSf(x, a, b),
          want: sf,
          rtol: lowerComputed ? 0 : rtol,
          atol: lowerComputed ? other : 0,
        },
      ];
    });
    expect(misses(cases)).toEqual([]);
  });

  it("betaCdf at a = b = 1e6 and a small upper tail: the cases that were wrong", () => {
    // The continued fraction stopped after 300 steps where it needs ~530: I_0.5 came out
    // 0.49999962 instead of exactly 0.5 (by symmetry). Then the prefactor's cancelling
    // log-gammas (terms of 2.7e7) left it 0.4999999986.
    expect(Math.abs(betaCdf(0.5, 1e6, 1e6) - 0.5)).toBeLessThan(1e-12);
    // 30 standard deviations below the mean: was 2.7e-9 too large, relative.
    const far = betaCdf(0.4893934009338512, 1e6, 1e6);
    expect(Math.abs(far / 4.4350983668879436e-198 - 1)).toBeLessThan(1e-12);
    // A small parameter beside a large one: log Γ(1e4 + 0.001) − log Γ(1e4) was 0.009 from terms
    // of 8e4, 2.9e-9 off.
    const skewed = betaSf(0.000001, 0.001, 10000);
    expect(Math.abs(skewed / 0.00403064572843301 - 1)).toBeLessThan(1e-12);
    // P(θ > 0.3) for θ ~ Beta(0.001, 100) is 1.06e-20; as 1 − I_x it was 0.
    const sf = betaSf(0.3, 0.001, 100);
    expect(Math.abs(sf / 1.0585394032575927e-20 - 1)).toBeLessThan(1e-12);
  });

  it("normalSf: within 2e-13 + 4 ulp · z² relative", () => {
    // Below z = 2√2 it is erfc's series (see erfc below). Beyond, exp(−x²) with x = z/√2
    // rounded: the rounding of x and of x² is multiplied by x² in the exponent, so the relative
    // error grows like ulp · z² (3e-13 at z = 37). Below 1e-308 the result is subnormal and
    // keeps only absolute precision.
    const bad = misses(
      fx.normal.map(([z, sf]) => ({
        label: `normalSf(${z})`,
        got: normalSf(z),
        want: sf,
        rtol: 2e-13 + 4 * EPS * z * z,
        atol: 1e-320,
      })),
    );
    expect(bad).toEqual([]);
  });

  it("logNormalSf and minusLog10P: 5e-14 relative for z ≥ 0, finite to z = 1e10", () => {
    // For z ≥ 0 the logarithm is computed directly (no exp), so no z² growth; below 2√2 it is
    // log of the erfc series, whose 1 − erf cancels to about 1e-14. For z < 0 the value is
    // −P(Z > |z|) itself and has normalSf's tolerance.
    const cases = fx.normal.flatMap(([z, , log, mlog]) => {
      const rtol = z >= 0 ? 5e-14 : 2e-13 + 4 * EPS * z * z;
      return [
        { label: `logNormalSf(${z})`, got: logNormalSf(z), want: num(log), rtol, atol: 1e-320 },
        { label: `minusLog10P(${z})`, got: minusLog10P(z), want: num(mlog), rtol, atol: 1e-320 },
      ];
    });
    expect(misses(cases)).toEqual([]);
    // The audit reads −log10 p of huge statistics: it must stay finite, not become ∞.
    for (const z of [40, 100, 1e3, 1e5, 1e10]) expect(Number.isFinite(minusLog10P(z))).toBe(true);
  });

  it("erfc: 2e-13 relative below 2, then 1e-14 + 8 ulp · x²; subnormals absolute", () => {
    // Below 2 it is 1 − erf(x) from the Maclaurin series, which cancels as erf nears 1 (erfc(2)
    // is 0.0047); from 2 on the continued fraction times exp(−x²), as for normalSf.
    const bad = misses(
      fx.erfc.map(([x, want]) => ({
        label: `erfc(${x})`,
        got: erfc(x),
        want,
        rtol: Math.abs(x) < 2 ? 2e-13 : 1e-14 + 8 * EPS * x * x,
        // SciPy's erfc underflows to 0 at 27 (the true 5e-319 is subnormal).
        atol: 1e-316,
      })),
    );
    expect(bad).toEqual([]);
  });

  it("binomialZ and poissonZ: within 1e-12 · max(1, |z|)", () => {
    // z = ±√deviance; near the null the deviance is a difference of nearly equal terms
    // (k·log(k/λ) and k − λ are both about 500 when the deviance is 0.25), which costs a few
    // hundred ulps of it there; the tests and groups compare z with thresholds of 2 to 40.
    const cases = [
      ...fx.binomialZ.map(([k, n, p, z]) => ({
        label: `binomialZ(${k}, ${n}, ${p})`,
        got: binomialZ(k, n, p),
        want: z,
        rtol: 1e-12,
        atol: 1e-12,
      })),
      ...fx.poissonZ.map(([k, lambda, z]) => ({
        label: `poissonZ(${k}, ${lambda})`,
        got: poissonZ(k, lambda),
        want: z,
        rtol: 1e-12,
        atol: 1e-12,
      })),
    ];
    expect(misses(cases)).toEqual([]);
  });

  it("entropyBits within 1e-14 relative; noisyOr within 1e-15 absolute", () => {
    // Entropy sums positive terms: no cancellation. Noisy-OR is 1 − Π(1 − p), a probability
    // compared with thresholds such as 0.3: absolute error is what matters, and it loses the
    // relative precision of results below 1e-16 by construction.
    const bad = misses([
      ...fx.entropyBits.map(([counts, want]) => ({
        label: `entropyBits(${JSON.stringify(counts)})`,
        got: entropyBits(counts),
        want,
        rtol: 1e-14,
        atol: 0,
      })),
      ...fx.noisyOr.map(([ps, want]) => ({
        label: `noisyOr(${JSON.stringify(ps)})`,
        got: noisyOr(ps),
        want,
        rtol: 0,
        atol: 1e-15,
      })),
    ]);
    expect(bad).toEqual([]);
  });
});
