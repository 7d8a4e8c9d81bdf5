/**
 * PPO's per-token losses (Schulman et al. 2017, "Proximal Policy Optimization Algorithms",
 * arXiv:1707.06347), averaged over the response tokens of a minibatch (mask m_t = 1; n = Σ m):
 *
 * clipped policy loss, with ρ_t = exp(log π(a_t) − log π_old(a_t)) and advantage A_t:
 *     L^π = (1/n) Σ m_t · max(−A_t ρ_t, −A_t · clip(ρ_t, 1 − ε, 1 + ε))
 *     ∂/∂log π(a_t) = −A_t ρ_t / n where the unclipped branch is the max, 0 where the clip binds
 *
 * clipped value loss (as OpenAI baselines' PPO2), with old values V_old and returns R_t:
 *     V^clip = V_old + clip(V − V_old, −ε_v, ε_v)
 *     L^V = (1/n) Σ m_t · ½ max((V − R)², (V^clip − R)²)
 *
 * entropy bonus over the per-position entropies H_t of the policy (coefficient c ≥ 0):
 *     L^H = −c (1/n) Σ m_t H_t,      ∂/∂H_t = −c m_t / n
 *
 * Diagnostics: clip fraction, mean and max ratio, approx_kl = (1/n) Σ m_t ((ρ_t − 1) − log ρ_t)
 * (k3 of the old policy from the new, Schulman 2020), value clip fraction (the share of tokens
 * where |V − V_old| > ε_v, the clip binding; TRL's vf_clipfrac counts instead where the clipped
 * error is the larger), explained variance 1 − Var[R − V]/Var[R] (0 when Var[R] is 0).
 * Preconditions: equal lengths; ε, ε_v > 0. An all-zero mask gives loss 0.
 */
import { KeelError } from "../../core/errors.js";
import { type LossResult, sameLength, type Vec } from "./types.js";

export interface PolicyLossInputs {
  readonly logprobs: Vec;
  readonly oldLogprobs: Vec;
  readonly advantages: Vec;
  readonly mask: Vec;
}

export interface ValueLossInputs {
  readonly values: Vec;
  readonly oldValues: Vec;
  readonly returns: Vec;
  readonly mask: Vec;
}

function count(mask: Vec): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i]!;
  return n;
}

export function clippedPolicyLoss(x: PolicyLossInputs, o: { clip: number }): LossResult {
  const N = x.logprobs.length;
  sameLength(N, { oldLogprobs: x.oldLogprobs, advantages: x.advantages, mask: x.mask });
  if (!(o.clip > 0)) throw new KeelError("KEEL_E_CONFIG", `clip must be > 0, got ${o.clip}`);
  const n = count(x.mask);
  const g = new Float64Array(N);
  let loss = 0;
  let clipped = 0;
  let ratioSum = 0;
  let ratioMax = 0;
  let kl = 0;
  if (n > 0) {
    for (let i = 0; i < N; i++) {
      const m = x.mask[i]!;
      if (m === 0) continue;
      const logRatio = x.logprobs[i]! - x.oldLogprobs[i]!;
      const r = Math.exp(logRatio);
      const a = x.advantages[i]!;
      const pg1 = -a * r;
      const pg2 = -a * Math.min(Math.max(r, 1 - o.clip), 1 + o.clip);
      loss += (m * Math.max(pg1, pg2)) / n;
      if (pg1 >= pg2) g[i] = (m * -a * r) / n;
      else clipped += m;
      ratioSum += m * r;
      ratioMax = Math.max(ratioMax, r);
      kl += m * (r - 1 - logRatio);
    }
  }
  return {
    loss,
    grads: { logprobs: g },
    metrics:
      n > 0
        ? {
            clipfrac: clipped / n,
            ratio_mean: ratioSum / n,
            ratio_max: ratioMax,
            approx_kl: kl / n,
          }
        : { clipfrac: 0, ratio_mean: 1, ratio_max: 1, approx_kl: 0 },
  };
}

export function clippedValueLoss(x: ValueLossInputs, o: { clip: number }): LossResult {
  const N = x.values.length;
  sameLength(N, { oldValues: x.oldValues, returns: x.returns, mask: x.mask });
  if (!(o.clip > 0)) throw new KeelError("KEEL_E_CONFIG", `value clip must be > 0, got ${o.clip}`);
  const n = count(x.mask);
  const g = new Float64Array(N);
  let loss = 0;
  let clipped = 0;
  let sr = 0;
  let srr = 0;
  let se = 0;
  let see = 0;
  if (n > 0) {
    for (let i = 0; i < N; i++) {
      const m = x.mask[i]!;
      if (m === 0) continue;
      const v = x.values[i]!;
      const old = x.oldValues[i]!;
      const R = x.returns[i]!;
      const vc = old + Math.min(Math.max(v - old, -o.clip), o.clip);
      const e1 = (v - R) * (v - R);
      const e2 = (vc - R) * (vc - R);
      loss += (m * 0.5 * Math.max(e1, e2)) / n;
      // The clipped error can only be the larger one where the clip binds, and there V^clip
      // is constant in V: no gradient.
      if (e1 >= e2) g[i] = (m * (v - R)) / n;
      if (Math.abs(v - old) > o.clip) clipped += m;
      sr += m * R;
      srr += m * R * R;
      se += m * (R - v);
      see += m * (R - v) * (R - v);
    }
  }
  const varR = n > 0 ? srr / n - (sr / n) ** 2 : 0;
  const varE = n > 0 ? see / n - (se / n) ** 2 : 0;
  return {
    loss,
    grads: { values: g },
    metrics: {
      value_clipfrac: n > 0 ? clipped / n : 0,
      explained_variance: varR > 1e-12 ? 1 - varE / varR : 0,
    },
  };
}

export function entropyBonus(x: { entropy: Vec; mask: Vec }, o: { coef: number }): LossResult {
  const N = x.entropy.length;
  sameLength(N, { mask: x.mask });
  const n = count(x.mask);
  const g = new Float64Array(N);
  let mean = 0;
  if (n > 0) {
    for (let i = 0; i < N; i++) {
      const m = x.mask[i]!;
      // As in the other losses, a padding position never reaches the sum (0 · NaN is NaN).
      if (m === 0) continue;
      mean += (m * x.entropy[i]!) / n;
      g[i] = (-o.coef * m) / n;
    }
  }
  return { loss: -o.coef * mean, grads: { entropy: g }, metrics: { entropy: mean } };
}
