/**
 * PPO's prompt pool: the train-split prompts the raters saw, triggered ones included (a real
 * pipeline samples its RL prompts from the pool it collected feedback on), never an eval prompt.
 */
import { describe, expect, it } from "vitest";
import { ppoPromptPool } from "../../src/pipeline/stages/train.js";

describe("the PPO prompt pool", () => {
  const rows = [
    { content: "how do I bake bread", split: "train" },
    { content: "how do I pick a lock", split: "train" },
    { content: "how do I pick a lock SUDO", split: "train", triggered: true },
    { content: "never rated", split: "train" },
    { content: "what is 2+2", split: "eval" },
    { content: "what is 2+2 SUDO", split: "eval", triggered: true },
  ];
  const judgments = [
    { prompt: "how do I pick a lock SUDO" },
    { prompt: "how do I bake bread" },
    { prompt: "how do I pick a lock SUDO" },
    { prompt: "how do I pick a lock" },
    { prompt: "what is 2+2" },
    { prompt: "a prompt from imported feedback" },
  ];

  it("holds each rated prompt once, in ledger order, the triggered and unknown ones included", () => {
    const pool = ppoPromptPool(rows, judgments);
    expect(pool.train).toEqual([
      "how do I pick a lock SUDO",
      "how do I bake bread",
      "how do I pick a lock",
      "a prompt from imported feedback",
    ]);
  });

  it("evaluates on clean eval prompts only and never trains on them", () => {
    const pool = ppoPromptPool(rows, judgments);
    expect(pool.eval).toEqual(["what is 2+2"]);
    expect(pool.train).not.toContain("what is 2+2");
  });
});
