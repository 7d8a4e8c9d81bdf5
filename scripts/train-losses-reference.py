#!/usr/bin/env python3
"""Known answers for keel's training losses and PPO maths from PyTorch.

Writes test/train/fixtures/losses-torch.json, which test/train/losses-torch.test.ts reads (CI
has no Python). Run from the repository root with /usr/bin/python3 (PyTorch and NumPy):

    /usr/bin/python3 scripts/train-losses-reference.py

Finite differences only show that a gradient belongs to its own loss. This script computes
each loss from its definition in the paper, or in TRL / OpenRLHF / Safe-RLHF where keel says it
follows them, and takes the gradients from autograd, so the test catches a loss that is
self-consistent but not the one it claims to be. Nothing here is ported from src/train.

Conventions keel documents and the reference follows (each is named again where it is used):
- every pair loss is a weighted mean, L = sum_i w_i l_i / sum_i w_i (weights 1 when absent);
- DPO losses take sequence log-probabilities (summed over the response's tokens);
- PPO losses average over every unmasked token of the minibatch (TRL's masked_mean);
- a tied pair counts half toward accuracy.

Everything is float64 and seeded, so the fixture is exact up to float64 rounding.
"""

import json
import math
import os
import subprocess

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(REPO, "test", "train", "fixtures", "losses-torch.json")
SEED = 20261207


def t(x):
    return torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)


def plain(x):
    if isinstance(x, torch.Tensor):
        x = x.detach().numpy()
    return [float(v) for v in np.asarray(x, dtype=np.float64).ravel()]


def weighted_mean(per_pair, weight):
    w = torch.ones_like(per_pair) if weight is None else torch.as_tensor(weight)
    total = w.sum()
    if total.item() == 0:
        return (per_pair * 0).sum()
    return (w * per_pair).sum() / total


def tie_half_accuracy(diff, weight):
    """Share of pairs ranked the right way, a tie counting half (keel's documented rule)."""
    credit = (diff > 0).double() + 0.5 * (diff == 0).double()
    w = torch.ones_like(diff) if weight is None else torch.as_tensor(weight)
    return float((w * credit).sum() / w.sum()) if w.sum() > 0 else 0.0


# ---------------------------------------------------------------- reward and cost models


def bradley_terry(chosen, rejected, weight, margin, centring, smoothing):
    """Bradley–Terry NLL with a required margin (Llama 2, TRL's `margin` column), the
    centring penalty eta * (r_c + r_r)^2 (Eisenstein et al. 2023, TRL's
    `center_rewards_coefficient`), and label smoothing eps (the label right with probability
    1 - eps)."""
    rc, rr = t(chosen), t(rejected)
    z = rc - rr - (torch.as_tensor(margin) if margin is not None else 0.0)
    nll = -(1 - smoothing) * F.logsigmoid(z) - smoothing * F.logsigmoid(-z)
    per_pair = nll + centring * (rc + rr) ** 2
    loss = weighted_mean(per_pair, weight)
    loss.backward()
    d = (rc - rr).detach()
    w = torch.ones_like(d) if weight is None else torch.as_tensor(weight)
    return {
        "loss": float(loss),
        "grads": {"chosen": plain(rc.grad), "rejected": plain(rr.grad)},
        "metrics": {
            "accuracy": tie_half_accuracy(d, weight),
            "margin": float((w * d).sum() / w.sum()) if w.sum() > 0 else 0.0,
        },
    }


def safe_rlhf_cost(chosen, rejected, weight, chosen_sign, rejected_sign):
    """Safe-RLHF's cost-model loss (Dai et al. 2024, eq. 6): the more harmful response (here
    the rejected one) should cost more, and each cost's sign should say unsafe (+1) or safe
    (-1)."""
    cc, cr = t(chosen), t(rejected)
    sc, sr = torch.as_tensor(chosen_sign), torch.as_tensor(rejected_sign)
    per_pair = (
        -F.logsigmoid(cr - cc) - F.logsigmoid(sc * cc) - F.logsigmoid(sr * cr)
    )
    loss = weighted_mean(per_pair, weight)
    loss.backward()
    right = ((sc * cc > 0).double() + (sr * cr > 0).double()) / 2
    w = torch.ones_like(right) if weight is None else torch.as_tensor(weight)
    return {
        "loss": float(loss),
        "grads": {"chosen": plain(cc.grad), "rejected": plain(cr.grad)},
        "metrics": {
            "accuracy": tie_half_accuracy((cr - cc).detach(), weight),
            "sign_accuracy": float((w * right.detach()).sum() / w.sum()),
        },
    }


# ---------------------------------------------------------------- the DPO family


def dpo_per_pair(kind, logits, beta, eps):
    """l(h) from each paper, with h the difference of the policy's and reference's log-ratios.
    TRL writes the same forms (sigmoid with label_smoothing, robust, ipo, hinge)."""
    if kind == "sigmoid":  # Rafailov et al. 2023
        return -F.logsigmoid(beta * logits)
    if kind == "cdpo":  # conservative DPO: the label is right with probability 1 - eps
        return -(1 - eps) * F.logsigmoid(beta * logits) - eps * F.logsigmoid(-beta * logits)
    if kind == "robust":  # Chowdhury et al. 2024: unbiased loss under flip rate eps
        clean = -F.logsigmoid(beta * logits)
        flipped = -F.logsigmoid(-beta * logits)
        return ((1 - eps) * clean - eps * flipped) / (1 - 2 * eps)
    if kind == "ipo":  # Azar et al. 2023: regress h onto 1/(2 tau), tau = beta
        return (logits - 1 / (2 * beta)) ** 2
    if kind == "hinge":  # SLiC-HF, Zhao et al. 2023
        return torch.relu(1 - beta * logits)
    raise ValueError(kind)


def dpo(kind, pc, pr, rc, rr, weight, beta, eps):
    policy_c, policy_r = t(pc), t(pr)
    ref_c, ref_r = torch.as_tensor(rc), torch.as_tensor(rr)
    logits = (policy_c - ref_c) - (policy_r - ref_r)
    loss = weighted_mean(dpo_per_pair(kind, logits, beta, eps), weight)
    loss.backward()
    reward_c = (beta * (policy_c - ref_c)).detach()
    reward_r = (beta * (policy_r - ref_r)).detach()
    w = torch.ones_like(reward_c) if weight is None else torch.as_tensor(weight)
    total = float(w.sum())
    mean = lambda x: float((w * x).sum() / total) if total > 0 else 0.0  # noqa: E731
    return {
        "loss": float(loss),
        "grads": {"policyChosen": plain(policy_c.grad), "policyRejected": plain(policy_r.grad)},
        "metrics": {
            "accuracy": tie_half_accuracy(reward_c - reward_r, weight) if total > 0 else 0.0,
            "reward_chosen": mean(reward_c),
            "reward_rejected": mean(reward_r),
            "margin": mean(reward_c - reward_r),
        },
    }


# ---------------------------------------------------------------- KL estimators


def kl_estimate(kind, log_ratio):
    """Schulman's estimators of KL(pi || ref) from a token sampled from pi, with
    log_ratio = log pi - log ref (http://joschu.net/blog/kl-approx.html)."""
    if kind == "k1":
        return log_ratio
    if kind == "k2":
        return 0.5 * log_ratio**2
    if kind == "k3":
        ratio = torch.exp(-log_ratio)  # ref / pi
        return ratio - 1 + log_ratio
    raise ValueError(kind)


def kl_tokens(kind, logprobs, ref, mask, clamp):
    """Two clamping conventions. keel's documented one: the log-ratio clamped to [-c, c], then
    the estimate clamped above at c. OpenRLHF's: the estimate alone clamped to [-c, c]."""
    out = {}
    m = torch.as_tensor(mask)
    for name in ("keel", "openrlhf"):
        lp = t(logprobs)
        d = lp - torch.as_tensor(ref)
        if name == "keel":
            est = torch.clamp(kl_estimate(kind, torch.clamp(d, -clamp, clamp)), max=clamp)
        else:
            est = torch.clamp(kl_estimate(kind, d), -clamp, clamp)
        est = torch.where(m > 0, est, torch.zeros_like(est))
        est.sum().backward()
        out[name] = {"kl": plain(est), "grad": plain(lp.grad)}
    return out


# ---------------------------------------------------------------- PPO losses


def masked_mean(x, mask):
    return (x * mask).sum() / mask.sum()


def ppo_policy(logprobs, old, adv, mask, clip):
    """The clipped surrogate (Schulman et al. 2017) as a loss, TRL's token-mean form."""
    lp = t(logprobs)
    m, a = torch.as_tensor(mask), torch.as_tensor(adv)
    log_ratio = lp - torch.as_tensor(old)
    ratio = torch.exp(log_ratio)
    unclipped = -a * ratio
    clipped = -a * torch.clamp(ratio, 1 - clip, 1 + clip)
    loss = masked_mean(torch.maximum(unclipped, clipped), m)
    loss.backward()
    r = ratio.detach()
    return {
        "loss": float(loss),
        "grads": {"logprobs": plain(lp.grad)},
        "metrics": {
            "clipfrac": float(masked_mean((clipped > unclipped).double(), m)),
            "ratio_mean": float(masked_mean(r, m)),
            "ratio_max": float(r[m > 0].max()),
            # k3 of KL(pi_old || pi) from tokens sampled from pi_old
            "approx_kl": float(masked_mean((r - 1) - log_ratio.detach(), m)),
        },
    }


def ppo_value(values, old, returns, mask, clip):
    """The clipped value loss of OpenAI baselines' PPO2, as TRL writes it."""
    v = t(values)
    m, R, v_old = torch.as_tensor(mask), torch.as_tensor(returns), torch.as_tensor(old)
    v_clipped = v_old + torch.clamp(v - v_old, -clip, clip)
    err = (v - R) ** 2
    err_clipped = (v_clipped - R) ** 2
    loss = 0.5 * masked_mean(torch.maximum(err, err_clipped), m)
    loss.backward()
    resid = (R - v).detach()
    var = lambda x: masked_mean((x - masked_mean(x, m)) ** 2, m)  # noqa: E731
    return {
        "loss": float(loss),
        "grads": {"values": plain(v.grad)},
        "metrics": {
            # where the clip binds at all (keel's value_clipfrac)
            "value_clipfrac": float(masked_mean(((v - v_old).abs() > clip).double(), m)),
            "explained_variance": float(1 - var(resid) / var(R)),
        },
        # TRL's vf_clipfrac: where the clipped error is the larger one
        "trl_vf_clipfrac": float(masked_mean((err_clipped > err).double(), m)),
    }


def entropy_bonus(entropy, mask, coef):
    h = t(entropy)
    m = torch.as_tensor(mask)
    loss = -coef * masked_mean(h, m)
    loss.backward()
    return {
        "loss": float(loss),
        "grads": {"entropy": plain(h.grad)},
        "metrics": {"entropy": float(masked_mean(h.detach(), m))},
    }


# ---------------------------------------------------------------- GAE and whitening


def gae_trl(rewards, values, mask, gamma, lam):
    """TRL's backward loop over the whole row, with padding's rewards and values set to 0.
    Rows here are a prompt (mask 0), the response (mask 1), then padding (mask 0), as PPO
    lays them out; advantages are read only where mask = 1."""
    r = np.where(mask > 0, rewards, 0.0)
    v = np.where(mask > 0, values, 0.0)
    B, T = r.shape
    adv = np.zeros((B, T))
    last = np.zeros(B)
    for step in reversed(range(T)):
        next_v = v[:, step + 1] if step < T - 1 else 0.0
        delta = r[:, step] + gamma * next_v - v[:, step]
        last = delta + gamma * lam * last
        adv[:, step] = last
    ret = adv + v
    return np.where(mask > 0, adv, 0.0), np.where(mask > 0, ret, 0.0)


def whitening(x, mask):
    """Two conventions: OpenAI baselines' (x - mean)/(std + 1e-8) with the population std, and
    TRL's masked_whiten, (x - mean)/sqrt(var + 1e-8) with the Bessel-corrected variance."""
    xs = torch.as_tensor(x)
    m = torch.as_tensor(mask)
    n = m.sum()
    mean = (xs * m).sum() / n
    pop_var = (((xs - mean) ** 2) * m).sum() / n
    baselines = torch.where(m > 0, (xs - mean) / (pop_var.sqrt() + 1e-8), torch.zeros_like(xs))
    trl = torch.where(
        m > 0, (xs - mean) * torch.rsqrt(pop_var * n / (n - 1) + 1e-8), torch.zeros_like(xs)
    )
    return {"baselines": plain(baselines), "trl": plain(trl)}


# ---------------------------------------------------------------- controllers


def adaptive_kl(init, target, horizon, steps):
    """Ziegler et al. 2019, §2.2, as TRL's AdaptiveKLController."""
    beta = init
    out = []
    for kl, n in steps:
        err = float(np.clip(kl / target - 1, -0.2, 0.2))
        beta *= 1 + err * n / horizon
        out.append(beta)
    return out


def lagrangian(init, threshold, lr, lam_max, costs):
    """The dual variable kept positive as exp(log lambda) and stepped by SGD on log lambda,
    minimising -(J_C - d) * lambda (Safe-RLHF, Dai et al. 2024, eq. 31 and its PPO-Lag
    trainer), so each step on log lambda is lr * lambda * (J_C - d); capped at lambda_max."""
    log_lam = torch.tensor(math.log(init), requires_grad=True)
    opt = torch.optim.SGD([log_lam], lr=lr)
    out = []
    for c in costs:
        gap = c - threshold
        loss = -gap * torch.exp(log_lam)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            log_lam.clamp_(max=math.log(lam_max))
        out.append(float(torch.exp(log_lam)))
    return out


# ---------------------------------------------------------------- reward-model metrics


def rm_metrics(chosen, rejected):
    """Held-out metrics as docs/train.md defines them: accuracy (ties half), mean margin,
    mean -log sigma(d), reward mean and population std over all responses, and ECE over 10
    equal bins of the predicted side's confidence max(p, 1 - p) on [0.5, 1] (Guo et al. 2017;
    the last bin closed)."""
    c = np.asarray(chosen, dtype=np.float64)
    r = np.asarray(rejected, dtype=np.float64)
    d = c - r
    credit = (d > 0) + 0.5 * (d == 0)
    p = 1 / (1 + np.exp(-d))
    conf = np.maximum(p, 1 - p)
    edges = np.linspace(0.5, 1.0, 11)
    ece = 0.0
    for k in range(10):
        hi_ok = conf <= edges[k + 1] if k == 9 else conf < edges[k + 1]
        inside = (conf >= edges[k]) & hi_ok
        if inside.any():
            ece += inside.mean() * abs(credit[inside].mean() - conf[inside].mean())
    both = np.concatenate([c, r])
    nll = float(-torch.nn.functional.logsigmoid(torch.as_tensor(d)).mean())
    return {
        "accuracy": float(credit.mean()),
        "margin": float(d.mean()),
        "nll": nll,
        "reward_mean": float(both.mean()),
        "reward_std": float(both.std()),
        "ece": float(ece),
    }


# ---------------------------------------------------------------- the cases


def main():
    rng = np.random.default_rng(SEED)
    normal = lambda s, n: rng.normal(0, s, n)  # noqa: E731
    fx = {"seed": SEED, "reward": [], "dpo": [], "kl": [], "ppo": {}, "gae": [], "kl_control": [],
          "lagrangian": [], "rm_metrics": []}

    # Reward models: random pairs, then the edges (a tie, zero weights, far-apart scores).
    n = 10
    chosen, rejected = normal(1.5, n), normal(1.5, n)
    chosen[3] = rejected[3]  # a tie
    chosen[7], rejected[7] = 25.0, -20.0  # far apart: sigma(-d) underflows towards 0
    chosen[8], rejected[8] = -30.0, 15.0  # badly wrong: the loss is about d
    weight = rng.uniform(0.2, 2, n)
    weight[[1, 5]] = 0.0  # pairs an audit zeroed
    margin = rng.uniform(0, 1, n)
    for name, kw in [
        ("plain", dict(weight=None, margin=None, centring=0.0, smoothing=0.0)),
        ("margin, centring 0.05, weights", dict(weight=weight, margin=margin, centring=0.05,
                                                smoothing=0.0)),
        ("label smoothing 0.15, centring 0.01, weights", dict(weight=weight, margin=None,
                                                              centring=0.01, smoothing=0.15)),
    ]:
        fx["reward"].append({
            "name": f"bradley_terry: {name}", "loss": "bradley_terry",
            "inputs": {"chosen": plain(chosen), "rejected": plain(rejected),
                       **({"weight": plain(kw["weight"])} if kw["weight"] is not None else {}),
                       **({"margin": plain(kw["margin"])} if kw["margin"] is not None else {})},
            "options": {"centring": kw["centring"], "labelSmoothing": kw["smoothing"]},
            "expected": bradley_terry(chosen, rejected, kw["weight"], kw["margin"],
                                      kw["centring"], kw["smoothing"]),
        })
    signs_c = rng.choice([-1.0, 1.0], n)
    signs_r = rng.choice([-1.0, 1.0], n)
    fx["reward"].append({
        "name": "safe_rlhf_cost: weights, ties and far-apart costs", "loss": "safe_rlhf_cost",
        "inputs": {"chosen": plain(chosen), "rejected": plain(rejected), "weight": plain(weight),
                   "chosenSign": plain(signs_c), "rejectedSign": plain(signs_r)},
        "options": {},
        "expected": safe_rlhf_cost(chosen, rejected, weight, signs_c, signs_r),
    })

    # DPO: summed log-probs around -20; pair 2 at the reference (h = 0), pair 4 with h = 10 so
    # beta*h = 1 sits on the hinge's kink, pairs 6 and 7 with |beta*h| = 50.
    n = 10
    pc, pr = rng.normal(-20, 3, n), rng.normal(-20, 3, n)
    rc, rr = rng.normal(-20, 3, n), rng.normal(-20, 3, n)
    rc[2], rr[2] = pc[2] + 1.5, pr[2] + 1.5
    pc[4], pr[4], rc[4], rr[4] = -10.0, -20.0, -15.0, -15.0
    pc[6], pr[6], rc[6], rr[6] = -5.0, -505.0, -5.0, -5.0
    pc[7], pr[7], rc[7], rr[7] = -505.0, -5.0, -5.0, -5.0
    w = rng.uniform(0.2, 2, n)
    w[9] = 0.0
    for kind, eps in [("sigmoid", 0.0), ("cdpo", 0.1), ("robust", 0.2), ("ipo", 0.0),
                      ("hinge", 0.0)]:
        for weighted in (False, True):
            fx["dpo"].append({
                "name": f"{kind}{' (weights)' if weighted else ''}", "loss": kind,
                "inputs": {"policyChosen": plain(pc), "policyRejected": plain(pr),
                           "refChosen": plain(rc), "refRejected": plain(rr),
                           **({"weight": plain(w)} if weighted else {})},
                "options": {"beta": 0.1, "labelSmoothing": eps},
                "expected": dpo(kind, pc, pr, rc, rr, w if weighted else None, 0.1, eps),
            })

    # KL estimators: moderate log-ratios, then past the clamp both ways, and a masked token.
    lp_ref = rng.uniform(-4, -0.1, 12)
    lp = lp_ref + rng.normal(0, 0.6, 12)
    lp[8] = lp_ref[8] + 10.5  # delta > c: reference nearly impossible here
    lp[9] = lp_ref[9] + 14.0
    lp[10] = lp_ref[10] - 12.0  # delta < -c
    lp[4] = lp_ref[4] + 5.0  # k2 past its clamp (12.5 > 10), k1 and k3 inside
    mask = np.ones(12)
    mask[11] = 0.0
    for kind in ("k1", "k2", "k3"):
        fx["kl"].append({"estimator": kind, "clamp": 10.0, "logprobs": plain(lp),
                         "refLogprobs": plain(lp_ref), "mask": plain(mask),
                         "expected": kl_tokens(kind, lp, lp_ref, mask, 10.0)})

    # PPO: 24 tokens, a few masked, ratios from e^-5 to e^5 and both signs of advantage.
    n = 24
    old = rng.uniform(-4, -0.1, n)
    lp = old + rng.normal(0, 0.3, n)
    lp[[0, 1, 2, 3]] = old[[0, 1, 2, 3]] + np.array([5.0, -5.0, 2.0, -2.0])
    adv = rng.normal(0, 1, n)
    adv[[0, 2]] = np.abs(adv[[0, 2]])
    adv[[1, 3]] = -np.abs(adv[[1, 3]])
    adv[5] = 0.0
    mask = (rng.uniform(0, 1, n) < 0.8).astype(np.float64)
    mask[:4] = 1.0
    fx["ppo"]["policy"] = {"clip": 0.2, "logprobs": plain(lp), "oldLogprobs": plain(old),
                           "advantages": plain(adv), "mask": plain(mask),
                           "expected": ppo_policy(lp, old, adv, mask, 0.2)}
    v_old = rng.normal(0, 1, n)
    v = v_old + rng.normal(0, 0.4, n)
    ret = rng.normal(0, 1, n)
    v[0], v_old[0], ret[0] = 2.0, 0.0, 3.0  # clipped error larger: no gradient
    v[1], v_old[1], ret[1] = 2.0, 0.0, -1.0  # clip binds but the unclipped error is larger
    fx["ppo"]["value"] = {"clip": 0.2, "values": plain(v), "oldValues": plain(v_old),
                          "returns": plain(ret), "mask": plain(mask),
                          "expected": ppo_value(v, v_old, ret, mask, 0.2)}
    ent = rng.uniform(0, 3, n)
    fx["ppo"]["entropy"] = {"coef": 0.01, "entropy": plain(ent), "mask": plain(mask),
                            "expected": entropy_bonus(ent, mask, 0.01)}

    # GAE: 3 rows of 8, prompt then response then padding; one response of a single token.
    B, T = 3, 8
    spans = [(2, 4), (0, 8), (5, 1)]
    mask = np.zeros((B, T))
    for b, (s, k) in enumerate(spans):
        mask[b, s:s + k] = 1.0
    rewards, values = rng.normal(0, 1, (B, T)), rng.normal(0, 1, (B, T))
    for gamma, lam in [(1.0, 0.95), (0.9, 0.8), (0.99, 0.0)]:
        adv, ret = gae_trl(rewards, values, mask, gamma, lam)
        fx["gae"].append({"gamma": gamma, "lambda": lam, "batch": B, "length": T,
                          "rewards": plain(rewards), "values": plain(values),
                          "mask": plain(mask), "advantages": plain(adv), "returns": plain(ret),
                          "whitened": whitening(adv.ravel(), mask.ravel())})

    # Adaptive KL: above, inside and below the ±20% band, and far off either way.
    steps = [(12.0, 64), (6.6, 64), (5.7, 64), (0.0, 64), (100.0, 32), (6.0, 16), (3.0, 256)]
    fx["kl_control"].append({"init": 0.1, "target": 6.0, "horizon": 10000.0,
                             "steps": [list(s) for s in steps],
                             "beta": adaptive_kl(0.1, 6.0, 10000.0, steps)})

    # Lagrangian: over the threshold, then well under, from lambda_0 = 1 and 3, to the cap.
    costs = [1.5, 1.5, 0.9, -0.5, -2.0, -2.0, 0.4, 3.0]
    for init in (1.0, 3.0):
        fx["lagrangian"].append({
            "init": init, "threshold": 0.5, "lr": 0.1, "max": 10.0, "costs": costs,
            "lambda": lagrangian(init, 0.5, 0.1, 10.0, costs),
        })
    fx["lagrangian_combine"] = {"lambda": 0.7, "rewardAdv": plain(rng.normal(0, 1, 6)),
                                "costAdv": plain(rng.normal(0, 1, 6))}
    c = fx["lagrangian_combine"]
    c["expected"] = plain((np.array(c["rewardAdv"]) - 0.7 * np.array(c["costAdv"])) / 1.7)

    # Reward-model metrics: 40 random pairs with a tie and two confident mistakes.
    n = 40
    chosen, rejected = rng.normal(0.5, 1.2, n), rng.normal(0, 1.2, n)
    chosen[0] = rejected[0]
    chosen[1], rejected[1] = -6.0, 6.0
    chosen[2], rejected[2] = 9.0, -9.0
    fx["rm_metrics"].append({"chosen": plain(chosen), "rejected": plain(rejected),
                             "expected": rm_metrics(chosen, rejected)})

    os.makedirs(os.path.dirname(FIXTURE), exist_ok=True)
    fx["about"] = ("scripts/train-losses-reference.py: keel's losses and PPO maths from the "
                   f"papers' definitions in PyTorch {torch.__version__}, float64, autograd")
    with open(FIXTURE, "w") as f:
        json.dump(fx, f, separators=(",", ":"))
    # The repository's JSON style, so a regenerated fixture diffs only where numbers changed.
    subprocess.run(["npx", "biome", "format", "--write", FIXTURE], cwd=REPO, check=True)
    print(f"wrote {os.path.relpath(FIXTURE, REPO)}")


if __name__ == "__main__":
    main()
