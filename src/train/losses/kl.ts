/**
 * Per-token estimators of KL(π ‖ π_ref) from a sample a_t ~ π, with the log-ratio
 * δ_t = log π(a_t) − log π_ref(a_t) clamped to [−c, c] first, so one vanishing reference
 * probability cannot dominate a batch (Schulman 2020, "Approximating KL Divergence",
 * http://joschu.net/blog/kl-approx.html):
 *
 *   k1 = δ                     unbiased, high variance, can be negative per token
 *   k2 = ½ δ²                  biased, low variance
 *   k3 = (e^−δ − 1) + δ        unbiased, ≥ 0, low variance
 *
 * and each estimate then clamped above at c as well (it binds for k2 once |δ| > √(2c), for k3
 * once δ < about −2.6 when c = 10). OpenRLHF clamps only the estimate, to [−c, c]; the two
 * agree everywhere but k3 with δ > c, where keel's stays at e^−c − 1 + c ≈ c − 1 and
 * OpenRLHF's rises to c (test/train/losses-torch.test.ts checks both).
 * In PPO the estimate is a reward term (no gradient flows through it); the derivative with
 * respect to log π is returned anyway (0 where a clamp binds) for KL-as-loss uses and so the
 * estimator is checked against finite differences like every loss.
 * Example: δ = 0.1 → k1 = 0.1, k2 = 0.005, k3 = e^−0.1 − 0.9 ≈ 0.004837.
 */
import { sameLength, type Vec } from "./types.js";

export const KL_ESTIMATORS = ["k1", "k2", "k3"] as const;
export type KlEstimator = (typeof KL_ESTIMATORS)[number];

/** Value and derivative in δ (unclamped); the clamp is applied around it. */
const EST: Readonly<Record<KlEstimator, (d: number) => [number, number]>> = {
  k1: (d) => [d, 1],
  k2: (d) => [0.5 * d * d, d],
  k3: (d) => [Math.exp(-d) - 1 + d, 1 - Math.exp(-d)],
};

export interface KlResult {
  /** Per-token estimate (0 where the mask is 0). */
  readonly kl: Float64Array;
  /** ∂kl_t/∂log π(a_t). */
  readonly grad: Float64Array;
}

export function klPerToken(
  estimator: KlEstimator,
  logprobs: Vec,
  refLogprobs: Vec,
  mask: Vec,
  clamp = 10,
): KlResult {
  const N = logprobs.length;
  sameLength(N, { refLogprobs, mask });
  const f = EST[estimator];
  const kl = new Float64Array(N);
  const grad = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    if (mask[i] === 0) continue;
    const raw = logprobs[i]! - refLogprobs[i]!;
    const d = Math.min(Math.max(raw, -clamp), clamp);
    const [v, dv] = f(d);
    const inside = raw > -clamp && raw < clamp;
    if (v > clamp) {
      kl[i] = clamp;
      continue;
    }
    kl[i] = v;
    grad[i] = inside ? dv : 0;
  }
  return { kl, grad };
}
