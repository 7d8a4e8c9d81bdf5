#!/usr/bin/env python3
"""Known answers for keel's categorical aggregators from an independent NumPy/SciPy reference.

Writes test/aggregate/fixtures/categorical-reference.json, which
test/aggregate/categorical-python-reference.test.ts reads (CI has no Python). Run from the
repository root with NumPy and SciPy installed:

    python3 scripts/categorical-reference.py

The methods here are written from their papers and from keel's documentation
(docs/aggregate.md and the file headers), vectorised over a dense count tensor
n[i, w, l] = times worker w gave label l to task i, not ported from src/aggregate:

- majority vote and Wawa (crowd-kit's definitions): vote shares, ties to the lower class,
  a worker's skill the share of their labels equal to the vote's label, a label among k tied
  top classes counting 1/k; Wawa re-votes weighted by those skills;
- Dawid & Skene (1979) EM from the vote proportions (their §3), with keel's conventions: class
  priors the mean posterior, a confusion row without evidence uniform, probabilities clipped at
  float64 machine epsilon before the log, gold tasks fixed to their class, and optionally
  `diagonalPrior` pseudo-judgments on each confusion matrix's diagonal (a MAP fit);
- one-coin Dawid-Skene: the same EM with one accuracy per worker, wrong labels uniform over the
  other K - 1 classes;
- GLAD (Whitehill et al. 2009): P(label right) = sigmoid(alpha_w * exp(b_i)), priors
  alpha ~ N(1, 1), b ~ N(1, 1), fixed uniform class priors. keel's EM has a Fisher-scoring
  M-step and this one does not try to copy it: EM's limit is a stationary point of the marginal
  log-posterior, so the reference maximises that directly with L-BFGS (analytic gradient) from
  keel's start alpha = b = 1 and stores the maximum;
- M-MSR (Ma & Olshevsky 2020) as keel documents it: rescaled agreement matrix, alternating
  trimmed-mean (MSR) updates of u and v from all ones, scale, signs from agreement with the
  others, clipping, and a vote weighted by the one-coin log-odds.

Every data set is drawn from a seeded NumPy generator and stored in the fixture with its
answers.
"""

import json
import math
import os
import subprocess

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit, logsumexp

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(REPO, "test", "aggregate", "fixtures", "categorical-reference.json")
EPS = np.finfo(np.float64).eps  # keel clips probabilities here before a log
TIE = 2.0**-30  # keel's "exact ties" rule: relative scale of a score's rounding


# ---------------------------------------------------------------------------------------------
# Data


class Data:
    """Rows plus the dense count tensor n[i, w, l]; tasks and workers in first-seen order."""

    def __init__(self, rows, classes, gold=None, truth=None):
        self.rows = rows
        self.truth = truth  # the true class of each drawn task, for the record
        self.classes = classes
        self.tasks = list(dict.fromkeys(r[0] for r in rows))
        self.workers = list(dict.fromkeys(r[1] for r in rows))
        ti = {t: i for i, t in enumerate(self.tasks)}
        wi = {w: i for i, w in enumerate(self.workers)}
        ci = {c: i for i, c in enumerate(classes)}
        self.I, self.W, self.K = len(self.tasks), len(self.workers), len(classes)
        self.n = np.zeros((self.I, self.W, self.K))
        for t, w, l in rows:
            self.n[ti[t], wi[w], ci[l]] += 1
        self.gold = np.full(self.I, -1)
        for t, l in (gold or {}).items():
            self.gold[ti[t]] = ci[l]
        self.gold_rows = gold or {}
        self.N = len(rows)


def make_rows(rng, n_tasks, classes, workers, prior, coverage=None, repeats=None):
    """workers: {name: fn(rng, true_class) -> class index}; coverage: {name: P(labels a task)}."""
    K = len(classes)
    rows = []
    truth = rng.choice(K, size=n_tasks, p=prior)
    for i in range(n_tasks):
        for w, answer in workers.items():
            if coverage and rng.random() >= coverage[w]:
                continue
            times = 1 + (repeats or {}).get(w, 0) * int(rng.random() < 0.3)
            for _ in range(times):
                rows.append((f"t{i:02d}", w, classes[answer(rng, truth[i])]))
    return rows, truth


def honest(acc, K):
    def answer(rng, z):
        if rng.random() < acc:
            return z
        return (z + 1 + rng.integers(K - 1)) % K

    return answer


def spammer(K):
    return lambda rng, z: int(rng.integers(K))


def cyclic_adversary(K):
    # Always wrong, and always the same wrong class: a permutation a confusion matrix can learn.
    return lambda rng, z: (z + 1) % K


def datasets():
    out = {}
    rng = np.random.default_rng(20261207)
    C3 = ["a", "b", "c"]
    rows, truth = make_rows(
        rng,
        24,
        C3,
        {"w0": honest(0.85, 3), "w1": honest(0.8, 3), "w2": honest(0.75, 3),
         "w3": honest(0.65, 3), "spam": spammer(3)},
        [0.5, 0.3, 0.2],
    )
    out["spammer"] = Data(rows, C3, truth=truth)

    rows, truth = make_rows(
        rng,
        20,
        C3,
        {"w0": honest(0.8, 3), "w1": honest(0.8, 3), "w2": honest(0.7, 3),
         "w3": honest(0.7, 3), "adv": cyclic_adversary(3)},
        [0.4, 0.35, 0.25],
    )
    out["adversary"] = Data(rows, C3, truth=truth)

    C2 = ["no", "yes"]
    workers = {f"w{k}": honest(acc, 2) for k, acc in enumerate([0.9, 0.85, 0.8, 0.75, 0.7, 0.6])}
    workers["flip"] = lambda rng, z: 1 - z
    coverage = {"w0": 0.9, "w1": 0.7, "w2": 0.5, "w3": 0.4, "w4": 0.3, "w5": 0.25, "flip": 0.5}
    rows, truth = make_rows(rng, 40, C2, workers, [0.6, 0.4], coverage, repeats={"w1": 1})
    # a task only the flipper labelled, and one only w5 labelled
    rows += [("solo1", "flip", "yes"), ("solo2", "w5", "no")]
    out["coverage"] = Data(rows, C2, truth=truth)

    # "c" is a class of the data that no one uses (as when a label set is declared up front)
    rows, truth = make_rows(
        rng,
        16,
        C3,
        {"w0": honest(0.85, 2), "w1": honest(0.75, 2), "w2": honest(0.7, 2), "w3": spammer(2)},
        [0.55, 0.45, 0.0],
    )
    out["unused-class"] = Data(rows, C3, truth=truth)

    rows, truth = make_rows(
        rng,
        18,
        C2,
        {"w0": honest(0.8, 2), "w1": honest(0.7, 2), "w2": honest(0.65, 2),
         "flip": lambda rng, z: 1 - z},
        [0.5, 0.5],
    )
    gold = {f"t{i:02d}": C2[truth[i]] for i in (0, 3, 7)}
    out["gold"] = Data(rows, C2, gold, truth)

    # a larger panel with three adversaries who always flip and two spammers, so that M-MSR
    # trims (F = 4 of each worker's 11 co-workers); every worker sees two thirds of the tasks
    workers = {f"h{k}": honest(acc, 2) for k, acc in enumerate([0.9, 0.85, 0.8, 0.8, 0.75, 0.7, 0.65])}
    workers.update({f"x{k}": (lambda rng, z: 1 - z) for k in range(3)})
    workers.update({f"s{k}": spammer(2) for k in range(2)})
    coverage = {w: 2 / 3 for w in workers}
    rows, truth = make_rows(rng, 30, C2, workers, [0.5, 0.5], coverage)
    out["panel"] = Data(rows, C2, truth=truth)
    return out


# ---------------------------------------------------------------------------------------------
# Ties (keel's documented "exact ties" rule)


def equalise(row, tol):
    """From the top down, scores within tol of the top of their cluster take that top."""
    row = row.copy()
    order = np.argsort(-row, kind="stable")
    top = row[order[0]]
    for k in order:
        if top - row[k] <= tol:
            row[k] = top
        else:
            top = row[k]
    return row


def argmax_low(p):
    return np.argmax(p, axis=1)  # numpy's argmax takes the first (lowest) of tied maxima


# ---------------------------------------------------------------------------------------------
# Majority vote and Wawa


def vote_shares(d, weights=None):
    wts = np.ones(d.W) if weights is None else weights
    votes = np.einsum("iwl,w->il", d.n, wts)
    tot = votes.sum(axis=1, keepdims=True)
    shares = np.where(tot > 0, votes / np.where(tot > 0, tot, 1), 1.0 / d.K)
    if weights is not None:
        shares = np.array([equalise(r, TIE) for r in shares])
        shares /= shares.sum(axis=1, keepdims=True)
    return shares


def agreement_skills(d, probas):
    top = probas.max(axis=1, keepdims=True)
    in_tie = probas == top
    credit = in_tie / in_tie.sum(axis=1, keepdims=True)  # [I, K]
    hits = np.einsum("iwl,il->w", d.n, credit)
    return hits / d.n.sum(axis=(0, 2))


def majority_vote(d):
    p = vote_shares(d)
    return {"probas": p, "labels": argmax_low(p), "skills": agreement_skills(d, p)}


def wawa(d):
    s = agreement_skills(d, vote_shares(d))
    p = vote_shares(d, s)
    return {"probas": p, "labels": argmax_low(p), "skills": s}


# ---------------------------------------------------------------------------------------------
# Dawid-Skene and one-coin EM


def initial_T(d):
    T = vote_shares(d)
    return clamp_gold(d, T)


def clamp_gold(d, T):
    T = T.copy()
    for i, g in enumerate(d.gold):
        if g >= 0:
            T[i] = np.eye(d.K)[g]
    return T


def ds_m_step(d, T, diagonal_prior=0.0):
    counts = np.einsum("ik,iwl->wkl", T, d.n)  # expected (true k, said l) per worker
    counts = counts + diagonal_prior * np.eye(d.K)[None, :, :]  # Dirichlet pseudo-judgments
    tot = counts.sum(axis=2, keepdims=True)
    pi = np.where(tot > 0, counts / np.where(tot > 0, tot, 1), 1.0 / d.K)
    return T.mean(axis=0), pi


def one_coin_m_step(d, T):
    per_worker = d.n.sum(axis=(0, 2))
    s = np.einsum("il,iwl->w", T, d.n) / per_worker
    off = (1 - s) / (d.K - 1)
    pi = off[:, None, None] * (1 - np.eye(d.K)) + s[:, None, None] * np.eye(d.K)
    return T.mean(axis=0), pi, s


def e_step(d, p, pi):
    """Posteriors and log-likelihood of (p, pi); probabilities clipped at EPS before the log."""
    logp = np.log(np.maximum(p, EPS))
    logpi = np.log(np.maximum(pi, EPS))
    # score[i, k] = log p_k + sum_w sum_l n[i, w, l] log pi[w, k, l]
    score = logp[None, :] + np.einsum("iwl,wkl->ik", d.n, logpi)
    ll = 0.0
    T = np.empty_like(score)
    for i in range(d.I):
        g = d.gold[i]
        if g >= 0:
            ll += score[i, g]
            T[i] = np.eye(d.K)[g]
            continue
        ll += logsumexp(score[i])
        # each term is a log-probability <= 0, so -min bounds the rounding of every score
        row = equalise(score[i], TIE * (-min(score[i].min(), 0) + 1))
        T[i] = np.exp(row - row.max())
        T[i] /= T[i].sum()
    return T, ll


def run_em(d, m_step, max_iter, tol):
    """keel's documented loop and stopping rule; returns the fit after the last iteration."""
    T = initial_T(d)
    params = m_step(d, T)
    if max_iter == 0:
        _, ll = e_step(d, params[0], params[1])
        return T, params, ll, 0, False, []
    prev_vals = np.concatenate([T.ravel(), np.zeros(d.W * d.K * d.K)])
    prev_step, prev_ll = math.inf, -math.inf
    history = []
    it, converged = 0, False
    while it < max_iter:
        params = m_step(d, T)
        T, ll = e_step(d, params[0], params[1])
        it += 1
        history.append(ll)
        vals = np.concatenate([T.ravel(), params[1].ravel()])
        step = float(np.max(np.abs(vals - prev_vals)))
        prev_vals = vals
        rho = 0.0 if step == 0 else step / prev_step
        prev_step = step
        to_go = step / (1 - rho) if rho < 1 else math.inf
        settled = to_go < math.sqrt(tol)
        if settled and abs(ll - prev_ll) / d.N < tol:
            converged = True
            break
        prev_ll = ll
    return T, params, ll, it, converged, history


def em_answer(d, kind, max_iter, tol, diagonal_prior=0.0):
    if kind == "dawid-skene":
        def m_step(d, T):
            return ds_m_step(d, T, diagonal_prior)
    else:
        m_step = one_coin_m_step
    T, params, ll, it, conv, hist = run_em(d, m_step, max_iter, tol)
    p, pi = params[0], params[1]
    rel = np.einsum("k,wkk->w", p, pi)
    out = {
        "maxIter": max_iter,
        "tol": tol,
        "diagonalPrior": diagonal_prior,
        "probas": T,
        "labels": argmax_low(T),
        "priors": p,
        "errors": pi,
        "reliability": rel,
        "logLikelihood": ll,
        "iterations": it,
        "converged": conv,
        "history": hist,
    }
    if kind == "one-coin":
        out["skills"] = params[2]
    return out


# ---------------------------------------------------------------------------------------------
# GLAD: maximise the marginal log-posterior directly


def glad_objective(d, x):
    """-(log P(labels | alpha, b) + log prior) and its gradient; x = [alpha (W), b (I)]."""
    W, I, K = d.W, d.I, d.K
    a, b = x[:W], x[W:]
    z = a[None, :] * np.exp(b)[:, None]  # [I, W]
    lr = log_expit(z)  # log P(right)
    lw = log_expit(-z) - math.log(K - 1)  # log P(a given wrong label)
    nl = d.n.sum(axis=2)  # labels per (task, worker)
    logp = np.log(np.full(K, 1.0 / K))
    # score[i, k] = log p_k + sum_w n[i,w,k] lr[i,w] + (nl[i,w] - n[i,w,k]) lw[i,w]
    score = (
        logp[None, :]
        + np.einsum("iwk,iw->ik", d.n, lr - lw)
        + (nl * lw).sum(axis=1)[:, None]
    )
    has_gold = d.gold >= 0
    lse = logsumexp(score, axis=1)
    row_ll = np.where(has_gold, score[np.arange(I), np.maximum(d.gold, 0)], lse)
    T = np.exp(score - lse[:, None])
    T[has_gold] = np.eye(K)[d.gold[has_gold]]
    prior = -0.5 * np.sum((a - 1) ** 2) - 0.5 * np.sum((b - 1) ** 2)
    f = row_ll.sum() + prior
    # d f / d z[i, w] = sum_l n[i,w,l] (T[i,l] - sigmoid(z)) (Fisher's identity)
    right = np.einsum("iwl,il->iw", d.n, T)
    dz = right - nl * expit(z)
    ga = (dz * np.exp(b)[:, None]).sum(axis=0) - (a - 1)
    gb = (dz * z).sum(axis=1) - (b - 1)
    return -f, -np.concatenate([ga, gb])


def glad_answer(d):
    res = minimize(
        lambda y: glad_objective(d, y),
        np.ones(d.W + d.I),
        jac=True,
        method="L-BFGS-B",
        options={"ftol": 1e-15, "gtol": 1e-11, "maxiter": 20000, "maxcor": 30},
    )
    x = res.x
    # L-BFGS stops on the objective's rounding with the gradient near 1e-7; Newton steps on a
    # finite-difference Hessian of the analytic gradient take it to rounding level
    for _ in range(6):
        f, g = glad_objective(d, x)
        if np.max(np.abs(g)) < 1e-11:
            break
        h = 1e-5
        H = np.array([(glad_objective(d, x + h * e)[1] - glad_objective(d, x - h * e)[1]) / (2 * h)
                      for e in np.eye(len(x))])
        H = (H + H.T) / 2
        assert np.all(np.linalg.eigvalsh(H) > 0), "GLAD's stationary point is not a maximum"
        x = x - np.linalg.solve(H, g)
    f, g = glad_objective(d, x)
    assert np.max(np.abs(g)) < 1e-9, f"GLAD did not reach a stationary point: {np.max(np.abs(g))}"
    a, b = x[: d.W], x[d.W :]
    z = a[None, :] * np.exp(b)[:, None]
    # posteriors at the maximum
    lr, lw = log_expit(z), log_expit(-z) - math.log(d.K - 1)
    nl = d.n.sum(axis=2)
    score = np.einsum("iwk,iw->ik", d.n, lr - lw) + (nl * lw).sum(axis=1)[:, None]
    T = np.exp(score - logsumexp(score, axis=1)[:, None])
    for i, g0 in enumerate(d.gold):
        if g0 >= 0:
            T[i] = np.eye(d.K)[g0]
    # reliability: mean over a worker's judgments of sigmoid(alpha_w beta_i)
    rel = (nl * expit(z)).sum(axis=0) / nl.sum(axis=0)
    return {
        "probas": T,
        "labels": argmax_low(T),
        "alphas": a,
        "betas": np.exp(b),
        "reliability": rel,
        "logLikelihood": -f,
    }


# ---------------------------------------------------------------------------------------------
# M-MSR


def msr_mean(values, current, F):
    """Mean-Subsequence-Reduced: drop the F largest values above `current` (all of them if
    fewer) and the F smallest below it, then average what is left."""
    v = np.sort(np.asarray(values))
    below, above = v[v < current], v[v > current]
    keep_lo = below[F:] if len(below) >= F else below[len(below) :]
    keep_hi = above[: len(above) - F] if len(above) >= F else above[:0]
    mid = v[v == current]
    kept = np.concatenate([keep_lo, mid, keep_hi])
    return None if len(kept) == 0 else float(kept.mean())


def mmsr_answer(d, max_iter=100, tol=1e-10):
    K, W = d.K, d.W
    # pairs of labels two different workers gave one task, and how many of them agree
    seen = d.n  # [I, W, K]
    co = np.einsum("iwk,ivl->wv", seen, seen)
    agree = np.einsum("iwk,ivk->wv", seen, seen)
    np.fill_diagonal(co, 0)
    np.fill_diagonal(agree, 0)
    has = co > 0
    C = np.where(has, K / (K - 1) * agree / np.where(has, co, 1) - 1 / (K - 1), 0.0)
    deg = has.sum(axis=1)
    F = int(deg[deg > 0].min()) // 2 - 1
    active = deg > 0
    u, v = np.ones(W), np.ones(W)
    it, converged, history = 0, False, []
    while it < max_iter:
        u0, v0 = u.copy(), v.copy()
        for i in range(W):  # v from u
            vals = [abs(C[i, j]) / u[j] for j in range(W) if has[i, j]]
            m = msr_mean(vals, v[i], F)
            if m is not None:
                v[i] = m
        for i in range(W):  # u from v
            vals = [abs(C[i, j]) / v[j] for j in range(W) if has[i, j]]
            m = msr_mean(vals, u[i], F)
            if m is not None:
                u[i] = m
        it += 1
        # the change of the completion u v^T, over the workers who share a task with someone
        change = np.linalg.norm(np.outer(u[active], v[active]) - np.outer(u0[active], v0[active]))
        history.append(change)
        if change < tol:
            converged = True
            break
    scale = math.sqrt(np.linalg.norm(u[active]) / np.linalg.norm(v[active]))
    s_abs = u / scale
    direction = (C * has) @ s_abs
    sign = np.sign(direction)
    # the completion fits s and -s alike: orient the signs so that most workers are better
    # than chance (Ma and Olshevsky's assumption, and crowd-kit's orientation step)
    if (sign < 0).sum() > (sign > 0).sum():
        sign = -sign
    s = sign * s_abs
    floor = 1 / math.sqrt(d.I)
    s = np.clip(s, -1 / (K - 1) + floor, 1 - floor)
    p = s * (K - 1) / K + 1 / K
    wts = np.log((K - 1) * p / (1 - p))
    score = np.einsum("iwl,w->il", d.n, wts)
    T = np.exp(score - logsumexp(score, axis=1)[:, None])
    return {
        "probas": T,
        "labels": argmax_low(T),
        "skills": s,
        "reliability": p,
        "iterations": it,
        "converged": converged,
        "history": history,
    }


# ---------------------------------------------------------------------------------------------


def jsonable(x):
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return float(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.bool_,)):
        return bool(x)
    return x


def main():
    sets = []
    for name, d in datasets().items():
        entry = {
            "name": name,
            "classes": d.classes,
            "rows": [list(r) for r in d.rows],
            "gold": d.gold_rows,
            "truth": {f"t{i:02d}": d.classes[z] for i, z in enumerate(d.truth)},
            "tasks": d.tasks,
            "workers": d.workers,
            "majority-vote": majority_vote(d),
            "wawa": wawa(d),
            "dawid-skene": [em_answer(d, "dawid-skene", m, t, a)
                            for m, t, a in [(0, 0, 0), (1, 0, 0), (2, 0, 0), (25, 0, 0),
                                            (100, 1e-5, 0), (3000, 1e-12, 0),
                                            (2, 0, 1), (3000, 1e-12, 1)]],
            "one-coin": [em_answer(d, "one-coin", m, t)
                         for m, t in [(0, 0), (1, 0), (2, 0), (25, 0), (100, 1e-5), (3000, 1e-12)]],
            "glad": glad_answer(d),
        }
        entry["mmsr"] = mmsr_answer(d)
        sets.append(entry)
    fixture = {
        "numpy": np.__version__,
        "scipy": __import__("scipy").__version__,
        "datasets": sets,
    }
    os.makedirs(os.path.dirname(FIXTURE), exist_ok=True)
    with open(FIXTURE, "w") as f:
        json.dump(jsonable(fixture), f, indent=None, separators=(",", ":"))
        f.write("\n")
    # The repository's JSON style (npm test lints it), so a regenerated fixture diffs only where
    # numbers changed.
    subprocess.run(["npx", "biome", "format", "--write", FIXTURE], cwd=REPO, check=True)
    print(f"wrote {FIXTURE}")


if __name__ == "__main__":
    main()
