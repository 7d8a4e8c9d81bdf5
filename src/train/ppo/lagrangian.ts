/**
 * The Lagrange multiplier of Safe-RLHF's constrained objective (Dai et al. 2024, "Safe RLHF",
 * ICLR, arXiv:2310.12773, §3.3): maximise E[R] subject to E[C] ≤ d, solved as
 * min_{λ≥0} max_θ E[R] − λ(E[C] − d). The policy step uses the combined advantage
 *
 *   A = (A^R − λ A^C) / (1 + λ)
 *
 * and λ takes a gradient step on the dual, kept positive by stepping its logarithm: the dual
 * objective λ(J_C − d) has gradient λ(J_C − d) in log λ, so (Safe-RLHF eq. 31, and its trainer's
 * SGD on log λ)
 *
 *   log λ ← log λ + η · λ · (J_C − d),  J_C = the batch's mean episode cost
 *
 * so λ grows while the policy's cost exceeds the threshold d and decays once it is met, the
 * faster the larger λ is; it is capped at `max` to keep the combined advantage from vanishing
 * and floored at 1e-8. A NaN mean cost leaves λ unchanged.
 * Example: λ = 1, η = 0.1, J_C = 1.5, d = 0.5 → λ = e^0.1 ≈ 1.105; from λ = 3 the same step
 * gives 3·e^0.3 ≈ 4.05.
 */
export interface LagrangianOptions {
  readonly init: number;
  readonly threshold: number;
  readonly lr: number;
  readonly max: number;
}

export class Lagrangian {
  lambda: number;
  constructor(readonly o: LagrangianOptions) {
    this.lambda = o.init;
  }
  update(meanCost: number): void {
    // A NaN mean cost (a cost model scoring NaN) would stay in λ and make every later
    // advantage NaN: leave λ as it was.
    if (Number.isNaN(meanCost)) return;
    const next = this.lambda * Math.exp(this.o.lr * this.lambda * (meanCost - this.o.threshold));
    this.lambda = Math.min(Math.max(next, 1e-8), this.o.max);
  }
  /** (A^R − λ A^C)/(1 + λ), elementwise. */
  combine(rewardAdv: ArrayLike<number>, costAdv: ArrayLike<number>): Float64Array {
    const l = this.lambda;
    return Float64Array.from(rewardAdv, (a, i) => (a - l * costAdv[i]!) / (1 + l));
  }
}
