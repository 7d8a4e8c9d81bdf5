/**
 * The DPO family: losses over the summed response log-probabilities of the policy (π_c, π_r)
 * and of the frozen reference (ρ_c, ρ_r) for each preference pair, with per-pair weights w_i
 * and L = Σ w_i ℓ_i / Σ w_i. With the log-ratio difference h = (π_c − ρ_c) − (π_r − ρ_r):
 *
 *   sigmoid  ℓ = −log σ(βh)                          (Rafailov et al. 2023, arXiv:2305.18290)
 *   cdpo     ℓ = −(1−ε) log σ(βh) − ε log σ(−βh)      (label smoothing: conservative DPO,
 *                                                      Mitchell 2023, "A note on DPO with noisy
 *                                                      preferences & relationship to IPO")
 *   robust   ℓ = [(1−ε)(−log σ(βh)) − ε(−log σ(−βh))] / (1 − 2ε)
 *                                                     (rDPO: unbiased under labels flipped with
 *                                                      rate ε; Chowdhury et al. 2024,
 *                                                      "Provably Robust DPO", arXiv:2403.00409)
 *   ipo      ℓ = (h − 1/(2β))²                        (Azar et al. 2023, arXiv:2310.12036; β
 *                                                      plays τ; h from summed log-probs as in
 *                                                      the paper, where TRL averages them over
 *                                                      each response's tokens for IPO)
 *   hinge    ℓ = max(0, 1 − βh)                       (SLiC-HF, Zhao et al. 2023,
 *                                                      arXiv:2305.10425)
 *
 * Gradients: ∂ℓ/∂π_c = ℓ'(h), ∂ℓ/∂π_r = −ℓ'(h); the reference is a constant. Implicit rewards
 * β(π − ρ) give the diagnostics (accuracy: chosen's implicit reward above rejected's, a tie
 * counting ½).
 * Preconditions: equal lengths, β > 0, 0 ≤ ε < ½. Σ w = 0 gives loss 0.
 * Example: h = 0 (policy = reference) → sigmoid ℓ = log 2 and ∂ℓ/∂π_c = −β/2.
 */
import { type LossResult, logSigmoid, sameLength, sigmoid, type Vec, weightSum } from "./types.js";

export interface DpoInputs {
  readonly policyChosen: Vec;
  readonly policyRejected: Vec;
  readonly refChosen: Vec;
  readonly refRejected: Vec;
  readonly weight?: Vec;
}

export interface DpoLossOptions {
  readonly beta: number;
  /** Label-noise rate ε (cdpo, robust). */
  readonly labelSmoothing?: number;
}

export const DPO_LOSS_TYPES = ["sigmoid", "cdpo", "robust", "ipo", "hinge"] as const;
export type DpoLossType = (typeof DPO_LOSS_TYPES)[number];

/** Per-pair loss ℓ(h) and its derivative ℓ'(h). */
type PairFn = (h: number, beta: number, eps: number) => [number, number];

const PAIR: Readonly<Record<DpoLossType, PairFn>> = {
  sigmoid: (h, b) => [-logSigmoid(b * h), -b * sigmoid(-b * h)],
  cdpo: (h, b, e) => [
    -(1 - e) * logSigmoid(b * h) - e * logSigmoid(-b * h),
    -(1 - e) * b * sigmoid(-b * h) + e * b * sigmoid(b * h),
  ],
  robust: (h, b, e) => [
    ((1 - e) * -logSigmoid(b * h) - e * -logSigmoid(-b * h)) / (1 - 2 * e),
    (-(1 - e) * b * sigmoid(-b * h) - e * b * sigmoid(b * h)) / (1 - 2 * e),
  ],
  ipo: (h, b) => {
    const d = h - 1 / (2 * b);
    return [d * d, 2 * d];
  },
  hinge: (h, b) => (1 - b * h > 0 ? [1 - b * h, -b] : [0, 0]),
};

function dpoLoss(type: DpoLossType): (x: DpoInputs, o: DpoLossOptions) => LossResult {
  const f = PAIR[type];
  return (x, o) => {
    const n = x.policyChosen.length;
    sameLength(n, {
      policyRejected: x.policyRejected,
      refChosen: x.refChosen,
      refRejected: x.refRejected,
      weight: x.weight,
    });
    const beta = o.beta;
    const eps = o.labelSmoothing ?? 0;
    const W = weightSum(n, x.weight);
    const gc = new Float64Array(n);
    const gr = new Float64Array(n);
    let loss = 0;
    let acc = 0;
    let rc = 0;
    let rr = 0;
    if (W > 0) {
      for (let i = 0; i < n; i++) {
        const w = (x.weight ? x.weight[i]! : 1) / W;
        const lc = x.policyChosen[i]! - x.refChosen[i]!;
        const lr = x.policyRejected[i]! - x.refRejected[i]!;
        const [l, dl] = f(lc - lr, beta, eps);
        loss += w * l;
        gc[i] = w * dl;
        gr[i] = -w * dl;
        acc += w * (lc > lr ? 1 : lc === lr ? 0.5 : 0);
        rc += w * beta * lc;
        rr += w * beta * lr;
      }
    }
    return {
      loss,
      grads: { policyChosen: gc, policyRejected: gr },
      metrics: { accuracy: acc, reward_chosen: rc, reward_rejected: rr, margin: rc - rr },
    };
  };
}

export type DpoLossFn = (x: DpoInputs, o: DpoLossOptions) => LossResult;

export const DPO_LOSSES: Readonly<Record<DpoLossType, DpoLossFn>> = {
  sigmoid: dpoLoss("sigmoid"),
  cdpo: dpoLoss("cdpo"),
  robust: dpoLoss("robust"),
  ipo: dpoLoss("ipo"),
  hinge: dpoLoss("hinge"),
};
