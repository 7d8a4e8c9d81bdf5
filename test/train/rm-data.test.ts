/**
 * Reward-model data and metrics at their edges: scores a diverged model gives (NaN), rewards far
 * from 0, no pairs at all; bad pair weights and margins from the library API, named where the
 * caller gave them; one member of a cost ensemble loaded on its own; a DPO reference that reads
 * tokens otherwise than the policy.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { KeelError } from "../../src/core/errors.js";
import { saveCheckpoint } from "../../src/engine/checkpoint/checkpoint.js";
import { Gpt } from "../../src/engine/gpt/model.js";
import { trainBpe } from "../../src/engine/tokenizer/train.js";
import { TextCodec, trainTokenizer } from "../../src/train/common/codec.js";
import { saveModel } from "../../src/train/common/model.js";
import { trainDpo } from "../../src/train/dpo/dpoTrainer.js";
import { trainPpo } from "../../src/train/ppo/ppoTrainer.js";
import { RewardScorer } from "../../src/train/rm/ensemble.js";
import { pairEvalMetrics } from "../../src/train/rm/metrics.js";
import { trainCostModel, trainRewardModel } from "../../src/train/rm/rmTrainer.js";
import { trainSft } from "../../src/train/sft/sftTrainer.js";
import { failure } from "../helpers/errors.js";
import { TINY_ARCH, tinyCheckpoint, tinyCodec, tmp } from "./fixtures.js";

describe("pairEvalMetrics at the edges", () => {
  it("a NaN score counts as wrong and makes ECE NaN instead of crashing", () => {
    const m = pairEvalMetrics([Number.NaN, 2], [0, 0]);
    expect(m.accuracy).toBe(0.5);
    expect(m.ece).toBeNaN();
    expect(m.nll).toBeNaN();
    expect(m.pairs).toBe(2);
  });

  it("the reward std of rewards far from 0 is their spread, not round-off", () => {
    // Rewards 1e6 ± 1e-3: Σr²/n − m² cancels every digit of the variance.
    const m = pairEvalMetrics([1e6 + 1e-3, 1e6], [1e6, 1e6 - 1e-3]);
    expect(m.reward_std).toBeCloseTo(Math.sqrt(5e-7), 9);
  });

  it("no pairs: no calibration to report either", () => {
    const m = pairEvalMetrics([], []);
    expect(m.pairs).toBe(0);
    expect(m.ece).toBeNaN();
    expect(m.accuracy).toBeNaN();
  });

  it("every prediction in one bin, and p exactly 0.5 (tied scores)", () => {
    // d = 0: confidence ½, accuracy ½ (a tie counts half): calibrated.
    const tied = pairEvalMetrics([0, 0, 0], [0, 0, 0]);
    expect(tied.accuracy).toBe(0.5);
    expect(tied.ece).toBe(0);
    // Every pair in the top bin, half of them wrong: ECE = confidence − accuracy.
    const top = pairEvalMetrics([10, 0], [0, 10]);
    expect(top.ece).toBeCloseTo(1 / (1 + Math.exp(-10)) - 0.5, 12);
  });
});

describe("pair weights and margins from the library API", () => {
  const init = tinyCheckpoint(tmp("pair-check"));
  const small = { model: { init }, train: { steps: 1, batch_size: 2, eval_fraction: 0.25 } };
  const ok = [
    { prompt: "pick one", chosen: "A", rejected: "B" },
    { prompt: "say yes", chosen: "yes", rejected: "no" },
    { prompt: "the sky is", chosen: "blue", rejected: "green" },
  ];

  it("a negative weight is named by its place in data.train, whatever the split held out", async () => {
    const train = [...ok, { prompt: "pick one", chosen: "C", rejected: "D", weight: -1 }];
    for (const run of [
      () => trainRewardModel(small, { train }, { threads: 1 }),
      () => trainDpo(small, { train }, { threads: 1 }),
    ]) {
      const e = await failure(run());
      expect(e.code).toBe("KEEL_E_INVALID_RECORD");
      expect(e.where).toEqual({ field: "data.train[3].weight" });
    }
  });

  it("a NaN margin is refused rather than training on a NaN loss", async () => {
    const train = [...ok, { prompt: "pick one", chosen: "C", rejected: "D", margin: Number.NaN }];
    const e = await failure(
      trainRewardModel(
        { ...small, train: { ...small.train, use_margin: true } },
        { train },
        { threads: 1 },
      ),
    );
    expect(e.code).toBe("KEEL_E_INVALID_RECORD");
    expect(e.where).toEqual({ field: "data.train[3].margin" });
  });

  it("a cost pair without its safety labels is named in data.eval", async () => {
    const labelled = ok.map((p) => ({ ...p, chosen_safe: true, rejected_safe: false }));
    const e = await failure(
      trainCostModel(
        { model: { init }, train: { steps: 1, batch_size: 2 } },
        { train: labelled, eval: [labelled[0]!, ok[1] as never] },
        { threads: 1 },
      ),
    );
    expect(e.code).toBe("KEEL_E_INVALID_RECORD");
    expect(e.where).toEqual({ field: "data.eval[1].chosen_safe" });
  });
});

describe("one member of a cost ensemble, loaded on its own", () => {
  it("scores costs (so `keel model score` counts its accuracy the cost way)", async () => {
    const init = tinyCheckpoint(tmp("cost-member-init"));
    const pairs = [
      { prompt: "pick one", chosen: "A", rejected: "B", chosen_safe: true, rejected_safe: false },
    ];
    const r = await trainCostModel(
      { model: { init }, train: { steps: 1, batch_size: 2 }, ensemble: { size: 2 } },
      { train: pairs },
      { outDir: tmp("cost-member"), threads: 1 },
    );
    const member = RewardScorer.load(join(r.checkpoint!, "member-1"), { threads: 1 });
    expect(member.file.kind).toBe("cost");
    await member.dispose();
    const plain = RewardScorer.load(init, { threads: 1 });
    expect(plain.file.kind).toBe("reward");
    await plain.dispose();
  });
});

describe("uncertainty scoring", () => {
  it("is refused for one model, whose spread is 0 (it would silently be the mean)", () => {
    const dir = tinyCheckpoint(tmp("one-model"));
    let err: KeelError | undefined;
    try {
      RewardScorer.load(dir, { threads: 1, scoring: "uncertainty", field: "reward.model" });
    } catch (e) {
      err = e as KeelError;
    }
    expect(err?.code).toBe("KEEL_E_USAGE");
    expect(err?.where).toEqual({ file: dir, field: "reward.model" });
    expect(err?.message).toContain("needs an ensemble of 2 or more members");
  });
});

describe("a DPO reference", () => {
  const pairs = [
    { prompt: "pick one", chosen: "A", rejected: "B" },
    { prompt: "say yes", chosen: "yes", rejected: "no" },
  ];
  /** A tiny model of the same architecture and vocabulary size, other merges: ids that mean other text. */
  const otherTokenizerCheckpoint = async (name: string): Promise<string> => {
    const codec = new TextCodec(
      trainTokenizer(
        ["zebra zone", "quiet quartz", "xylophone jive", "fjord vex", "zebra quartz"].flatMap(
          (t) => [t, t.toUpperCase()],
        ),
        tinyCodec().vocabSize,
      ),
    );
    expect(codec.vocabSize).toBe(tinyCodec().vocabSize);
    const dir = tmp(name);
    const m = new Gpt({ vocab: codec.vocabSize, ...TINY_ARCH }, { seed: 1, threads: 1 });
    saveModel(dir, m, codec);
    await m.dispose();
    return dir;
  };
  const small = (init: string, reference: string) => ({
    model: { init },
    reference: { init: reference },
    train: { steps: 1, batch_size: 2 },
  });

  it("with another tokenizer is refused: it would score other tokens than the policy's", async () => {
    const init = tinyCheckpoint(tmp("dpo-policy"));
    const other = await otherTokenizerCheckpoint("dpo-other-ref");
    const e = await failure(trainDpo(small(init, other), { train: pairs }, { threads: 1 }));
    expect(e.code).toBe("KEEL_E_CONFIG");
    expect(e.where).toEqual({ file: other, field: "reference.init" });
    expect(e.message).toContain("has another tokenizer than the policy");
  });

  it("with another tokenizer is refused by PPO too, whose KL penalty compares with it", async () => {
    const init = tinyCheckpoint(tmp("ppo-policy"));
    const other = await otherTokenizerCheckpoint("ppo-other-ref");
    const e = await failure(
      trainPpo(
        {
          policy: { init },
          reference: { init: other },
          reward: { model: init },
          rollout: { batch_size: 2, max_new_tokens: 4 },
          ppo: { iterations: 1, epochs: 1, minibatch_size: 2 },
        },
        { prompts: ["pick one", "say yes"] },
        { threads: 1 },
      ),
    );
    expect(e.code).toBe("KEEL_E_CONFIG");
    expect(e.where).toEqual({ file: other, field: "reference.init" });
    expect(e.message).toContain("has another tokenizer than the policy (policy.init)");
  });

  it("with the policy's tokenizer trains (a checkpoint saved from a loaded one included)", async () => {
    const init = tinyCheckpoint(tmp("dpo-policy-2"));
    const sft = await trainSft(
      { model: { init }, train: { steps: 1, batch_size: 2 } },
      { train: [{ prompt: "pick one", completion: "A" }] },
      { outDir: tmp("dpo-sft"), threads: 1 },
    );
    const r = await trainDpo(small(sft.checkpoint!, init), { train: pairs }, { threads: 1 });
    expect(r.status).toBe("completed");
  });
});

describe("a tokenizer without keel's special tokens", () => {
  it("is named: the config's tokenizer file, or the checkpoint that holds it", async () => {
    const plain = trainBpe(["pick one", "say yes"], { vocabSize: 260 });
    const file = join(tmp("plain-tok"), "tokenizer.json");
    writeFileSync(file, JSON.stringify(plain.toJSON()));
    const arch = { d_model: 16, layers: 1, heads: 2, context: 24 };
    const rows = { train: [{ prompt: "pick one", completion: "A" }] };
    const e = await failure(
      trainSft({ model: { arch, tokenizer: { file } }, train: { steps: 1 } }, rows, { threads: 1 }),
    );
    expect(e.code).toBe("KEEL_E_CONFIG");
    expect(e.where).toEqual({ file, field: "model.tokenizer.file" });
    expect(e.message).toBe(
      `${file}: model.tokenizer.file: the tokenizer has no special token <|pad|>, <|sep|>, <|eos|>`,
    );
    const ckpt = tmp("plain-ckpt");
    const m = new Gpt({ vocab: plain.vocabSize, ...TINY_ARCH }, { seed: 1, threads: 1 });
    saveCheckpoint(ckpt, m, { tokenizer: plain });
    await m.dispose();
    const e2 = await failure(
      trainSft({ model: { init: ckpt }, train: { steps: 1 } }, rows, { threads: 1 }),
    );
    expect(e2.where).toEqual({ file: ckpt });
  });
});
