/**
 * Rows asked for from a split no prompt fell in: the split is a hash of each prompt's text, so a
 * small pool (or a tiny share) can leave one empty. The SFT corpus and the evaluation pairs then
 * fail naming the field, rather than write a file with none of the rows asked for.
 */
import { describe, expect, it } from "vitest";
import { isKeelError } from "../../src/core/errors.js";
import {
  buildWorld,
  evalPairs,
  parseWorldConfig,
  promptsOf,
  sftCorpus,
  type WorldConfigInput,
} from "../../src/world/index.js";

function world(input: WorldConfigInput) {
  return buildWorld(parseWorldConfig(input), 3);
}

function failure(f: () => unknown): { code: string; field: string | undefined; message: string } {
  try {
    f();
  } catch (e) {
    if (!isKeelError(e)) throw e;
    return { code: e.code, field: e.where?.field, message: e.message };
  }
  throw new Error("expected a KeelError");
}

describe("a split with no prompts", () => {
  const noEval = world({
    prompts: { count: 100, splits: { train: 1, eval: 1e-9, redteam: 0 } },
    comparisons: { count: 10 },
    sft: { count: 20 },
    eval_pairs: { count: 30 },
  });
  const noTrain = world({
    prompts: { count: 100, splits: { train: 1e-9, eval: 1, redteam: 0 } },
    comparisons: { count: 0 },
    sft: { count: 20 },
    eval_pairs: { count: 30 },
  });

  it("evaluation pairs from an empty eval split are a config error naming eval_pairs.count", () => {
    expect(promptsOf(noEval, "eval")).toHaveLength(0);
    const f = failure(() => evalPairs(noEval));
    expect(f.code).toBe("KEEL_E_CONFIG");
    expect(f.field).toBe("eval_pairs.count");
    expect(f.message).toContain("eval split");
    expect(sftCorpus(noEval)).toHaveLength(20);
  });

  it("SFT rows from an empty train split are a config error naming sft.count", () => {
    expect(promptsOf(noTrain, "train")).toHaveLength(0);
    const f = failure(() => sftCorpus(noTrain));
    expect(f.code).toBe("KEEL_E_CONFIG");
    expect(f.field).toBe("sft.count");
    expect(evalPairs(noTrain)).toHaveLength(30);
  });

  it("asking for none of them from an empty split is fine", () => {
    const none = { prompts: { count: 100, splits: { train: 1, eval: 1e-9, redteam: 0 } } };
    expect(evalPairs(world({ ...none, eval_pairs: { count: 0 } }))).toEqual([]);
    const noTrainNoRows = {
      prompts: { count: 100, splits: { train: 1e-9, eval: 1, redteam: 0 } },
      comparisons: { count: 0 },
      sft: { count: 0 },
    };
    expect(sftCorpus(world(noTrainNoRows))).toEqual([]);
  });
});
