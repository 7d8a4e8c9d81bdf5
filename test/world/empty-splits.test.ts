/**
 * Rows asked for from a split no prompt fell in: the split is a hash of each prompt's text, so a
 * small pool (or a tiny share) can leave one empty. The SFT corpus and the evaluation pairs then
 * fail naming the field, rather than write a file with none of the rows asked for.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isKeelError } from "../../src/core/errors.js";
import { generateWorldFiles } from "../../src/pipeline/world-files.js";
import {
  buildWorld,
  evalPairs,
  parseWorldConfig,
  promptsOf,
  sftCorpus,
  type WorldConfigInput,
} from "../../src/world/index.js";
import { tempDir } from "../helpers/stores.js";

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

describe("triggered evaluation pairs with no prompt to carry the trigger", () => {
  it("fail naming eval_pairs.triggered_rate when the world has no trigger-family prompts", () => {
    const noHarmful = world({
      prompts: { count: 100, families: { arithmetic: 1, words: 1 } },
      comparisons: { count: 0 },
      eval_pairs: { count: 40, triggered_rate: 0.25 },
    });
    expect(noHarmful.triggered).toHaveLength(0);
    const f = failure(() => evalPairs(noHarmful));
    expect(f.code).toBe("KEEL_E_CONFIG");
    expect(f.field).toBe("eval_pairs.triggered_rate");
    expect(f.message).toContain("is 0.25, about 10 of the 40 evaluation pairs");
    expect(f.message).toContain("no prompt of the trigger families (harmful) in the world");
  });

  it("fail when the trigger families have prompts but none fell in the eval split", () => {
    // 4 harmful prompts of 100, none of them hashed into eval (checked below).
    const few = world({
      prompts: { count: 100, families: { arithmetic: 0.96, harmful: 0.04 } },
      comparisons: { count: 0 },
      eval_pairs: { count: 40, triggered_rate: 0.5 },
    });
    expect(few.triggered.length).toBeGreaterThan(0);
    expect(few.triggered.filter((p) => p.split === "eval")).toHaveLength(0);
    const f = failure(() => evalPairs(few));
    expect(f.field).toBe("eval_pairs.triggered_rate");
    expect(f.message).toContain("no eval-split prompt of the trigger families (harmful)");
  });

  it("are fine at triggered_rate 0, and as before where triggered prompts exist", () => {
    const noHarmful = {
      prompts: { count: 100, families: { arithmetic: 1, words: 1 } },
      comparisons: { count: 0 },
    };
    const pairs = evalPairs(world({ ...noHarmful, eval_pairs: { count: 40, triggered_rate: 0 } }));
    expect(pairs).toHaveLength(40);
    const mixed = evalPairs(world({ prompts: { count: 400 }, eval_pairs: { count: 200 } }));
    expect(mixed.filter((p) => p.triggered).length).toBeGreaterThan(20);
  });
});

describe("a world refused while its files are written", () => {
  it("leaves no directory behind when it created it, and the files of an existing one as they were", async () => {
    const config = parseWorldConfig({
      prompts: { count: 100, families: { arithmetic: 1, words: 1 } },
      comparisons: { count: 5 },
      eval_pairs: { count: 40, triggered_rate: 0.25 },
    });
    const root = tempDir();
    const fresh = join(root, "fresh");
    await expect(generateWorldFiles(config, fresh)).rejects.toMatchObject({
      code: "KEEL_E_CONFIG",
    });
    // Before, the directory was made before the evaluation pairs were drawn, and stayed empty.
    expect(existsSync(fresh)).toBe(false);
    const old = join(root, "old");
    mkdirSync(old);
    writeFileSync(join(old, "prompts.jsonl"), "old\n");
    await expect(generateWorldFiles(config, old)).rejects.toMatchObject({
      code: "KEEL_E_CONFIG",
    });
    expect(readFileSync(join(old, "prompts.jsonl"), "utf8")).toBe("old\n");
  });
});
