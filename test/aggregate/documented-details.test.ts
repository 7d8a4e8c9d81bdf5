/**
 * Documented details of the aggregation methods that no other test pinned (found by a mutation
 * sweep: code changed on these lines and every test still passed).
 */
import { describe, expect, it } from "vitest";
import {
  dawidSkene,
  encodeCategorical,
  majorityVote,
  oneCoinDawidSkene,
} from "../../src/aggregate/index.js";

describe("weighted majority vote", () => {
  it("depends on the weights' ratios only, whatever unit they come in", () => {
    // confusion-em.ts voteProportions: near-ties are judged relative to the task's total weight,
    // "whatever unit the weights come in". Votes x, x, y with weights 1, 1, 3 → y at 0.6.
    const d = encodeCategorical([
      { task: "t", worker: "a", label: "x" },
      { task: "t", worker: "b", label: "x" },
      { task: "t", worker: "c", label: "y" },
    ]);
    for (const unit of [1, 1e-9, 1e9]) {
      const r = majorityVote(d, { weights: Float64Array.from([1, 1, 3], (w) => w * unit) });
      expect(d.classes[r.labels[0]!], `unit ${unit}`).toBe("y");
      expect(r.probas[0]!, `unit ${unit}`).toBeCloseTo(0.4, 12);
      expect(r.probas[1]!, `unit ${unit}`).toBeCloseTo(0.6, 12);
    }
  });
});

describe("confusion-matrix EM", () => {
  it("maxIter 0 returns the initialisation: vote proportions with gold tasks clamped", () => {
    // Gold on the first class ("x") against its votes, and on the second ("y"); t3 has no gold.
    const d = encodeCategorical(
      [
        { task: "t1", worker: "a", label: "y" },
        { task: "t1", worker: "b", label: "y" },
        { task: "t2", worker: "a", label: "x" },
        { task: "t2", worker: "b", label: "x" },
        { task: "t3", worker: "a", label: "x" },
        { task: "t3", worker: "b", label: "y" },
        { task: "t3", worker: "c", label: "y" },
      ],
      [
        ["t1", "x"],
        ["t2", "y"],
      ],
    );
    expect(d.classes).toEqual(["x", "y"]);
    for (const method of [dawidSkene, oneCoinDawidSkene]) {
      const r = method(d, { maxIter: 0 });
      expect(r.iterations).toBe(0);
      expect(Array.from(r.probas)).toEqual([1, 0, 0, 1, 1 / 3, 2 / 3]);
    }
  });
});
