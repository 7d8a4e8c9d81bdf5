"""Vectorised numpy references for bench/aggregate.ts: Dawid-Skene EM and Bradley-Terry MM.

Same algorithms, initialisation and convergence rule as keel's src/aggregate (vote-proportion
start, log-space E-step with max-shift, errors clipped at float64 eps before the log; MM with
mean-1 rescaling), written the way one writes them in numpy: gathers plus np.bincount.

  python3 bench/aggregate_ref.py --data DIR --iters N     # timings as JSON on stdout
  python3 bench/aggregate_ref.py --dawid-skene-1979       # the paper's example, for the tests
"""
import argparse
import json
import os
import re
import resource
import sys
import time

import numpy as np

EPS = np.finfo(np.float64).eps


def vote_proportions(task, label, T, K):
    counts = np.bincount(task * K + label, minlength=T * K).reshape(T, K).astype(np.float64)
    return counts / counts.sum(axis=1, keepdims=True)


def dawid_skene(task, worker, label, T, W, K, iters, tol):
    """Returns (probas, priors, errors, lls, seconds per iteration list)."""
    n = task.shape[0]
    probas = vote_proportions(task, label, T, K)
    wl = worker * K + label
    lls, times = [], []
    prev = -np.inf
    for _ in range(iters):
        t0 = time.perf_counter()
        # M-step: priors and confusion matrices [W, K(true), K(observed)]
        priors = probas.mean(axis=0)
        P = probas[task]  # [n, K]
        err = np.empty((W, K, K))
        for k in range(K):
            err[:, k, :] = np.bincount(wl, weights=P[:, k], minlength=W * K).reshape(W, K)
        s = err.sum(axis=2, keepdims=True)
        err = np.where(s > 0, err / np.where(s > 0, s, 1.0), 1.0 / K)
        logerr = np.log(np.maximum(err, EPS))
        # E-step in log space
        G = logerr[worker, :, label]  # [n, K]
        logT = np.empty((T, K))
        for k in range(K):
            logT[:, k] = np.bincount(task, weights=G[:, k], minlength=T)
        logT += np.log(np.maximum(priors, EPS))
        m = logT.max(axis=1, keepdims=True)
        e = np.exp(logT - m)
        z = e.sum(axis=1, keepdims=True)
        probas = e / z
        ll = float((m[:, 0] + np.log(z[:, 0])).sum())
        times.append(time.perf_counter() - t0)
        lls.append(ll)
        if abs(ll - prev) / max(n, 1) < tol:
            break
        prev = ll
    return probas, priors, err, lls, times


def pair_table(left, right, outcome, N):
    lo = np.minimum(left, right).astype(np.int64)
    hi = np.maximum(left, right).astype(np.int64)
    lo_wins = np.where(outcome == 2, 0.5, np.where((outcome == 0) == (left == lo), 1.0, 0.0))
    key = lo * N + hi
    uniq, inv = np.unique(key, return_inverse=True)
    w_lo = np.bincount(inv, weights=lo_wins, minlength=uniq.size)
    w_hi = np.bincount(inv, weights=1.0 - lo_wins, minlength=uniq.size)
    return uniq // N, uniq % N, w_lo, w_hi


def bt_mm(lo, hi, w_lo, w_hi, N, iters, tol, n_judgments):
    wins = np.bincount(lo, weights=w_lo, minlength=N) + np.bincount(hi, weights=w_hi, minlength=N)
    nq = w_lo + w_hi
    has = wins > 0
    gamma = np.ones(N)
    lls, times = [], []

    def mm_pass(g):
        s = g[lo] + g[hi]
        c = nq / s
        den = np.bincount(lo, weights=c, minlength=N) + np.bincount(hi, weights=c, minlength=N)
        ll = float((wins[has] * np.log(g[has])).sum() - (nq * np.log(s)).sum())
        return den, ll

    den, ll = mm_pass(gamma)
    for _ in range(iters):
        t0 = time.perf_counter()
        gamma = np.where(den > 0, wins / np.where(den > 0, den, 1.0), gamma)
        gamma *= N / gamma.sum()
        den, new = mm_pass(gamma)
        times.append(time.perf_counter() - t0)
        lls.append(new)
        done = abs(new - ll) / max(n_judgments, 1) < tol
        ll = new
        if done:
            break
    return gamma, lls, times


def load(d, name, dtype):
    return np.fromfile(os.path.join(d, name), dtype=dtype)


def run_bench(args):
    meta = json.load(open(os.path.join(args.data, "meta.json")))
    out = {}
    for cfg in meta["categorical"]:
        t0 = time.perf_counter()
        task = load(args.data, cfg["prefix"] + "task.i32", np.int32).astype(np.intp)
        worker = load(args.data, cfg["prefix"] + "worker.i32", np.int32).astype(np.intp)
        label = load(args.data, cfg["prefix"] + "label.i32", np.int32).astype(np.intp)
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        probas, priors, err, lls, times = dawid_skene(
            task, worker, label, cfg["nTasks"], cfg["nWorkers"], cfg["nClasses"], args.iters, args.tol)
        total = time.perf_counter() - t0
        out["ds/" + cfg["name"]] = {"iterations": len(times), "per_iter_s": float(np.median(times)),
                                    "total_s": total, "load_s": load_s, "log_likelihood": lls[-1],
                                    "labels_checksum": int(probas.argmax(axis=1).sum())}
    pw = meta["pairwise"]
    t0 = time.perf_counter()
    left = load(args.data, "pw_left.i32", np.int32).astype(np.int64)
    right = load(args.data, "pw_right.i32", np.int32).astype(np.int64)
    outcome = load(args.data, "pw_outcome.u8", np.uint8)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    lo, hi, w_lo, w_hi = pair_table(left, right, outcome, pw["nItems"])
    prep = time.perf_counter() - t0
    gamma, lls, times = bt_mm(lo, hi, w_lo, w_hi, pw["nItems"], args.iters, args.tol, left.size)
    total = time.perf_counter() - t0
    out["bt-mm/pairwise"] = {"iterations": len(times), "per_iter_s": float(np.median(times)),
                             "total_s": total, "prepare_s": prep, "load_s": load_s,
                             "log_likelihood": lls[-1] if lls else None}
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["numpy"] = np.__version__
    json.dump(out, sys.stdout)


def dawid_skene_1979():
    here = os.path.dirname(os.path.abspath(__file__))
    # The table is kept in one place, the test fixtures; read the numbers out of it.
    src = open(os.path.join(here, "..", "test", "aggregate", "fixtures.ts")).read()
    start = src.index("export const DAWID_SKENE_1979")
    body = src[src.index("= [", start) + 3:src.index("];", start)]
    rows = [list(map(int, r.split(","))) for r in re.findall(r"\[([0-9, ]+)\]", body)]
    task, worker, label = [], [], []
    for p, r in enumerate(rows):
        for c, v in enumerate(r):
            task.append(p)
            worker.append(0 if c < 3 else c - 2)
            label.append(v - 1)
    task, worker, label = (np.array(x, dtype=np.intp) for x in (task, worker, label))
    probas, priors, err, lls, _ = dawid_skene(task, worker, label, len(rows), 5, 4, 500, 1e-12)
    print(json.dumps({"patients": len(rows), "iterations": len(lls), "priors": [round(float(p), 6) for p in priors],
                      "log_likelihood": round(lls[-1], 6)}))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--data")
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--tol", type=float, default=0.0)
    ap.add_argument("--dawid-skene-1979", action="store_true")
    a = ap.parse_args()
    if a.dawid_skene_1979:
        dawid_skene_1979()
    else:
        run_bench(a)
