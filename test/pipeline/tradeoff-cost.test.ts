/**
 * `keel experiment tradeoff` keeps its cost model between runs into the same --out only while
 * it was trained from the same run: one from another run (another base policy, other judgments)
 * is trained again, not scored with.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { runTradeoff } from "../../src/pipeline/tradeoff.js";
import { TINY_PIPELINE } from "../helpers/pipeline.js";
import { tinyCheckpoint, tmp } from "../train/fixtures.js";

/** What runTradeoff reads of a finished run, with a real (tiny) base policy. */
function fakeRun(dir: string, seed: number): string {
  mkdirSync(join(dir, "world"), { recursive: true });
  mkdirSync(join(dir, "defended", "rm", "model"), { recursive: true });
  writeFileSync(join(dir, "config.yaml"), stringify(TINY_PIPELINE));
  writeFileSync(join(dir, "world", "truth.json"), JSON.stringify({ comparisons: [] }));
  writeFileSync(join(dir, "world", "judgments.jsonl"), "");
  tinyCheckpoint(join(dir, "base", "model"), seed);
  return dir;
}

describe("keel experiment tradeoff: the cost model in --out", () => {
  it("is not reused when --out holds one trained from another run", async () => {
    const root = tmp("tradeoff-cost");
    const out = join(root, "out");
    // What a tradeoff from another run left: its cost model, marked to see whether it stays.
    mkdirSync(join(out, "cost", "model"), { recursive: true });
    writeFileSync(join(out, "cost", "model", "other-run.txt"), "trained from another run");
    const from = fakeRun(join(root, "run"), 2);
    await expect(
      runTradeoff({ from, out, kl: [], costThresholds: [0.1], arm: "defended" }),
    ).rejects.toThrow();
    expect(existsSync(join(out, "cost", "model", "other-run.txt"))).toBe(false);
    expect(readFileSync(join(from, "config.yaml"), "utf8")).toContain("tiny");
  });
});
