/**
 * An ensemble member whose normalisation statistics are not numbers (docs/train.md, "Reward and
 * cost models"): JSON writes a NaN reward_mean or an infinite reward_std as null, which loading
 * read as "none recorded" (mean 0, std 1), so that member's scores went unnormalised beside the
 * others'. Such a member is refused naming the file and field; a whole ensemble still loads.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { RewardScorer } from "../../src/train/rm/ensemble.js";
import { trainRewardModel } from "../../src/train/rm/rmTrainer.js";
import { tinyCheckpoint, tmp } from "./fixtures.js";

describe("loading a reward ensemble", () => {
  it("refuses a member whose reward_mean or reward_std was saved as null", async () => {
    const out = tmp("ens-stats");
    const r = await trainRewardModel(
      {
        model: { init: tinyCheckpoint(tmp("ens-init")) },
        train: { steps: 1, batch_size: 2 },
        ensemble: { size: 2 },
      },
      {
        train: [
          { prompt: "pick one", chosen: "A", rejected: "B" },
          { prompt: "say yes", chosen: "yes", rejected: "no" },
        ],
      },
      { outDir: out, threads: 1 },
    );
    const dir = r.checkpoint!;
    const whole = RewardScorer.load(dir, { threads: 1 });
    const s = await whole.score(["pick one"], ["A"]);
    expect(Number.isFinite(s.score[0]!)).toBe(true);
    await whole.dispose();

    const file = join(dir, "member-1", "config.json");
    const text = readFileSync(file, "utf8");
    for (const field of ["reward_mean", "reward_std"]) {
      const cfg = JSON.parse(text);
      cfg.extra[field] = null;
      writeFileSync(file, JSON.stringify(cfg));
      let e: unknown;
      try {
        await RewardScorer.load(dir, { threads: 1 }).dispose();
      } catch (err) {
        e = err;
      }
      expect(e).toBeInstanceOf(KeelError);
      expect((e as KeelError).code).toBe("KEEL_E_CHECKPOINT");
      expect((e as KeelError).where).toEqual({ file, field: `extra.${field}` });
    }
  });
});
