/**
 * Small numerics for the detectors: Beta posterior tails, normal tails in log space, and the
 * signed-root likelihood-ratio statistic of a binomial count.
 *
 *   betaSf(x; a, b)  = P(θ > x), θ ~ Beta(a, b)  = 1 − I_x(a, b)
 *   I_x(a, b)         by the continued fraction of Numerical Recipes §6.4 (modified Lentz),
 *                     using the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) where it converges faster,
 *                     times x^a (1 − x)^b / B(a, b) formed without cancelling log-gammas
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
  const bt = Math.exp(logBetaPrefactor(x, a, b));
  if (x < (a + 1) / (a + b + 2)) {
    const lower = (bt * betaContinuedFraction(x, a, b)) / a;
    return [lower, 1 - lower];
  }
  const upper = (bt * betaContinuedFraction(1 - x, b, a)) / b;
  return [1 - upper, upper];
}

/** Parameters from which Stirling's series gives log Γ to double precision (stirlingRest). */
const STIRLING_FROM = 10;

/**
 * log(x^a (1 − x)^b / B(a, b)), the leading factor of both tails, without cancellation.
 *
 * Taken as written, log Γ(a + b) − log Γ(a) − log Γ(b) + a log x + b log(1 − x) adds terms of
 * 2.7e7 at a = b = 10⁶ to get a few hundred, and keeps only 1e-9 of the result. Instead, in the
 * form of DiDonato & Morris (1992, ACM TOMS 18(3):360–373, doi:10.1145/131766.131776),
 * write log Γ(z) = (z − ½) log z − z + ½ log 2π + δ(z) for the large parameters, and measure x
 * from x₀ = a/(a + b) by e = (x − x₀)/x₀ = d/a and f = ((1 − x) − y₀)/y₀ = −d/b, with
 * d = x b − (1 − x) a. The terms of size a and b then cancel exactly on paper, leaving
 *
 *   a, b ≥ 10:  −a φ(e) − b φ(f) + ½ log(a b / (2π (a + b))) + δ(a + b) − δ(a) − δ(b)
 *   a < 10 ≤ b: −a φ(e) − b φ(f) + a log a − a − log Γ(a) + ½ log y₀ + δ(a + b) − δ(b)
 *
 * with φ(e) = e − log(1 + e) ≥ 0, so nothing large is subtracted. d itself is formed in
 * double-double: in plain double, 30 standard deviations out at a = b = 10⁶, its two products
 * of 5e5 cancel to 2e4, and that rounding, through a deviance of 450, cost the tail 4e-12.
 */
function logBetaPrefactor(x: number, a: number, b: number): number {
  const small = Math.min(a, b);
  if (Math.max(a, b) < STIRLING_FROM || !(a + b < 1e300)) {
    // Every term is below log Γ(20) = 39 in size: the direct sum loses at most ~1e-14.
    return logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  }
  const d = deviation(x, a, b);
  const y = 1 - x;
  const deviance =
    a * excessOverLog(d / a, () => Math.log((x * (a + b)) / a)) +
    b * excessOverLog(-d / b, () => Math.log((y * (a + b)) / b));
  if (small >= STIRLING_FROM) {
    const scale = 0.5 * Math.log((a * (b / (a + b))) / (2 * Math.PI));
    return -deviance + scale + stirlingRest(a + b) - stirlingRest(a) - stirlingRest(b);
  }
  const large = a === small ? b : a;
  const gammaSmall = small * Math.log(small) - small - logGamma(small);
  return (
    -deviance +
    gammaSmall +
    0.5 * Math.log(large / (a + b)) +
    stirlingRest(a + b) -
    stirlingRest(large)
  );
}

/**
 * d = x b − (1 − x) a to about an ulp of d, though both products may be a million times larger:
 * 1 − x and each product are carried as a double plus its rounding error (Dekker 1971).
 */
function deviation(x: number, a: number, b: number): number {
  const yHi = 1 - x;
  const yLo = 1 - yHi - x;
  const [p, pErr] = exactProduct(x, b);
  const [q, qErr] = exactProduct(yHi, a);
  const s = p - q;
  const back = s - p;
  const sErr = p - (s - back) + (-q - back);
  return s + (sErr + pErr - qErr - yLo * a);
}

/** [u v, its rounding error]; Veltkamp's split, as JavaScript has no fused multiply-add. */
function exactProduct(u: number, v: number): [number, number] {
  const uv = u * v;
  const uc = 134217729 * u;
  const uHi = uc - (uc - u);
  const uLo = u - uHi;
  const vc = 134217729 * v;
  const vHi = vc - (vc - v);
  const vLo = v - vHi;
  const err = uHi * vHi - uv + uHi * vLo + uLo * vHi + uLo * vLo;
  return [uv, Number.isFinite(err) ? err : 0];
}

/**
 * φ(e) = e − log(1 + e), to a few ulps. Near 0, with t = e/(2 + e), it is the series
 * 2t² + (4/3)t³ + 2t⁴ + (8/5)t⁵ + … (coefficient 2 at even powers, 2 − 2/k at odd k), which
 * for −½ ≤ e ≤ 1 has |t| ≤ ⅓ and terms that at least halve; outside that range φ(e) is at least
 * a quarter of |e| and of |log(1 + e)|, so the subtraction loses at most 2 bits. logOnePlusE
 * is asked for there because 1 + e, rounded, loses x/x₀ when x ≪ x₀.
 */
function excessOverLog(e: number, logOnePlusE: () => number): number {
  if (e < -0.5 || e > 1) return e - logOnePlusE();
  const t = e / (2 + e);
  const t2 = t * t;
  let power = t2;
  let sum = 2 * t2;
  for (let k = 3; k < 80; k++) {
    power *= t;
    const term = k % 2 === 0 ? 2 * power : (2 - 2 / k) * power;
    sum += term;
    if (Math.abs(term) < 1e-17 * sum) break;
  }
  return sum;
}

/**
 * δ(z) = log Γ(z) − ((z − ½) log z − z + ½ log 2π), Stirling's series to z⁻¹³: for z ≥ 10 the
 * first omitted term is below 3e-17.
 */
function stirlingRest(z: number): number {
  const w = 1 / (z * z);
  return (
    (1 / 12 -
      w *
        (1 / 360 -
          w * (1 / 1260 - w * (1 / 1680 - w * (1 / 1188 - w * (691 / 360360 - w / 156)))))) /
    z
  );
}

/** The regularised incomplete beta function I_x(a, b) = P(θ ≤ x) for θ ~ Beta(a, b). */
export function betaCdf(x: number, a: number, b: number): number {
  // Clamped like betaSf: with a parameter near 0 (a prior of 1e-20 pseudo-counts) the tail
  // comes out up to 1e-13 past 1 or below 0, and a detector's score must be a probability
  // (decision.ts stops the audit on anything else). NaN (a, b ≤ 0) stays NaN.
  return Math.min(1, Math.max(0, betaTails(x, a, b)[0]));
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
