#!/usr/bin/env python3
"""Known answers for keel's detector statistics (src/defend/stats.ts) from SciPy and mpmath.

Writes test/defend/fixtures/stats-scipy.json, which test/defend/stats-scipy.test.ts reads (CI
has no Python). Run from the repository root with /usr/bin/python3 (SciPy, NumPy, mpmath):

    /usr/bin/python3 scripts/stats-reference.py

The audit flags raters on tail probabilities, and tails are where special functions go wrong
quietly: a log-gamma off in one range, an incomplete beta that stops converging for large
parameters, a normal tail that underflows so that -log10 p becomes infinite. The grid therefore
reaches the hard ranges: arguments from 1e-300 to 1e300, x at 0, 1 and 1 - 1e-12, Beta
parameters from 1e-3 to 1e6, z from -50 to 1e10, counts far in the tails. Nothing here is ported
from src/defend.

Where the references come from:
- log-gamma, erfc and the logarithm of the normal tail: scipy.special (gammaln, erfc, log_ndtr),
  double precision and accurate to a few ulps in these ranges;
- the regularised incomplete beta: mpmath at 40 digits, not scipy.special.betainc. SciPy 1.10's
  betainc (Cephes) is itself wrong for large parameters: it gives I_0.5(1e6, 1e6) = 0.49999961,
  where symmetry says exactly 0.5. mpmath's hypergeometric series is used up to parameters of
  1e4 and a quadrature of the density beyond (split at the mode and multiples of the standard
  deviation, so the narrow peak is not missed); each case also records SciPy's value;
- the normal tail P(Z > z) itself: mpmath, since SciPy's ndtr underflows to 0 at z = 37.5 where
  the true value is a subnormal double;
- the signed-root likelihood-ratio statistics: the deviance as twice the difference of the
  binomial / Poisson log-pmfs at the fitted and the null rate (mpmath, checked against SciPy's
  float64 log-pmfs), a different route from keel's closed-form Kullback-Leibler divergence;
- entropy: scipy.stats.entropy with base 2; noisy-OR: mpmath at 40 digits.

Every input is a float64 that JSON carries exactly, so keel and the reference see the same x.
"""

import json
import math
import os
import subprocess
from multiprocessing import Pool

import mpmath
import numpy as np
import scipy
import scipy.special as sc
import scipy.stats as st

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(REPO, "test", "defend", "fixtures", "stats-scipy.json")
mpmath.mp.dps = 40


def num(x):
    """A float for JSON; infinities as strings, which the test turns back."""
    x = float(x)
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def log_gamma_cases():
    xs = [1e-300, 1e-100, 1e-20, 1e-10, 1e-5, 1e-3, 0.01, 0.1, 0.25, 0.4999, 0.5, 0.5001, 0.75,
          0.9, 0.99, 1 - 1e-12, 1.0, 1 + 1e-12, 1.25, 1.5, 1.9, 2.0, 2 + 1e-9, 2.5, 3.0, 4.5, 7.5,
          10.0, 20.0, 33.3, 50.0, 100.0, 170.5, 171.7, 500.0, 1e3, 1e4, 1e5, 1e6, 2e6, 1e10,
          1e15, 1e50, 1e100, 1e300]
    return [[x, num(sc.gammaln(x))] for x in xs]


def series_terms(x, a, b):
    """Roughly how many terms beta_series(x, a, b) takes: those while they still grow, then
    about 83 / (1 - x) for them to shrink by 1e-36."""
    if x >= 1:
        return math.inf
    grow = max(0.0, (x * (a + b) - a - 1) / (1 - x))
    return grow + 83 / (1 - x)


def beta_series(x, a, b):
    """I_x(a, b) = x^a (1 - x)^b / (a B(a, b)) * 2F1(a + b, 1; a + 1; x)  (DLMF 8.17.8).

    Every term of the hypergeometric series is positive, so it sums without cancellation."""
    x, a, b = mpmath.mpf(x), mpmath.mpf(a), mpmath.mpf(b)
    term, total, n = mpmath.mpf(1), mpmath.mpf(1), 0
    while True:
        term *= (a + b + n) / (a + 1 + n) * x
        total += term
        n += 1
        if term < total * mpmath.mpf(10) ** -36 and (a + b + n) * x < (a + 1 + n):
            break
    ln_b = mpmath.loggamma(a) + mpmath.loggamma(b) - mpmath.loggamma(a + b)
    return mpmath.exp(a * mpmath.log(x) + b * mpmath.log1p(-x) - mpmath.log(a) - ln_b) * total


def beta_quadrature(x, a, b):
    """Both tails by integrating the density (bounded for a, b >= 1), split where its narrow
    peak lives so the quadrature does not miss it."""
    am, bm, xm = mpmath.mpf(a), mpmath.mpf(b), mpmath.mpf(x)
    ln_b = mpmath.loggamma(am) + mpmath.loggamma(bm) - mpmath.loggamma(am + bm)

    def density(t):
        # 0 * log(0) is 0 here (a or b = 1 at an end point), not NaN.
        left = (am - 1) * mpmath.log(t) if am != 1 else 0
        right = (bm - 1) * mpmath.log1p(-t) if bm != 1 else 0
        return mpmath.exp(left + right - ln_b)

    mean = am / (am + bm)
    sd = mpmath.sqrt(am * bm / ((am + bm) ** 2 * (am + bm + 1)))
    marks = sorted({mean + k * sd for k in (-64, -32, -16, -8, -4, -2, -1, 0, 1, 2, 4, 8, 16, 32,
                                            64)})
    lower = [mpmath.mpf(0)] + [m for m in marks if 0 < m < xm] + [xm]
    upper = [xm] + [m for m in marks if xm < m < 1] + [mpmath.mpf(1)]
    with mpmath.workdps(30):
        cdf, sf = mpmath.quad(density, lower), mpmath.quad(density, upper)
    # The two integrals are computed apart; their sum is a check on the quadrature.
    assert abs(cdf + sf - 1) < 1e-22, (x, a, b, cdf + sf)
    return cdf, sf


def beta_reference(args):
    """(I_x(a, b), 1 - I_x(a, b)) to about 35 digits, the smaller tail computed directly."""
    x, a, b = args
    if x <= 0:
        return 0.0, 1.0
    if x >= 1:
        return 1.0, 0.0
    xm = mpmath.mpf(x)
    # The tail on the far side of the mean is the small one: it is summed directly, and the
    # other is 1 minus it, which loses nothing since it is at least about a half.
    far_is_lower = x <= a / (a + b)
    lower_cost, upper_cost = series_terms(x, a, b), series_terms(1 - x, b, a)
    cdf = sf = None
    if (lower_cost if far_is_lower else upper_cost) <= 3e6:
        if far_is_lower:
            cdf = beta_series(xm, a, b)
            sf = 1 - cdf
        else:
            sf = beta_series(1 - xm, b, a)
            cdf = 1 - sf
        if max(lower_cost, upper_cost) <= 1e5:
            # Where the near tail is cheap too, summing it directly checks both.
            other = beta_series(1 - xm, b, a) if far_is_lower else beta_series(xm, a, b)
            assert abs(other - (sf if far_is_lower else cdf)) < mpmath.mpf(10) ** -30, (x, a, b)
    elif (upper_cost if far_is_lower else lower_cost) <= 3e6:
        # Only the near tail is affordable (x within 1e-6 of 1 below a mean still nearer 1):
        # the far tail is 1 minus it, which keeps its float64 digits while it is above 1e-20.
        if far_is_lower:
            sf = beta_series(1 - xm, b, a)
            cdf = 1 - sf
        else:
            cdf = beta_series(xm, a, b)
            sf = 1 - cdf
        assert min(cdf, sf) > 1e-20, (x, a, b)
    if cdf is None:
        # The quadrature keeps about 25 digits absolute, not relative: no far-tail case.
        assert min(a, b) >= 1, (x, a, b)
        cdf, sf = beta_quadrature(x, a, b)
        assert min(cdf, sf) > 1e-12, (x, a, b)
    elif min(a, b) >= 1 and max(a, b) >= 1e5 and min(cdf, sf) > 1e-3:
        # Two independent routes where both work (the quadrature only near the peak, where it
        # keeps its precision and is affordable): they must agree to far below float64.
        qc, qs = beta_quadrature(x, a, b)
        assert abs(qc - cdf) < 1e-22 and abs(qs - sf) < 1e-22, (x, a, b)
    return float(cdf), float(sf)


def beta_inputs():
    small = [1e-3, 0.1, 0.5, 1.0, 2.5, 10.0, 100.0, 1e3, 1e4]
    xs = [0.0, 1e-300, 1e-12, 1e-6, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 1 - 1e-6, 1 - 1e-12,
          1.0]
    cases = [(x, a, b) for a in small for b in small for x in xs]
    # Large parameters: a rater with many judgments. x around the mean, where the continued
    # fraction converges slowest, and far in both tails.
    for a, b in [(1e5, 1e5), (1e6, 1e6), (3e4, 7e4), (1e6, 10.0), (10.0, 1e6), (2e5, 1e6),
                 (1e6, 100.0), (5e5, 5e5 + 1)]:
        mean = a / (a + b)
        sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
        for k in (-30, -8, -3, -1, -0.1, 0, 0.1, 1, 3, 8, 30):
            x = mean + k * sd
            if 0 < x < 1:
                cases.append((x, a, b))
    # Beta(1 + k, 19 + n - k)-style posteriors the signals use, around their thresholds.
    for n in (20, 200, 5000):
        for k in (0, 1, n // 10, n // 2, n):
            for x in (0.05, 0.1, 0.5, 0.55):
                cases.append((x, 1.0 + k, 19.0 + n - k))
    return cases


def beta_cases():
    inputs = beta_inputs()
    with Pool(2) as pool:
        refs = pool.map(beta_reference, inputs, chunksize=8)
    out = []
    for (x, a, b), (cdf, sf) in zip(inputs, refs):
        out.append([x, a, b, num(cdf), num(sf), num(sc.betainc(a, b, x))])
    return out


def normal_tail(z):
    """P(Z > z) to 40 digits: SciPy's ndtr underflows to 0 from z = 37.5 on, where the true
    value (3.8e-312 at 37.75) is still a subnormal double."""
    return mpmath.erfc(mpmath.mpf(z) / mpmath.sqrt(2)) / 2


def normal_cases():
    zs = sorted({float(z) for z in np.arange(-50, 50.25, 0.25)} |
                {-1e10, -1e3, -100.0, -1e-10, 1e-10, 1.959963984540054, 2 * math.sqrt(2), 7.99,
                 8.01, 37.5, 38.5, 39.0, 60.0, 100.0, 1e3, 1e5, 1e10, 1e150})
    # [z, P(Z > z), log P(Z > z), -log10 P(Z > z)]; SciPy's log_ndtr for the logarithms
    return [[z, num(normal_tail(z)), num(sc.log_ndtr(-z)), num(-sc.log_ndtr(-z) / math.log(10))]
            for z in zs]


def erfc_cases():
    xs = sorted({float(x) for x in np.arange(-6, 6.05, 0.1)} |
                {1e-300, 1e-10, 0.5, 1.5, 1.99, 2.0, 2.01, 2.5, 3.0, 5.0, 8.0, 10.0, 15.0, 20.0,
                 25.0, 26.0, 26.5, 27.0, 27.2, 28.0, 30.0, -26.0})
    return [[round(x, 12), num(sc.erfc(round(x, 12)))] for x in xs]


def signed_root(dev, up):
    z = mpmath.sqrt(max(mpmath.mpf(0), dev))
    return z if up else -z


# The deviance is twice the log-likelihood ratio of the fitted rate over the null one, from
# log-pmfs. In mpmath, not scipy.stats: SciPy's float64 log-pmfs at n = 1e6 are differences of
# terms near 1e7, so their difference (about 0.1 near the null) keeps only 1e-9 of it.
def binomial_log_pmf(k, n, p):
    k, n, p = mpmath.mpf(k), mpmath.mpf(n), mpmath.mpf(p)
    ln_choose = mpmath.loggamma(n + 1) - mpmath.loggamma(k + 1) - mpmath.loggamma(n - k + 1)
    return ln_choose + (k * mpmath.log(p) if k > 0 else 0) + \
        ((n - k) * mpmath.log1p(-p) if n > k else 0)


def poisson_log_pmf(k, lam):
    k, lam = mpmath.mpf(k), mpmath.mpf(lam)
    return (k * mpmath.log(lam) if k > 0 else 0) - lam - mpmath.loggamma(k + 1)


def binomial_cases():
    out = []
    for n in (1, 10, 100, 10_000, 1_000_000):
        for p in (1e-6, 1e-3, 0.01, 0.1, 0.5, 0.9, 0.999):
            mean, sd = n * p, math.sqrt(n * p * (1 - p))
            ks = {0, 1, n - 1, n} | {round(mean + c * sd) for c in (-20, -5, -2, -0.5, 0, 0.5, 2, 5,
                                                                  20, 100)}
            for k in sorted(k for k in ks if 0 <= k <= n):
                dev = 2 * (binomial_log_pmf(k, n, mpmath.mpf(k) / n) - binomial_log_pmf(k, n, p))
                out.append([k, n, p, num(signed_root(dev, k / n >= p))])
                # A cross-check of the route: SciPy's float64 log-pmfs, loose as said above.
                dev64 = 2 * (st.binom.logpmf(k, n, k / n) - st.binom.logpmf(k, n, p))
                assert abs(dev64 - float(dev)) < 1e-8 * max(1.0, float(dev)), (k, n, p)
    return out


def poisson_cases():
    out = []
    for lam in (1e-3, 0.1, 1.0, 10.0, 100.0, 1e4, 1e6):
        sd = math.sqrt(lam)
        ks = {0, 1, 2} | {round(lam + c * sd) for c in (-20, -5, -2, -0.5, 0, 0.5, 2, 5, 20, 100)}
        for k in sorted(k for k in ks if k >= 0):
            dev = 2 * (poisson_log_pmf(k, k) - poisson_log_pmf(k, lam))
            out.append([k, lam, num(signed_root(dev, k >= lam))])
            dev64 = 2 * (st.poisson.logpmf(k, k) - st.poisson.logpmf(k, lam)) if k > 0 else 2 * lam
            assert abs(dev64 - float(dev)) < 1e-8 * max(1.0, float(dev)), (k, lam)
    return out


def entropy_cases():
    counts = [[1, 1], [5, 0, 0], [0, 3], [1, 2, 3, 0, 4], [1e6, 1], [1, 1e-300], [7],
              [0.5, 0.25, 0.25], [3, 3, 3, 3, 3, 3, 3, 3], [1e300, 1e300], [2, 0, 2, 0, 2, 0, 2, 1],
              [1e-10, 1e10, 0]]
    return [[c, num(st.entropy(c, base=2))] for c in counts]


def noisy_or_cases():
    lists = [[], [0], [1], [0, 0, 0], [0.5, 0.5], [1, 0.3], [0.3, 0.3, 0.3], [0.999, 0.999],
             [1e-9, 0.2], [0.05] * 20, [0.9, 0.8, 0.7, 0.6], [0.1, 0, 1, 0.1], [0.25]]
    out = []
    for ps in lists:
        q = mpmath.mpf(1)
        for p in ps:
            q *= 1 - mpmath.mpf(p)
        out.append([ps, num(1 - q)])
    return out


def main():
    fx = {
        "about": (f"scripts/stats-reference.py: SciPy {scipy.__version__}, NumPy {np.__version__}"
                  f", mpmath {mpmath.__version__} (40 digits) for the incomplete beta"),
        "logGamma": log_gamma_cases(),
        "beta": beta_cases(),
        "normal": normal_cases(),
        "erfc": erfc_cases(),
        "binomialZ": binomial_cases(),
        "poissonZ": poisson_cases(),
        "entropyBits": entropy_cases(),
        "noisyOr": noisy_or_cases(),
    }
    os.makedirs(os.path.dirname(FIXTURE), exist_ok=True)
    with open(FIXTURE, "w") as f:
        json.dump(fx, f, separators=(",", ":"))
    # The repository's JSON style, so a regenerated fixture diffs only where numbers changed.
    subprocess.run(["npx", "biome", "format", "--write", FIXTURE], cwd=REPO, check=True)
    print(f"wrote {os.path.relpath(FIXTURE, REPO)}: " +
          ", ".join(f"{k} {len(v)}" for k, v in fx.items() if isinstance(v, list)))


if __name__ == "__main__":
    main()
