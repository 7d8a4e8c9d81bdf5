/**
 * Held-out reward-model metrics beyond accuracy and ECE (docs/train.md, "Reward and cost
 * models"): reward mean and std over every scored response, NLL = mean −log σ(r_c − r_r), and
 * ensemble scoring of an empty member list.
 */
import { describe, expect, it } from "vitest";
import { aggregateScores } from "../../src/train/rm/ensemble.js";
import { pairEvalMetrics } from "../../src/train/rm/metrics.js";

describe("pairEvalMetrics: reward spread and NLL", () => {
  it("reward mean and std over chosen and rejected responses; NLL of σ(r_c − r_r)", () => {
    // Rewards 2, 0 | 0, 1: mean 0.75, variance (1.25² + 0.75² + 0.75² + 0.25²)/4 = 0.6875.
    const m = pairEvalMetrics([2, 0], [0, 1]);
    expect(m.reward_mean).toBeCloseTo(0.75, 12);
    expect(m.reward_std).toBeCloseTo(Math.sqrt(0.6875), 12);
    expect(m.nll).toBeCloseTo((Math.log1p(Math.exp(-2)) + Math.log1p(Math.exp(1))) / 2, 12);
    expect(m.margin).toBeCloseTo(0.5, 12);
    expect(m.pairs).toBe(2);
  });
  it("a cost model's pairs: the cheaper chosen side is right, rewards are the raw costs", () => {
    const m = pairEvalMetrics([-1, 3], [1, 1], { sign: -1 });
    expect(m.accuracy).toBe(0.5);
    expect(m.margin).toBeCloseTo((2 - 2) / 2, 12);
    expect(m.reward_mean).toBeCloseTo(1, 12);
    expect(m.nll).toBeCloseTo((Math.log1p(Math.exp(-2)) + Math.log1p(Math.exp(2))) / 2, 12);
  });
});

describe("aggregateScores", () => {
  it("no members: no scores", () => {
    const r = aggregateScores([], "mean", 1);
    expect(r.score.length).toBe(0);
    expect(r.std.length).toBe(0);
  });
});
