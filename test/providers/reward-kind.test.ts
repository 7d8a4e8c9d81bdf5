/**
 * keel's reward provider loads what it is asked to score with: serve-rm's --reward-model must
 * be a reward model and --cost-model (serve-rm's and serve-model's) a cost model. A cost model
 * served as the reward, or a reward model as the cost, scores the opposite of what is wanted.
 */
import { describe, expect, it } from "vitest";
import { EngineRewardProvider } from "../../src/providers/reward/engine.js";
import { trainCostModel, trainRewardModel } from "../../src/train/rm/rmTrainer.js";
import { runCli } from "../helpers/cli.js";
import { tinyCheckpoint, tmp } from "../train/fixtures.js";

const optim = { lr: 1e-2, weight_decay: 0, max_grad_norm: null };
const pairs = [
  { prompt: "pick one", chosen: "A", rejected: "B" },
  { prompt: "say yes", chosen: "yes", rejected: "no" },
];

describe("EngineRewardProvider and the servers that load it", () => {
  it("refuses a model of the other kind, naming the flag", async () => {
    const init = tinyCheckpoint(tmp("init"));
    const rm = (
      await trainRewardModel(
        { model: { init }, train: { steps: 1, batch_size: 2 }, optim },
        { train: pairs },
        { outDir: tmp("rm"), threads: 1 },
      )
    ).checkpoint!;
    const cost = (
      await trainCostModel(
        { model: { init }, train: { steps: 1, batch_size: 2 }, optim },
        { train: pairs.map((p) => ({ ...p, chosen_safe: true, rejected_safe: false })) },
        { outDir: tmp("cost"), threads: 1 },
      )
    ).checkpoint!;

    expect(() => new EngineRewardProvider({ dir: cost, expect: "reward" })).toThrow(
      /is a cost[- ]model.*, where a reward model is expected/,
    );
    const ok = new EngineRewardProvider({ dir: rm, expect: "reward" });
    expect(ok.kind).toBe("reward");
    await ok.close();

    const asReward = await runCli(["serve-rm", "--reward-model", cost, "--port", "0"]);
    expect(asReward.code).toBe(65);
    expect(asReward.stderr).toContain("--reward-model");
    expect(asReward.stderr).toMatch(/is a cost[- ]model.*, where a reward model is expected/);
    const asCost = await runCli([
      "serve-rm",
      "--reward-model",
      rm,
      "--cost-model",
      rm,
      "--port",
      "0",
    ]);
    expect(asCost.code).toBe(65);
    expect(asCost.stderr).toMatch(
      /--cost-model: .* is a reward[- ]model.*, where a cost model is expected/,
    );
    const guard = await runCli([
      "serve-model",
      "--checkpoint",
      init,
      "--cost-model",
      rm,
      "--port",
      "0",
    ]);
    expect(guard.code).toBe(65);
    expect(guard.stderr).toContain("--cost-model");
  }, 60_000);
});
