/** Label smoothing in the reward-model trainer: wired to the loss, and checked in the config. */
import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { bradleyTerryLoss } from "../../src/train/losses/reward.js";
import { parseRmConfig } from "../../src/train/rm/rmConfig.js";
import { trainRewardModel } from "../../src/train/rm/rmTrainer.js";
import { tinyCheckpoint, tmp } from "./fixtures.js";

const pairs = [
  { prompt: "pick one", chosen: "A", rejected: "B" },
  { prompt: "say yes", chosen: "yes", rejected: "no" },
  { prompt: "the sky is", chosen: "blue", rejected: "green" },
];

describe("reward model: label smoothing", () => {
  it("reaches the trainer's loss, whose smoothing term is ε·(log σ(d) − log σ(−d))", async () => {
    const init = tinyCheckpoint(tmp("init"));
    const base = { model: { init }, optim: { lr: 1e-2 }, seed: 3 };
    const run = (label_smoothing: number) =>
      trainRewardModel(
        { ...base, train: { steps: 1, batch_size: 3, label_smoothing } },
        { train: pairs },
        { outDir: tmp(`rm-ls-${label_smoothing}`), threads: 1 },
      );
    const plain = await run(0);
    const smooth = await run(0.2);
    // Same seed, same first batch and head: the margins d are the same in both runs, so the
    // first step's loss moves by the smoothing term (nonzero unless every d is 0). The term
    // itself, on margins chosen here:
    expect(smooth.metrics.loss).not.toBeCloseTo(plain.metrics.loss!, 6);
    const d = [0.3, -0.7, 1.1];
    const a = bradleyTerryLoss({ chosen: d, rejected: [0, 0, 0] }).loss;
    const b = bradleyTerryLoss({ chosen: d, rejected: [0, 0, 0] }, { labelSmoothing: 0.2 }).loss;
    const mean = (f: (x: number) => number) => d.reduce((s, x) => s + f(x), 0) / d.length;
    const logSig = (x: number) => -Math.log1p(Math.exp(-x));
    expect(b - a).toBeCloseTo(
      mean((x) => 0.2 * (logSig(x) - logSig(-x))),
      12,
    );
  });

  it("is refused at 0.5 and above, and for the cost loss", () => {
    const init = "runs/none";
    expect(() => parseRmConfig({ model: { init }, train: { label_smoothing: 0.5 } })).toThrow(
      KeelError,
    );
    expect(() =>
      parseRmConfig({
        model: { init },
        loss: "safe_rlhf_cost",
        train: { label_smoothing: 0.1 },
      }),
    ).toThrow(/label smoothing applies to bradley_terry only/);
  });
});
