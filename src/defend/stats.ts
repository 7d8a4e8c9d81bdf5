/**
 * Small numerics for the detectors: Beta posterior tails, normal tails in log space, and the
 * signed-root likelihood-ratio statistic of a binomial count.
 *
 *   betaSf(x; a, b)  = P(θ > x), θ ~ Beta(a, b)  = 1 − I_x(a, b)
 *   I_x(a, b)         by the continued fraction of Numerical Recipes §6.4 (modified Lentz),
 *                     using the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) where it converges faster
 *   log Φ̄(z)          = log ½erfc(z/√2), in log space from z = 2√2 (no underflow)
 *   binomial z        = sign(k/n − p) · √(2 n KL(k/n ‖ p))     (Wilks; accurate far into the tail)
 *
 * Why signed-root LR rather than a plain z-score: trigger tokens and collusion edges have small
 * base rates and large counts, where the normal approximation of a proportion is poor but the
 * deviance is not.
 */

/** log Γ(x) for x > 0 (Lanczos, g = 7, n = 9; |error| < 1e-13 in double precision). */
export function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const y = x - 1;
  let s = c[0]!;
  for (let i = 1; i < 9; i++) s += c[i]! / (y + i);
  const t = y + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(s);
}

/**
 * The continued fraction converges in O(√max(a, b)) steps (Numerical Recipes §6.4): about 530
 * at a = b = 10⁶, so a fixed 300 stopped short and I_0.5(10⁶, 10⁶) came out 0.49999962. The cap
 * keeps non-finite parameters from looping for ever.
 */
function betaIterations(a: number, b: number): number {
  return Math.min(1_000_000, 300 + Math.ceil(Math.sqrt(Math.max(a, b))));
}

function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  const iterations = betaIterations(a, b);
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= iterations; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-14) break;
  }
  return h;
}

/**
 * [P(θ ≤ x), P(θ > x)] for θ ~ Beta(a, b). The continued fraction gives the tail on the side
 * where it converges; that tail is returned as computed and only the other is 1 minus it, so a
 * small upper tail keeps its relative precision (as 1 − I_x it was 0 below 1e-16).
 */
function betaTails(x: number, a: number, b: number): [number, number] {
  if (!(a > 0 && b > 0)) return [Number.NaN, Number.NaN];
  if (x <= 0) return [0, 1];
  if (x >= 1) return [1, 0];
  const lbt = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  const bt = Math.exp(lbt);
  if (x < (a + 1) / (a + b + 2)) {
    const lower = (bt * betaContinuedFraction(x, a, b)) / a;
    return [lower, 1 - lower];
  }
  const upper = (bt * betaContinuedFraction(1 - x, b, a)) / b;
  return [1 - upper, upper];
}

/** The regularised incomplete beta function I_x(a, b) = P(θ ≤ x) for θ ~ Beta(a, b). */
export function betaCdf(x: number, a: number, b: number): number {
  return betaTails(x, a, b)[0];
}

/** P(θ > x) for θ ~ Beta(a, b). */
export function betaSf(x: number, a: number, b: number): number {
  return Math.min(1, Math.max(0, betaTails(x, a, b)[1]));
}

/**
 * log P(Z > z) for a standard normal Z, to about 1e-15 relative error for every z. From
 * z = 2√2 on it is the logarithm of the continued fraction below, −z²/2 − log(√π f) − log 2,
 * which never underflows. (A four-term asymptotic series from z = 8 was off by 5.6e-6 there.)
 * Below zero it is log1p of the other tail, which keeps log(1 − 1e-24) from rounding to 0.
 */
export function logNormalSf(z: number): number {
  if (z < 0) return Math.log1p(-normalSf(-z));
  const x = z / Math.SQRT2;
  if (x < 2) return Math.log(normalSf(z));
  return -0.5 * z * z - Math.log(Math.sqrt(Math.PI) * erfcContinuedFraction(x)) - Math.LN2;
}

/** P(Z > z) for a standard normal Z. */
export function normalSf(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/**
 * erfc: the Maclaurin series of erf for |x| < 2 and the Laplace continued fraction beyond, both
 * to about 1e-15 relative error (a Chebyshev fit's 1e-7 is too coarse for log tails).
 */
export function erfc(x: number): number {
  const ax = Math.abs(x);
  let r: number;
  if (ax < 2) {
    // erf series: erf(x) = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))
    let sum = ax;
    let term = ax;
    const x2 = ax * ax;
    for (let n = 1; n < 60; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    r = 1 - (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    r = Math.exp(-ax * ax) / (Math.sqrt(Math.PI) * erfcContinuedFraction(ax));
  }
  return x >= 0 ? r : 2 - r;
}

/**
 * The continued fraction f(x) with erfc(x) = exp(−x²) / (√π f(x)) for x ≥ 2, evaluated by Lentz:
 * f(x) = x + ½/(x + 1/(x + 3/2/(x + 2/(x + ...)))).
 */
function erfcContinuedFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 200; n++) {
    const an = n / 2;
    d = x + an * d;
    d = Math.abs(d) < tiny ? 1 / tiny : 1 / d;
    c = x + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    const del = c * d;
    f *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return f;
}

/** KL(q ‖ p) of two Bernoulli rates; log1p, since log(q/p) of a ratio near 1 lost 1e-10 of z. */
function klBernoulli(q: number, p: number): number {
  let s = 0;
  if (q > 0) s += q * Math.log1p((q - p) / p);
  if (q < 1) s += (1 - q) * Math.log1p((p - q) / (1 - p));
  return s;
}

/**
 * Signed-root likelihood-ratio statistic of observing k successes in n trials when the rate is
 * p: positive when k/n > p. Approximately standard normal under the null.
 */
export function binomialZ(k: number, n: number, p: number): number {
  if (n <= 0) return 0;
  const pc = Math.min(1 - 1e-12, Math.max(1e-12, p));
  const q = k / n;
  const z = Math.sqrt(Math.max(0, 2 * n * klBernoulli(q, pc)));
  return q >= pc ? z : -z;
}

/** Signed-root LR statistic of a Poisson count k with mean λ (positive when k > λ). */
export function poissonZ(k: number, lambda: number): number {
  if (lambda <= 0) return k > 0 ? Number.POSITIVE_INFINITY : 0;
  // log1p: for k near λ, log(k/λ) of a ratio like 0.9995 cost the deviance 1e-10 of its size.
  const dev = k > 0 ? 2 * (k * Math.log1p((k - lambda) / lambda) - (k - lambda)) : 2 * lambda;
  const z = Math.sqrt(Math.max(0, dev));
  return k >= lambda ? z : -z;
}

/** −log10 of the upper-tail p-value of a z statistic (0 for z ≤ 0 is not assumed: exact). */
export function minusLog10P(z: number): number {
  return -logNormalSf(z) / Math.LN10;
}

/** Median of the finite values (NaN when none). Copies; does not reorder the input. */
export function median(values: ArrayLike<number>): number {
  const v: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (Number.isFinite(x)) v.push(x);
  }
  if (v.length === 0) return Number.NaN;
  v.sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 === 1 ? v[m]! : 0.5 * (v[m - 1]! + v[m]!);
}

/** Shannon entropy in bits of counts. */
export function entropyBits(counts: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total <= 0) return 0;
  let h = 0;
  for (let i = 0; i < counts.length; i++) {
    const p = counts[i]! / total;
    if (p > 0) h -= p * Math.log2(p);
  }
  return h;
}

/** Noisy-OR of independent probabilities: 1 − Π(1 − pᵢ). */
export function noisyOr(ps: readonly number[]): number {
  let q = 1;
  for (const p of ps) q *= 1 - Math.min(1, Math.max(0, p));
  return 1 - q;
}
