/**
 * KL penalty coefficient controllers (Ziegler et al. 2019, "Fine-Tuning Language Models from
 * Human Preferences", arXiv:1909.08593, §2.2):
 *
 *   fixed     β stays at its initial value
 *   adaptive  e = clip(KL / KL_target − 1, −0.2, 0.2);  β ← β·(1 + K_β·e),  K_β = n / horizon
 *
 * where KL is the batch's mean per-sequence KL(π ‖ π_ref) and n the number of sequences in the
 * batch (TRL's `AdaptiveKLController`). β grows while the policy drifts past the target and
 * shrinks while it stays under; the clip bounds any one step to ±20%·n/horizon. A NaN KL leaves
 * β unchanged.
 * Example: β = 0.1, target 6, horizon 10000, n = 64, KL = 12 → β = 0.1·(1 + 0.0064·0.2).
 */
export interface KlControllerState {
  readonly beta: number;
}

export interface KlController {
  readonly beta: number;
  update(kl: number, n: number): void;
  state(): KlControllerState;
}

export class FixedKlController implements KlController {
  constructor(readonly beta: number) {}
  update(): void {}
  state(): KlControllerState {
    return { beta: this.beta };
  }
}

export class AdaptiveKlController implements KlController {
  beta: number;
  constructor(
    init: number,
    readonly target: number,
    readonly horizon: number,
  ) {
    this.beta = init;
  }
  update(kl: number, n: number): void {
    // A NaN KL (one diverged log-probability) says nothing about the drift, and once in β it
    // would stay there, making every later reward NaN: leave β as it was (the KL budget flags it).
    if (Number.isNaN(kl)) return;
    const e = Math.min(Math.max(kl / this.target - 1, -0.2), 0.2);
    this.beta *= 1 + (e * n) / this.horizon;
  }
  state(): KlControllerState {
    return { beta: this.beta };
  }
}
