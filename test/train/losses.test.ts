import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { DPO_LOSSES } from "../../src/train/losses/dpo.js";
import { klPerToken } from "../../src/train/losses/kl.js";
import { clippedPolicyLoss, clippedValueLoss, entropyBonus } from "../../src/train/losses/ppo.js";
import { LOSS_CHECKS } from "../../src/train/losses/registry.js";
import { REWARD_LOSSES } from "../../src/train/losses/reward.js";

describe("every loss's gradient matches central finite differences", () => {
  for (const entry of LOSS_CHECKS) {
    it(entry.name, () => {
      for (let trial = 0; trial < 3; trial++) {
        const c = entry.example(new Rng(`${entry.name}/${trial}`));
        const res = c.run(c.inputs);
        expect(Number.isFinite(res.loss)).toBe(true);
        let nonzero = 0;
        for (const name of c.wrt) {
          const x = c.inputs[name]!;
          const g = res.grads[name]!;
          expect(g.length).toBe(x.length);
          for (let i = 0; i < x.length; i++) {
            const x0 = x[i]!;
            const h = 1e-6 * Math.max(1, Math.abs(x0));
            x[i] = x0 + h;
            const lp = c.run(c.inputs).loss;
            x[i] = x0 - h;
            const lm = c.run(c.inputs).loss;
            x[i] = x0;
            const num = (lp - lm) / (2 * h);
            expect(Math.abs(num - g[i]!)).toBeLessThan(1e-6 * Math.max(1, Math.abs(num)));
            if (g[i] !== 0) nonzero++;
          }
        }
        expect(nonzero).toBeGreaterThan(0);
      }
    });
  }
});

describe("hand-computed values", () => {
  it("Bradley–Terry: r_c = 1, r_r = 0 gives log(1 + e^-1)", () => {
    const r = REWARD_LOSSES.bradley_terry({ chosen: [1], rejected: [0] });
    expect(r.loss).toBeCloseTo(Math.log1p(Math.exp(-1)), 12);
    expect(r.metrics.accuracy).toBe(1);
  });
  it("Bradley–Terry: a margin equal to the gap gives log 2; centring adds η(r_c + r_r)²", () => {
    expect(
      REWARD_LOSSES.bradley_terry({ chosen: [2], rejected: [1], margin: [1] }).loss,
    ).toBeCloseTo(Math.LN2, 12);
    const c = REWARD_LOSSES.bradley_terry(
      { chosen: [2], rejected: [1], margin: [1] },
      { centring: 0.1 },
    );
    expect(c.loss).toBeCloseTo(Math.LN2 + 0.1 * 9, 12);
  });
  it("Bradley–Terry with label smoothing ε: the gradient vanishes at σ(d) = 1 − ε", () => {
    const eps = 0.15;
    // d = logit(0.85): the pair is exactly as sure as the labels deserve.
    const d = Math.log(0.85 / 0.15);
    const r = REWARD_LOSSES.bradley_terry({ chosen: [d], rejected: [0] }, { labelSmoothing: eps });
    expect(r.grads.chosen![0]).toBeCloseTo(0, 12);
    expect(r.grads.rejected![0]).toBeCloseTo(0, 12);
    // Its loss there is the labels' binary entropy, H(0.15).
    expect(r.loss).toBeCloseTo(-(0.85 * Math.log(0.85) + 0.15 * Math.log(0.15)), 12);
    // Past it, a pair pushes back (plain Bradley–Terry always pulls d up).
    const far = REWARD_LOSSES.bradley_terry(
      { chosen: [6], rejected: [0] },
      { labelSmoothing: eps },
    );
    expect(far.grads.chosen![0]).toBeGreaterThan(0);
    expect(
      REWARD_LOSSES.bradley_terry({ chosen: [6], rejected: [0] }).grads.chosen![0],
    ).toBeLessThan(0);
  });
  it("weights: a zero-weight pair does not count", () => {
    const a = REWARD_LOSSES.bradley_terry({ chosen: [1, -5], rejected: [0, 5], weight: [1, 0] });
    expect(a.loss).toBeCloseTo(Math.log1p(Math.exp(-1)), 12);
    expect(Math.abs(a.grads.chosen![1]!)).toBe(0);
    const none = REWARD_LOSSES.bradley_terry({ chosen: [1], rejected: [0], weight: [0] });
    expect(none.loss).toBe(0);
  });
  it("Safe-RLHF cost: a safe chosen below zero and an unsafe rejected above zero is cheap", () => {
    const good = REWARD_LOSSES.safe_rlhf_cost({
      chosen: [-3],
      rejected: [3],
      chosenSign: [-1],
      rejectedSign: [1],
    });
    const bad = REWARD_LOSSES.safe_rlhf_cost({
      chosen: [3],
      rejected: [-3],
      chosenSign: [-1],
      rejectedSign: [1],
    });
    expect(good.loss).toBeLessThan(0.1);
    expect(bad.loss).toBeGreaterThan(9);
    expect(good.metrics.accuracy).toBe(1);
    expect(good.metrics.sign_accuracy).toBe(1);
  });
  it("DPO at the reference: sigmoid gives log 2 with slope −β/2; IPO (1/2β)²; hinge 1", () => {
    const x = { policyChosen: [-5], policyRejected: [-7], refChosen: [-5], refRejected: [-7] };
    const s = DPO_LOSSES.sigmoid(x, { beta: 0.1 });
    expect(s.loss).toBeCloseTo(Math.LN2, 12);
    expect(s.grads.policyChosen![0]).toBeCloseTo(-0.05, 12);
    expect(DPO_LOSSES.ipo(x, { beta: 0.1 }).loss).toBeCloseTo(25, 10);
    expect(DPO_LOSSES.hinge(x, { beta: 0.1 }).loss).toBeCloseTo(1, 12);
  });
  it("rDPO is unbiased under flips: E over a label flipped with rate ε equals the clean loss", () => {
    const eps = 0.2;
    const h = 1.3;
    const x = (d: number) => ({
      policyChosen: [d],
      policyRejected: [0],
      refChosen: [0],
      refRejected: [0],
    });
    const robust = (d: number) => DPO_LOSSES.robust(x(d), { beta: 1, labelSmoothing: eps }).loss;
    const expected = (1 - eps) * robust(h) + eps * robust(-h);
    expect(expected).toBeCloseTo(DPO_LOSSES.sigmoid(x(h), { beta: 1 }).loss, 12);
  });
  it("PPO policy loss: the clip stops the gradient past 1 + ε for a positive advantage", () => {
    const r = clippedPolicyLoss(
      {
        logprobs: [Math.log(1.5), Math.log(1.1)],
        oldLogprobs: [0, 0],
        advantages: [1, 1],
        mask: [1, 1],
      },
      { clip: 0.2 },
    );
    expect(r.grads.logprobs![0]).toBe(0);
    expect(r.grads.logprobs![1]).toBeCloseTo(-1.1 / 2, 12);
    expect(r.metrics.clipfrac).toBe(0.5);
    expect(r.loss).toBeCloseTo(-(1.2 + 1.1) / 2, 12);
  });
  it("PPO value loss: the clipped error counts when it is larger", () => {
    const r = clippedValueLoss(
      { values: [2], oldValues: [0], returns: [3], mask: [1] },
      { clip: 0.5 },
    );
    expect(r.loss).toBeCloseTo(0.5 * (3 - 0.5) ** 2, 12);
    expect(r.grads.values![0]).toBe(0);
  });
  it("PPO losses never read a masked-out position (padding may hold NaN)", () => {
    const nan = Number.NaN;
    const pl = clippedPolicyLoss(
      { logprobs: [0, nan], oldLogprobs: [0, nan], advantages: [1, nan], mask: [1, 0] },
      { clip: 0.2 },
    );
    expect(pl.loss).toBe(-1);
    const vl = clippedValueLoss(
      { values: [1, nan], oldValues: [1, nan], returns: [2, nan], mask: [1, 0] },
      { clip: 0.2 },
    );
    expect(vl.loss).toBeCloseTo(0.5, 12);
    const eb = entropyBonus({ entropy: [2, nan], mask: [1, 0] }, { coef: 0.01 });
    expect(eb.loss).toBeCloseTo(-0.02, 12);
    expect(eb.metrics.entropy).toBe(2);
    expect(Array.from(eb.grads.entropy!)).toEqual([-0.01, 0]);
  });
  it("KL estimators at δ = 0.1 and the clamp", () => {
    const d = Math.log(0.5) - Math.log(0.5 * Math.exp(-0.1));
    expect(klPerToken("k1", [Math.log(0.5)], [Math.log(0.5) - 0.1], [1]).kl[0]).toBeCloseTo(
      0.1,
      12,
    );
    expect(klPerToken("k3", [0], [-d], [1]).kl[0]).toBeCloseTo(Math.exp(-0.1) - 0.9, 12);
    const clamped = klPerToken("k3", [0], [30], [1], 10);
    expect(clamped.kl[0]).toBe(10);
    expect(clamped.grad[0]).toBe(0);
    expect(klPerToken("k1", [0], [-30], [0]).kl[0]).toBe(0);
  });
});
