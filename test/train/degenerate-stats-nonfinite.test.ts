/**
 * Statistics over degenerate sets in a PPO run (docs/train.md, "PPO"): every reward equal (zero
 * variance for the reward normaliser), a batch of one response (one score: the normaliser's
 * std is 1 until two have been seen; whitening over a single row), and safeguards with their
 * baselines. Nothing may come out as 0/0: every logged number stays finite, so metrics.jsonl
 * holds no null.
 */
import { describe, expect, it } from "vitest";
import { createSafeguards, parseSafeguards } from "../../src/safeguards/index.js";
import { readMetrics } from "../../src/train/common/run.js";
import { trainPpo } from "../../src/train/ppo/ppoTrainer.js";
import { tinyCheckpoint, tmp } from "./fixtures.js";

describe("ppo on degenerate statistics", () => {
  for (const batch of [1, 2]) {
    it(`equal rewards, a batch of ${batch}: every logged number is finite`, async () => {
      const out = tmp("degenerate-stats");
      const r = await trainPpo(
        {
          policy: { init: tinyCheckpoint(tmp("degenerate-init")) },
          rollout: { batch_size: batch, max_new_tokens: 4 },
          ppo: { iterations: 3, epochs: 1, minibatch_size: 1 },
          kl: { controller: "adaptive", target: 1 },
        },
        { prompts: ["pick one", "say yes"], evalPrompts: ["say yes"] },
        {
          outDir: out,
          threads: 1,
          reward: async (_p, rs) => ({ score: new Float64Array(rs.length).fill(0.3) }),
          monitors: createSafeguards(
            parseSafeguards({
              kl_budget: { max: 1e6 },
              length: {},
              ema: { max_drift: 1e6 },
            }),
          ),
        },
      );
      expect(r.status).toBe("completed");
      const records = readMetrics(out);
      const train = records.filter((x) => x.type === "train");
      expect(train).toHaveLength(3);
      // With every score equal, each normalises to 0 from the second score on.
      expect(train.at(-1)!.reward_norm).toBe(0);
      for (const rec of records)
        for (const [k, v] of Object.entries(rec))
          if (typeof v !== "string") expect([k, Number.isFinite(v)]).toEqual([k, true]);
    });
  }
});
