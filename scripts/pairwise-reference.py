#!/usr/bin/env python3
"""Known answers for keel's pairwise aggregators from an independent NumPy/SciPy implementation.

Writes test/aggregate/fixtures/pairwise-reference.json, which
test/aggregate/pairwise-python-reference.test.ts reads (CI has no Python). Run from anywhere
with NumPy and SciPy installed:

    /usr/bin/python3 scripts/pairwise-reference.py

The models are written from the papers and from keel's docs/aggregate.md, not from
src/aggregate/pairwise:

- Bradley-Terry (Bradley & Terry 1952): P(i beats j) = sigma(beta_i - beta_j); a tie is half a
  win for each side. The maximum-likelihood scores are found by Newton's method on the concave
  log-likelihood (one score held at 0), and again by I-LSR (Maystre & Grossglauser 2015): the
  stationary distribution of the Markov chain whose rate from loser j to winner i is
  w_ij / (pi_i + pi_j), solved densely at each outer step. The two must agree.
- Crowd-BT (Chen et al. 2013): rater w reports the true preference with probability eta_w and
  the opposite one otherwise: P(left) = eta s + (1 - eta)(1 - s), s = sigma(beta_l - beta_r).
- Noisy BT (Bugakova et al. 2019, keel's docs): rater w answers by Bradley-Terry with
  probability a_w and otherwise picks the left item with probability c_w:
  P(left) = a s + (1 - a) c.

For the rater models the whole likelihood (a tie counts half an observation each way) is
maximised directly over scores and rater parameters, by L-BFGS-B from keel's documented start
(beta = 0, eta = a = 0.9, c = 1/2) and then Newton's method on the gradient (the Hessian by
central differences of the exact gradient), so the answer is where the gradient vanishes, not
where an EM stopped. Rater parameters are held in [1e-6, 1 - 1e-6].

Regularisation (`prior` > 0), as docs/aggregate.md states it: every item plays `prior` virtual
wins and `prior` virtual losses against one extra reference item, whose score is a free
parameter like the others (Chen et al. 2013's virtual object o_0), answered by a perfect rater.
The log-likelihood reported includes these virtual games. Scores are the log-strengths of the
real items, centred to mean 0 (the reference item excluded).
"""

import json
import math
import os
import subprocess

import numpy as np
from scipy.optimize import minimize
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(REPO, "test", "aggregate", "fixtures", "pairwise-reference.json")
BOUND = 1e-6
# A score this far from 0 on these small data sets means the likelihood keeps rising as some
# scores run off to infinity (no maximum exists without a prior).
RUNS_OFF = 20


def sigma(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


# ---------------------------------------------------------------------------------- data


class Data:
    """Rows (worker, left, right, outcome) with outcome 0 = left wins, 1 = right wins, 2 = tie."""

    def __init__(self, rows):
        self.rows = rows
        self.items = sorted({r[1] for r in rows} | {r[2] for r in rows})
        self.workers = sorted({r[0] for r in rows})
        ix = {n: k for k, n in enumerate(self.items)}
        wx = {n: k for k, n in enumerate(self.workers)}
        self.w = np.array([wx[r[0]] for r in rows])
        self.l = np.array([ix[r[1]] for r in rows])
        self.r = np.array([ix[r[2]] for r in rows])
        # the left item's share of the outcome: 1, 0, or 1/2 for a tie
        self.y = np.array([{0: 1.0, 1: 0.0, 2: 0.5}[r[3]] for r in rows])
        self.N = len(self.items)
        self.W = len(self.workers)

    def wins(self, prior):
        """Matrix M[i, j]: wins of i over j (ties half each), with the reference item appended."""
        n = self.N + (1 if prior > 0 else 0)
        M = np.zeros((n, n))
        np.add.at(M, (self.l, self.r), self.y)
        np.add.at(M, (self.r, self.l), 1.0 - self.y)
        if prior > 0:
            M[: self.N, self.N] += prior
            M[self.N, : self.N] += prior
        return M


def strongly_connected(M):
    """Loser -> winner edges wherever a side has any (possibly half) win."""
    g = csr_matrix((M.T > 0).astype(float))
    count, _ = connected_components(g, directed=True, connection="strong")
    return count == 1


def centred(beta, N):
    s = beta[:N] - beta[:N].mean()
    return s


def bt_loglik(M, beta):
    d = beta[:, None] - beta[None, :]
    with np.errstate(divide="ignore"):
        logp = -np.logaddexp(0.0, -d)
    return float(np.sum(np.where(M > 0, M * logp, 0.0)))


# ------------------------------------------------------------------- Bradley-Terry (Newton)


def bt_newton(M):
    n = M.shape[0]
    beta = np.zeros(n)
    C = M + M.T  # comparisons of each pair
    for _ in range(200):
        P = sigma(beta[:, None] - beta[None, :])
        g = M.sum(axis=1) - (C * P).sum(axis=1)
        if np.max(np.abs(g)) < 1e-13 * max(1.0, C.sum()):
            break
        Wt = C * P * (1 - P)
        H = np.diag(Wt.sum(axis=1)) - Wt  # minus the Hessian (a Laplacian)
        # hold beta_0 fixed: solve on the others
        step = np.zeros(n)
        step[1:] = np.linalg.solve(H[1:, 1:], g[1:])
        t, ll0 = 1.0, bt_loglik(M, beta)
        while bt_loglik(M, beta + t * step) < ll0 - 1e-12 * abs(ll0) and t > 1e-8:
            t /= 2
        beta = beta + t * step
    return beta


# -------------------------------------------------------------------------- I-LSR (dense)


def bt_ilsr(M, iters=500):
    n = M.shape[0]
    pi = np.ones(n) / n
    for _ in range(iters):
        rate = M.T / (pi[:, None] + pi[None, :])  # rate[j, i]: j lost to i, flow j -> i
        Q = rate - np.diag(rate.sum(axis=1))  # generator
        # stationary distribution: pi Q = 0, sum pi = 1
        A = np.vstack([Q.T, np.ones(n)])
        b = np.zeros(n + 1)
        b[-1] = 1.0
        new = np.linalg.lstsq(A, b, rcond=None)[0]
        change = np.max(np.abs(np.log(new / pi)))
        pi = new
        if change < 1e-14:
            break
    return np.log(pi)


# -------------------------------------------------------------------- rater models (MLE)


class RaterModel:
    """Log-likelihood and exact gradient of a mixture rater model over (beta, rater params)."""

    def __init__(self, data, prior, kind):
        self.d = data
        self.prior = prior
        self.kind = kind  # "crowd" or "noisy"
        self.n = data.N + (1 if prior > 0 else 0)
        self.k = 1 if kind == "crowd" else 2  # rater parameters each

    def split(self, x):
        beta = x[: self.n]
        p = x[self.n :].reshape(self.k, self.d.W)
        return beta, p

    def value_grad(self, x):
        d = self.d
        beta, p = self.split(x)
        s = sigma(beta[d.l] - beta[d.r])
        ds = s * (1 - s)
        gb = np.zeros(self.n)
        gp = np.zeros_like(p)
        if self.kind == "crowd":
            e = p[0][d.w]
            P = e * s + (1 - e) * (1 - s)
            dP_dd = (2 * e - 1) * ds
            dP_dparams = [2 * s - 1]
        else:
            a, c = p[0][d.w], p[1][d.w]
            P = a * s + (1 - a) * c
            dP_dd = a * ds
            dP_dparams = [s - c, 1 - a]
        y = d.y
        ll = float(np.sum(np.where(y > 0, y * np.log(P), 0) + np.where(y < 1, (1 - y) * np.log1p(-P), 0)))
        dll_dP = y / P - (1 - y) / (1 - P)
        np.add.at(gb, d.l, dll_dP * dP_dd)
        np.add.at(gb, d.r, -dll_dP * dP_dd)
        for k, dPk in enumerate(dP_dparams):
            np.add.at(gp[k], d.w, dll_dP * dPk)
        if self.prior > 0:
            N, G = d.N, d.N
            t = beta[:N] - beta[G]
            ll += self.prior * float(np.sum(-np.logaddexp(0, -t) - np.logaddexp(0, t)))
            gi = self.prior * (1 - 2 * sigma(t))
            gb[:N] += gi
            gb[G] -= gi.sum()
        return ll, np.concatenate([gb, gp.ravel()])

    def fit(self):
        """The best of keel's documented start and 12 seeded random starts (the likelihood is
        not concave: from keel's start alone L-BFGS-B stopped on a lower local maximum)."""
        d = self.d
        rng = np.random.default_rng(7)
        start = [np.full(d.W, 0.9)] + ([np.full(d.W, 0.5)] if self.kind == "noisy" else [])
        starts = [np.concatenate([np.zeros(self.n)] + start)]
        for _ in range(12):
            starts.append(np.concatenate([rng.normal(size=self.n),
                                          rng.uniform(0.05, 0.95, self.k * d.W)]))
        best = None
        for x0 in starts:
            found = self.fit_from(x0)
            if found is None:
                return None  # some start ran off: the supremum is not attained
            if best is None or found[2] > best[2] + 1e-9:
                best = found
        return best

    def fit_from(self, x0):
        d = self.d
        x0 = x0.copy()
        x0[0] = 0.0
        bounds = [(None, None)] * self.n + [(BOUND, 1 - BOUND)] * (self.k * d.W)
        bounds[0] = (0.0, 0.0)  # gauge: beta_0 = 0

        def f(x):
            v, g = self.value_grad(x)
            return -v, -g

        with np.errstate(all="ignore"):
            res = minimize(f, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                           options={"maxiter": 20000, "ftol": 1e-15, "gtol": 1e-11, "maxcor": 50})
        x = res.x
        if np.max(np.abs(x[: self.n])) > RUNS_OFF:
            return None  # the likelihood keeps rising as some scores run off to infinity
        # Newton on the free coordinates (not the gauge, not parameters at a bound)
        for _ in range(50):
            _, g = self.value_grad(x)
            lo = np.array([b[0] if b[0] is not None else -np.inf for b in bounds])
            hi = np.array([b[1] if b[1] is not None else np.inf for b in bounds])
            at_lo = (x <= lo + 1e-12) & (g <= 0)
            at_hi = (x >= hi - 1e-12) & (g >= 0)
            free = ~(at_lo | at_hi)
            free[0] = False
            if np.max(np.abs(g[free])) < 1e-11:
                break
            idx = np.flatnonzero(free)
            H = np.zeros((len(idx), len(idx)))
            h = 1e-6
            for a, i in enumerate(idx):
                xp, xm = x.copy(), x.copy()
                xp[i] += h
                xm[i] -= h
                H[:, a] = (self.value_grad(xp)[1][idx] - self.value_grad(xm)[1][idx]) / (2 * h)
            H = 0.5 * (H + H.T)
            if np.max(np.linalg.eigvalsh(H)) >= 0:
                # a flat direction (a bias that no longer matters once its skill is at 1):
                # keep the L-BFGS-B answer, whose gradient is already small
                break
            step = np.linalg.solve(H, -g[idx])
            ll0 = self.value_grad(x)[0]
            t = 1.0
            while t > 1e-10:
                trial = x.copy()
                trial[idx] = np.clip(x[idx] + t * step, lo[idx], hi[idx])
                if self.value_grad(trial)[0] >= ll0 - 1e-12 * abs(ll0):
                    break
                t /= 2
            x = trial
        if np.max(np.abs(x[: self.n])) > RUNS_OFF:
            return None
        ll, g = self.value_grad(x)
        beta, p = self.split(x)
        return beta, p, ll, res


# ------------------------------------------------------------------------------ datasets


def bt_world(rng, nItems, raters, n, tie_rate, prefix="i"):
    """Judgments from raters of the given kinds; returns rows."""
    beta = rng.normal(size=nItems)
    rows = []
    for _ in range(n):
        w = int(rng.integers(len(raters)))
        a = int(rng.integers(nItems))
        b = int((a + 1 + rng.integers(nItems - 1)) % nItems)
        s = 1 / (1 + math.exp(-(beta[a] - beta[b])))
        kind, x, c = raters[w]
        if kind == "crowd":  # truthful with probability x
            truth = rng.random() < s
            left = truth if rng.random() < x else not truth
        else:  # noisy: by the model with probability x, else left with probability c
            left = (rng.random() < s) if rng.random() < x else (rng.random() < c)
        o = 0 if left else 1
        if rng.random() < tie_rate:
            o = 2
        rows.append([f"w{w}", f"{prefix}{a}", f"{prefix}{b}", o])
    return rows


def datasets():
    rng = np.random.default_rng(20261207)
    out = []
    # 3 items, hand-sized, with ties: a cycle-free but strongly connected graph
    out.append({
        "name": "tiny-with-ties",
        "rows": [["u", "a", "b", 0], ["u", "a", "b", 0], ["u", "b", "a", 2], ["v", "b", "c", 0],
                 ["v", "c", "b", 2], ["u", "c", "a", 0], ["v", "a", "c", 0], ["v", "b", "a", 0]],
        "priors": [0, 0.5],
        "rater_models": False,  # 8 judgments: the rater models' scores run off
    })
    honest = [("crowd", 1.0, 0.5)] * 4
    out.append({"name": "bt-world-ties", "rows": bt_world(rng, 7, honest, 160, 0.12),
                "priors": [0, 1]})
    # Crowd-BT world: raters truthful with 0.9, 0.8, 0.75, one at 0.15, and one who always flips
    crowd = [("crowd", 0.9, 0.5), ("crowd", 0.8, 0.5), ("crowd", 0.75, 0.5), ("crowd", 0.15, 0.5),
             ("crowd", 0.0, 0.5)]
    out.append({"name": "flippers", "rows": bt_world(rng, 8, crowd, 500, 0.05), "priors": [0, 2]})
    # Noisy BT world: skills and position biases
    noisy = [("noisy", 0.85, 0.5), ("noisy", 0.6, 0.9), ("noisy", 0.5, 0.2), ("noisy", 0.7, 0.65)]
    out.append({"name": "position-bias", "rows": bt_world(rng, 8, noisy, 600, 0.05),
                "priors": [0, 1]})
    # two groups that never meet, plus an item that only loses: needs a prior
    g1 = bt_world(rng, 4, honest, 40, 0.1, prefix="p")
    g2 = bt_world(rng, 4, honest, 40, 0.1, prefix="q")
    lone = [["w0", "p0", "z", 0], ["w1", "q1", "z", 0]]
    out.append({"name": "disconnected", "rows": g1 + g2 + lone, "priors": [0, 1, 0.25]})
    return out


# ---------------------------------------------------------------------------------- main


def main():
    fixture = {"numpy": np.__version__, "bound": BOUND, "datasets": []}
    for ds in datasets():
        d = Data(ds["rows"])
        fits = []
        for prior in ds["priors"]:
            M = d.wins(prior)
            if not strongly_connected(M):
                fits.append({"prior": prior, "error": "KEEL_E_NOT_CONNECTED"})
                continue
            beta = bt_newton(M)
            il = bt_ilsr(M)
            gap = np.max(np.abs(centred(beta, d.N) - centred(il, d.N)))
            assert gap < 1e-9, f"{ds['name']}: Newton and I-LSR disagree by {gap}"
            bt = {"prior": prior, "method": "bradley-terry", "scores": centred(beta, d.N).tolist(),
                  "log_likelihood": bt_loglik(M, beta)}
            fits.append(bt)
            for kind, method in (("crowd", "crowd-bt"), ("noisy", "noisy-bt")):
                if not ds.get("rater_models", True):
                    continue
                found = RaterModel(d, prior, kind).fit()
                if found is None:
                    fits.append({"prior": prior, "method": method, "error": "runs-off"})
                    continue
                b, p, ll, res = found
                fit = {"prior": prior, "method": method, "scores": centred(b, d.N).tolist(),
                       "log_likelihood": ll, "skills": p[0].tolist()}
                if kind == "noisy":
                    fit["biases"] = p[1].tolist()
                fits.append(fit)
        fixture["datasets"].append({"name": ds["name"], "items": d.items, "workers": d.workers,
                                    "rows": ds["rows"], "fits": fits})
        print(ds["name"], len(ds["rows"]), "rows")
        for f in fits:
            print("  ", f.get("method", "-"), f["prior"], f.get("error", ""),
                  np.round(f.get("scores", []), 4), np.round(f.get("skills", []), 4),
                  np.round(f.get("biases", []), 4), f.get("log_likelihood"))
    os.makedirs(os.path.dirname(FIXTURE), exist_ok=True)
    with open(FIXTURE, "w") as fh:
        json.dump(fixture, fh, indent=1)
        fh.write("\n")
    # The repository's JSON style (npm test lints it), so a regenerated fixture diffs only where
    # numbers changed.
    subprocess.run(["npx", "biome", "format", "--write", FIXTURE], cwd=REPO, check=True)


if __name__ == "__main__":
    main()
