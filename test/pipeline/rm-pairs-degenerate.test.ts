/**
 * `keel experiment rm-pairs` on a world with no eval pair: refused naming the field, before the
 * model is opened, rather than a table whose accuracy over no pair reads 0.0%.
 */
import { describe, expect, it } from "vitest";
import { isKeelError } from "../../src/core/errors.js";
import { rewardModelPairs } from "../../src/pipeline/rm-pairs.js";
import { buildWorld, parseWorldConfig } from "../../src/world/index.js";

describe("reward-model pairs over no pair", () => {
  it("is refused at eval_pairs.count, before the model is read", async () => {
    const world = buildWorld(
      parseWorldConfig({
        prompts: { count: 20 },
        comparisons: { count: 1, overlap: 1 },
        sft: { count: 0 },
        eval_pairs: { count: 0 },
        panel: { raters: [{ type: "honest", count: 1 }] },
      }),
    );
    const e = await rewardModelPairs({ world, model: "/no/such/model" }).catch((x: unknown) => x);
    expect(isKeelError(e) && e.code).toBe("KEEL_E_CONFIG");
    expect((e as Error).message).toBe(
      "eval_pairs.count: is 0: the world holds no eval pair to score the reward model on",
    );
  });
});
