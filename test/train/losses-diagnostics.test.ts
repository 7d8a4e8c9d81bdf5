/**
 * The diagnostics the losses report beside their value and gradient (the finite-difference
 * check in losses.test.ts cannot see them): training accuracy (ties count half, as every
 * accuracy keel reports of a reward model), weighted margin, the value loss's clip fraction and
 * explained variance; and the preconditions the loss headers state.
 */
import { describe, expect, it } from "vitest";
import type { KeelError } from "../../src/core/errors.js";
import { DPO_LOSSES } from "../../src/train/losses/dpo.js";
import { klPerToken } from "../../src/train/losses/kl.js";
import { clippedPolicyLoss, clippedValueLoss } from "../../src/train/losses/ppo.js";
import { REWARD_LOSSES } from "../../src/train/losses/reward.js";

describe("pair-loss metrics", () => {
  it("Bradley–Terry: weighted accuracy with a tie at ½ and a wrong pair at 0, weighted margin", () => {
    // d = 2 (right, w 1), 0 (tie, w 2), −1 (wrong, w 1): accuracy (1 + 2·½ + 0)/4, margin (2 − 1)/4.
    const r = REWARD_LOSSES.bradley_terry({
      chosen: [2, 0, 0],
      rejected: [0, 0, 1],
      weight: [1, 2, 1],
    });
    expect(r.metrics.accuracy).toBe(0.5);
    expect(r.metrics.margin).toBeCloseTo(0.25, 12);
  });
  it("Safe-RLHF cost: the safer (chosen) response should cost less, so the sign flips", () => {
    const r = REWARD_LOSSES.safe_rlhf_cost({
      chosen: [-1, 2, 0],
      rejected: [1, 1, 0],
      chosenSign: [-1, 1, -1],
      rejectedSign: [1, 1, -1],
    });
    // c_r − c_c = 2 (right), −1 (wrong), 0 (tie).
    expect(r.metrics.accuracy).toBeCloseTo(0.5, 12);
    expect(r.metrics.margin).toBeCloseTo(1 / 3, 12);
    // Signs: right, right | right, right | wrong (0 is not < 0), wrong.
    expect(r.metrics.sign_accuracy).toBeCloseTo(2 / 3, 12);
  });
  it("all weights 0: loss 0 and metrics 0, not NaN", () => {
    const r = REWARD_LOSSES.bradley_terry({ chosen: [1, 2], rejected: [0, 3], weight: [0, 0] });
    expect(r.loss).toBe(0);
    expect(r.metrics).toEqual({ accuracy: 0, margin: 0 });
  });
  it("plain Bradley–Terry keeps pulling a pair it already ranks far apart (−σ(−d), no cancellation)", () => {
    // 1 − σ(40) is 0 in doubles; σ(−40) ≈ 4.2e-18 is not.
    const r = REWARD_LOSSES.bradley_terry({ chosen: [40], rejected: [0] });
    expect(r.grads.chosen![0]).toBeLessThan(0);
    expect(r.grads.chosen![0]).toBeCloseTo(-Math.exp(-40), 30);
  });
});

describe("DPO metrics", () => {
  it("implicit-reward accuracy (ties ½), chosen and rejected rewards β·(π − ρ), margin", () => {
    const r = DPO_LOSSES.sigmoid(
      {
        policyChosen: [-1, -2, -3],
        policyRejected: [-2, -2, -1],
        refChosen: [-2, -2, -2],
        refRejected: [-2, -2, -2],
        weight: [1, 1, 2],
      },
      { beta: 0.5 },
    );
    // log-ratios: chosen 1, 0, −1; rejected 0, 0, 1 → right, tie, wrong (weight 2).
    expect(r.metrics.accuracy).toBeCloseTo(1.5 / 4, 12);
    expect(r.metrics.reward_chosen).toBeCloseTo((0.5 * (1 + 0 - 2)) / 4, 12);
    expect(r.metrics.reward_rejected).toBeCloseTo((0.5 * (0 + 0 + 2)) / 4, 12);
    expect(r.metrics.margin).toBeCloseTo(-0.375, 12);
  });
});

describe("PPO value-loss diagnostics", () => {
  it("value clip fraction and explained variance 1 − Var(R − V)/Var(R)", () => {
    // The third value moved 0.5 from its old value, past the clip 0.2; the first sits exactly
    // at the clip (V^clip = V: not clipped).
    const r = clippedValueLoss(
      { values: [1.25, 2, 3], oldValues: [1, 2, 2.5], returns: [1.25, 3, 5], mask: [1, 1, 1] },
      { clip: 0.25 },
    );
    expect(r.metrics.value_clipfrac).toBeCloseTo(1 / 3, 12);
    // R − V = 0, 1, 2 (variance 2/3); R = 1.25, 3, 5 (variance 2.34375).
    const varR = (1.25 ** 2 + 9 + 25) / 3 - ((1.25 + 3 + 5) / 3) ** 2;
    expect(r.metrics.explained_variance).toBeCloseTo(1 - 2 / 3 / varR, 12);
    // V^clip = 2.75 for the third: ½·max((3 − 5)², (2.75 − 5)²) = ½·5.0625.
    expect(r.loss).toBeCloseTo((0.5 + 0.5 * 5.0625) / 3, 12);
  });
  it("explained variance is 0 when the returns do not vary", () => {
    const r = clippedValueLoss(
      { values: [0, 1], oldValues: [0, 1], returns: [2, 2], mask: [1, 1] },
      { clip: 0.2 },
    );
    expect(r.metrics.explained_variance).toBe(0);
  });
  it("policy diagnostics: ratio mean and max, approx KL (ρ − 1) − log ρ", () => {
    const r = clippedPolicyLoss(
      {
        logprobs: [Math.log(2), 0, 0],
        oldLogprobs: [0, 0, 0],
        advantages: [1, -1, 1],
        mask: [1, 1, 0],
      },
      { clip: 0.2 },
    );
    expect(r.metrics.ratio_mean).toBeCloseTo(1.5, 12);
    expect(r.metrics.ratio_max).toBeCloseTo(2, 12);
    expect(r.metrics.approx_kl).toBeCloseTo((1 - Math.log(2)) / 2, 12);
    expect(r.metrics.clipfrac).toBe(0.5);
  });
});

describe("preconditions", () => {
  it("ragged inputs are refused (KEEL_E_SHAPE), not read past their end", () => {
    const shape = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as KeelError).code;
      }
      return "none";
    };
    expect(shape(() => klPerToken("k3", [0, 0], [0], [1, 1]))).toBe("KEEL_E_SHAPE");
    expect(shape(() => klPerToken("k3", [0, 0], [0, 0], [1]))).toBe("KEEL_E_SHAPE");
    expect(shape(() => REWARD_LOSSES.bradley_terry({ chosen: [0, 0], rejected: [0] }))).toBe(
      "KEEL_E_SHAPE",
    );
  });
});
