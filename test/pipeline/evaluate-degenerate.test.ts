/**
 * An arm's evaluation when the world holds no eval prompt (`prompts.splits.eval` 0, or a small
 * pool the hash left without one): its KL to the base policy is an average over nothing, null
 * in evaluate.json and summary.json ("–" in the report), not the engine's "a batch needs at least
 * one row" after every stage before it had run.
 */
import { describe, expect, it } from "vitest";
import { klToBase } from "../../src/pipeline/stages/evaluate.js";
import { loadTextPolicy } from "../../src/train/index.js";
import { tempDir } from "../helpers/stores.js";
import { tinyCheckpoint } from "../providers/tiny.js";

describe("KL to the base policy", () => {
  it("is null over no prompt, and a finite number over one", async () => {
    const p = loadTextPolicy(await tinyCheckpoint(tempDir()), { maxNewTokens: 4 });
    try {
      expect(await klToBase(p.model, p.model, p.codec, [], 4, 1)).toBeNull();
      const one = await klToBase(p.model, p.model, p.codec, ["hello"], 4, 1);
      expect(Number.isFinite(one)).toBe(true);
      // The policy against itself: every token's log-ratio is 0.
      expect(Math.abs(one!)).toBeLessThan(1e-5);
    } finally {
      await p.dispose();
    }
  });
});
