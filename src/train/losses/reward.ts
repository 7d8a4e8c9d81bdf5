/**
 * Pairwise losses for scalar reward and cost models, over the scores the model gives the two
 * responses of each pair (r_c for the chosen, r_r for the rejected), with per-pair weights w_i
 * (from an audit; 1 when absent) and the weighted mean L = Σ w_i ℓ_i / Σ w_i.
 *
 * bradley_terry — the Bradley–Terry negative log-likelihood with an optional margin m_i
 *   (Touvron et al. 2023, Llama 2, §3.2.2) and centring term (Eisenstein et al. 2023, "Helping or
 *   Herding? Reward Model Ensembles Mitigate but do not Eliminate Reward Hacking",
 *   arXiv:2312.09244, which adds η·(r_c + r_r)² so rewards stay near zero):
 *       ℓ_i = −log σ(r_c − r_r − m_i) + η·(r_c + r_r)²
 *       ∂ℓ/∂r_c = −σ(−d) + 2η(r_c + r_r),  ∂ℓ/∂r_r = σ(−d) + 2η(r_c + r_r),  d = r_c − r_r − m_i
 *   With label smoothing ε (the label is taken as right with probability 1 − ε: noisy single
 *   judgments; the reward-model form of cDPO's conservative loss, Mitchell 2023):
 *       ℓ_i = −(1 − ε)·log σ(d) − ε·log σ(−d) + η·(r_c + r_r)²
 *       ∂ℓ/∂r_c = σ(d) − (1 − ε) + 2η(r_c + r_r),  ∂ℓ/∂r_r = −(σ(d) − (1 − ε)) + 2η(r_c + r_r)
 *   so a pair stops pulling once σ(d) = 1 − ε instead of pushing d to infinity.
 *
 * safe_rlhf_cost — the cost-model loss of Safe-RLHF (Dai et al. 2024, "Safe RLHF: Safe
 *   Reinforcement Learning from Human Feedback", ICLR, arXiv:2310.12773, eq. 6). Here the
 *   chosen response is the SAFER one, so its cost should be lower; s = +1 marks a response
 *   labelled unsafe and −1 a safe one, so the cost's sign also classifies safety:
 *       ℓ_i = −log σ(c_r − c_c) − log σ(s_c·c_c) − log σ(s_r·c_r)
 *
 * Preconditions: equal lengths; weights ≥ 0. Σ w = 0 gives loss 0 and zero gradients.
 * Example: r_c = 1, r_r = 0, no margin or centring → ℓ = log(1 + e^−1) ≈ 0.3133.
 */
import { KeelError } from "../../core/errors.js";
import { type LossResult, logSigmoid, sameLength, sigmoid, type Vec, weightSum } from "./types.js";

export interface PairScores {
  readonly chosen: Vec;
  readonly rejected: Vec;
  readonly weight?: Vec;
  /** Required margin per pair (bradley_terry). */
  readonly margin?: Vec;
  /** +1 unsafe / −1 safe per response (safe_rlhf_cost). */
  readonly chosenSign?: Vec;
  readonly rejectedSign?: Vec;
}

export interface PairLossOptions {
  /** Centring coefficient η (bradley_terry). */
  readonly centring?: number;
  /** Label smoothing ε in [0, 0.5) (bradley_terry). */
  readonly labelSmoothing?: number;
}

export type PairLossFn = (s: PairScores, o?: PairLossOptions) => LossResult;

export const REWARD_LOSS_TYPES = ["bradley_terry", "safe_rlhf_cost"] as const;
export type RewardLossType = (typeof REWARD_LOSS_TYPES)[number];

/** Accuracy (chosen scored above rejected) and mean margin, weighted. */
function pairMetrics(s: PairScores, sign: 1 | -1): Record<string, number> {
  const n = s.chosen.length;
  const W = weightSum(n, s.weight);
  let acc = 0;
  let margin = 0;
  for (let i = 0; i < n; i++) {
    const w = s.weight ? s.weight[i]! : 1;
    const d = sign * (s.chosen[i]! - s.rejected[i]!);
    acc += w * (d > 0 ? 1 : d === 0 ? 0.5 : 0);
    margin += w * d;
  }
  return W > 0 ? { accuracy: acc / W, margin: margin / W } : { accuracy: 0, margin: 0 };
}

export function bradleyTerryLoss(s: PairScores, o: PairLossOptions = {}): LossResult {
  const n = s.chosen.length;
  sameLength(n, { rejected: s.rejected, weight: s.weight, margin: s.margin });
  const eta = o.centring ?? 0;
  const eps = o.labelSmoothing ?? 0;
  const W = weightSum(n, s.weight);
  const gc = new Float64Array(n);
  const gr = new Float64Array(n);
  let loss = 0;
  if (W > 0) {
    for (let i = 0; i < n; i++) {
      const w = (s.weight ? s.weight[i]! : 1) / W;
      const rc = s.chosen[i]!;
      const rr = s.rejected[i]!;
      const d = rc - rr - (s.margin ? s.margin[i]! : 0);
      const sum = rc + rr;
      loss += w * (-(1 - eps) * logSigmoid(d) - eps * logSigmoid(-d) + eta * sum * sum);
      // σ(d) − (1 − ε), written so that ε = 0 is exactly −σ(−d) (no cancellation for large d).
      const g = eps === 0 ? -sigmoid(-d) : sigmoid(d) - (1 - eps);
      gc[i] = w * (g + 2 * eta * sum);
      gr[i] = w * (-g + 2 * eta * sum);
    }
  }
  return { loss, grads: { chosen: gc, rejected: gr }, metrics: pairMetrics(s, 1) };
}

export function safeRlhfCostLoss(s: PairScores): LossResult {
  const n = s.chosen.length;
  const sc = s.chosenSign;
  const sr = s.rejectedSign;
  if (!sc || !sr)
    throw new KeelError("KEEL_E_USAGE", "safe_rlhf_cost needs chosenSign and rejectedSign");
  sameLength(n, { rejected: s.rejected, weight: s.weight, chosenSign: sc, rejectedSign: sr });
  const W = weightSum(n, s.weight);
  const gc = new Float64Array(n);
  const gr = new Float64Array(n);
  let loss = 0;
  let signAcc = 0;
  if (W > 0) {
    for (let i = 0; i < n; i++) {
      const w = (s.weight ? s.weight[i]! : 1) / W;
      const cc = s.chosen[i]!;
      const cr = s.rejected[i]!;
      const a = sc[i]!;
      const b = sr[i]!;
      loss += w * (-logSigmoid(cr - cc) - logSigmoid(a * cc) - logSigmoid(b * cr));
      const pPref = sigmoid(-(cr - cc));
      gc[i] = w * (pPref - a * sigmoid(-a * cc));
      gr[i] = w * (-pPref - b * sigmoid(-b * cr));
      signAcc += w * (((a * cc > 0 ? 1 : 0) + (b * cr > 0 ? 1 : 0)) / 2);
    }
  }
  return {
    loss,
    grads: { chosen: gc, rejected: gr },
    metrics: { ...pairMetrics(s, -1), sign_accuracy: signAcc },
  };
}

export const REWARD_LOSSES: Readonly<Record<RewardLossType, PairLossFn>> = {
  bradley_terry: bradleyTerryLoss,
  safe_rlhf_cost: safeRlhfCostLoss,
};
