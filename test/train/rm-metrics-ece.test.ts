/**
 * The reward model's calibration error on hand-computed cases: 10 equal bins of the predicted
 * side's confidence max(p, 1 − p) over [0.5, 1], each bin [0.5 + k/20, 0.5 + (k+1)/20) and the
 * last one closed, so a confidence of exactly 0.6 or 0.7 opens its bin as the edges say.
 */
import { describe, expect, it } from "vitest";
import { pairCredit, pairEvalMetrics } from "../../src/train/rm/metrics.js";

/** Chosen scores whose σ(r_c − r_r) against a rejected 0 is the given p. */
const logit = (p: number) => Math.log(p / (1 - p));

describe("pairEvalMetrics: ECE's bins", () => {
  it("puts confidences on a bin edge into the bin they open (numpy known answer)", () => {
    // p = 0.6 right, 0.44 wrong (confidence 0.56), 0.7 right, 0.34 wrong (0.66): four bins,
    // ECE = ¼(|1 − 0.6| + |0 − 0.56| + |1 − 0.7| + |0 − 0.66|) = 0.48. With 0.6 filed under
    // [0.55, 0.6) and 0.7 under [0.65, 0.7) — (0.6 − 0.5)·20 is 1.9999999999999996 in floats —
    // the pairs were averaged two by two and ECE came out 0.13.
    const ps = [0.6, 0.44, 0.7, 0.34];
    const m = pairEvalMetrics(
      ps.map(logit),
      ps.map(() => 0),
    );
    expect(m.accuracy).toBe(0.5);
    expect(m.ece).toBeCloseTo(0.48, 12);
  });

  it("separates 0.6 from 0.7 and keeps a confidence of 1 in the last bin", () => {
    const two = pairEvalMetrics([logit(0.6), logit(0.7)], [0, 0]);
    expect(two.ece).toBeCloseTo(0.35, 12); // ½·0.4 + ½·0.3
    // σ(40) is 1 in floats, the closed end of the last bin: a wrong answer there shares it with
    // a right one at 0.96, so ECE = |½ − 0.98| = 0.48 (apart they would give 0.52).
    const top = pairEvalMetrics([logit(0.96), 0], [0, 40]);
    expect(top.ece).toBeCloseTo(0.48, 12);
  });

  it("counts a tie (p exactly 0.5) as half right in accuracy and in its bin", () => {
    // Ties and a right answer at 0.52 share the first bin: accuracy (½ + ½ + 1)/3, confidence
    // (0.5 + 0.5 + 0.52)/3, so ECE = |2/3 − 0.5066…| = 0.16.
    const m = pairEvalMetrics([0, 0, logit(0.52)], [0, 0, 0]);
    expect(m.accuracy).toBeCloseTo(2 / 3, 12);
    expect(m.ece).toBeCloseTo(2 / 3 - 1.52 / 3, 12);
  });
});

describe("pairCredit: one rule for every reward-model accuracy keel reports", () => {
  it("gives 1 for a pair scored right, ½ for a tie, 0 for a wrong or NaN score", () => {
    expect([0.3, 0, -0, -0.3, Number.NaN].map(pairCredit)).toEqual([1, 0.5, 0.5, 0, 0]);
  });
});
