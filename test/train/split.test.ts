/** The trainers' evaluation split: plain for SFT rows, by prompt for reward-model and DPO pairs. */
import { describe, expect, it } from "vitest";
import { promptKey, splitEval } from "../../src/train/common/split.js";

const pair = (prompt: string, i: number) => ({ prompt, chosen: `c${i}`, rejected: `r${i}` });

describe("splitEval", () => {
  it("holds out whole prompts for pairs: no evaluated prompt is among the training pairs", () => {
    // A comparison judged by three raters is three pairs of one prompt: held out by row, its
    // siblings trained on (99% of the held-out judgments of an overlap-3 world had one).
    const data = Array.from({ length: 300 }, (_, i) => pair(`q${Math.floor(i / 3)}`, i));
    const plain = splitEval(data, undefined, 0.1, 7);
    const trained = (s: { train: { prompt: string }[] }) => new Set(s.train.map((p) => p.prompt));
    expect(plain.eval.some((p) => trained(plain).has(p.prompt))).toBe(true);
    const grouped = splitEval(data, undefined, 0.1, 7, promptKey);
    expect(grouped.eval.length).toBe(30);
    expect(grouped.train.length).toBe(270);
    expect(grouped.eval.some((p) => trained(grouped).has(p.prompt))).toBe(false);
    // Seeded: the same split again, another with another seed.
    expect(splitEval(data, undefined, 0.1, 7, promptKey)).toEqual(grouped);
    expect(splitEval(data, undefined, 0.1, 8, promptKey).eval).not.toEqual(grouped.eval);
  });

  it("is the plain split, example for example, when every prompt is distinct", () => {
    const data = Array.from({ length: 257 }, (_, i) => pair(`q${i}`, i));
    for (const seed of [1, 2, 3])
      expect(splitEval(data, undefined, 0.2, seed, promptKey)).toEqual(
        splitEval(data, undefined, 0.2, seed),
      );
  });

  it("holds out at least one example when asked for an evaluation", () => {
    // 4 pairs at 0.1 rounded to none: the run reported no evaluation without a word.
    const data = [0, 1, 2, 3].map((i) => pair(`q${i}`, i));
    const s = splitEval(data, undefined, 0.1, 1, promptKey);
    expect([s.train.length, s.eval.length]).toEqual([3, 1]);
    expect(splitEval(data, undefined, 0, 1).eval).toEqual([]);
  });

  it("takes a whole group even past the share, and keeps a given eval set as it is", () => {
    const data = [pair("a", 0), pair("a", 1), pair("a", 2), pair("b", 3)];
    const s = splitEval(data, undefined, 0.25, 1, promptKey);
    expect(s.eval.length === 1 || s.eval.length === 3).toBe(true);
    expect(new Set(s.eval.map((p) => p.prompt)).size).toBe(1);
    const given = [pair("a", 9)];
    expect(splitEval(data, given, 0.25, 1, promptKey)).toEqual({ train: data, eval: given });
  });
});
