/**
 * Runs that diverge (docs/train.md, "Optimizer and schedule"): a learning rate of 1e20 makes
 * the first step move every weight by about 1e20, so the second step's float32 forward pass
 * overflows and its loss is NaN. Every trainer must stop there with KEEL_E_NUMERIC naming its
 * own step (not the optimiser's update count) and the quantity, leave the checkpoint of the
 * step before as the latest one, write no final model, and log no record of the failed step.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { loadCheckpoint } from "../../src/engine/checkpoint/checkpoint.js";
import { Gpt } from "../../src/engine/gpt/model.js";
import { makeOptimizer, saveModel } from "../../src/train/common/model.js";
import { readMetrics } from "../../src/train/common/run.js";
import { trainDpo } from "../../src/train/dpo/dpoTrainer.js";
import { policyForward } from "../../src/train/ppo/policyGraphs.js";
import { parsePpoConfig } from "../../src/train/ppo/ppoConfig.js";
import { trainPpo } from "../../src/train/ppo/ppoTrainer.js";
import { ppoUpdate } from "../../src/train/ppo/ppoUpdate.js";
import { collectRollout } from "../../src/train/ppo/rollout.js";
import { trainCostModel, trainRewardModel } from "../../src/train/rm/rmTrainer.js";
import { trainSft } from "../../src/train/sft/sftTrainer.js";
import { changed, paramsSnapshot, TINY_ARCH, tinyCheckpoint, tinyCodec, tmp } from "./fixtures.js";

async function failure(p: Promise<unknown>): Promise<KeelError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KeelError) return e;
    throw e;
  }
  throw new Error("the run completed");
}

const diverging = { lr: 1e20, warmup: 0, max_grad_norm: null };
const run = { log_every: 1, checkpoint_every: 1 };
const pairs = [
  { prompt: "pick one", chosen: "A", rejected: "B" },
  { prompt: "say yes", chosen: "yes", rejected: "no" },
  { prompt: "pick one", chosen: "C", rejected: "D" },
];

/** What a run stopped by divergence after step `last` must have left in `out`. */
function expectLeftAt(out: string, last: number, checkpointDir = ""): void {
  const latest = JSON.parse(readFileSync(join(out, "checkpoints", "latest.json"), "utf8"));
  expect(latest.step).toBe(last);
  // loadCheckpoint refuses NaN or infinite weights and moments: the checkpoint is whole.
  void loadCheckpoint(join(out, "checkpoints", latest.dir, checkpointDir)).model.dispose();
  expect(existsSync(join(out, "model"))).toBe(false);
  const records = readMetrics(out);
  // The log ends with the failure, at the last step the run completed (run-failed.test.ts).
  expect(records.filter((r) => r.type === "summary")).toEqual([records.at(-1)]);
  expect(records.at(-1)).toMatchObject({ status: "failed", code: "KEEL_E_NUMERIC", step: last });
  expect(Math.max(...records.map((r) => r.step as number))).toBe(last);
  // JSON.stringify writes NaN and ±Infinity as null: none may have reached the log.
  for (const r of records) for (const v of Object.values(r)) expect(v).not.toBeNull();
}

describe("a diverging run stops at the step that diverged", () => {
  it("sft", async () => {
    const out = tmp("div-sft");
    const e = await failure(
      trainSft(
        {
          model: { init: tinyCheckpoint(tmp("div-init")) },
          train: { steps: 4, batch_size: 2 },
          optim: diverging,
          run,
        },
        {
          train: [
            { prompt: "pick one", completion: "A" },
            { prompt: "say yes", completion: "yes" },
          ],
        },
        { outDir: out, threads: 1 },
      ),
    );
    expect(e.code).toBe("KEEL_E_NUMERIC");
    expect(e.message).toBe("sft step 2: the loss is NaN");
    expect(e.hint).toMatch(/lower optim\.lr/);
    expectLeftAt(out, 1);
  });

  it("reward and cost models", async () => {
    const config = {
      model: { init: tinyCheckpoint(tmp("div-init")) },
      train: { steps: 4, batch_size: 3 },
      optim: diverging,
      run,
    };
    const out = tmp("div-rm");
    const e = await failure(
      trainRewardModel(config, { train: pairs }, { outDir: out, threads: 1 }),
    );
    expect(e.code).toBe("KEEL_E_NUMERIC");
    expect(e.message).toBe("rm step 2 (member-0): the loss is NaN");
    expectLeftAt(out, 1);

    const costOut = tmp("div-cost");
    const ce = await failure(
      trainCostModel(
        config,
        { train: pairs.map((p, i) => ({ ...p, chosen_safe: true, rejected_safe: i === 1 })) },
        { outDir: costOut, threads: 1 },
      ),
    );
    expect(ce.code).toBe("KEEL_E_NUMERIC");
    expect(ce.message).toBe("cost step 2 (member-0): the loss is NaN");
    expectLeftAt(costOut, 1);
  });

  it("dpo", async () => {
    const out = tmp("div-dpo");
    const e = await failure(
      trainDpo(
        {
          model: { init: tinyCheckpoint(tmp("div-init")) },
          train: { steps: 4, batch_size: 3 },
          optim: diverging,
          run,
        },
        { train: pairs },
        { outDir: out, threads: 1 },
      ),
    );
    expect(e.code).toBe("KEEL_E_NUMERIC");
    expect(e.message).toBe("dpo step 2: the loss is NaN");
    expectLeftAt(out, 1);
  });

  const ppoRun = (minibatch: number, out: string) =>
    failure(
      trainPpo(
        {
          policy: { init: tinyCheckpoint(tmp("div-init")) },
          rollout: { batch_size: 2, max_new_tokens: 4 },
          ppo: { iterations: 3, epochs: 1, minibatch_size: minibatch },
          optim: diverging,
          run,
        },
        { prompts: ["pick one", "say yes"] },
        {
          outDir: out,
          threads: 1,
          reward: async (_p, rs) => ({ score: Float64Array.from(rs, (t) => t.length) }),
        },
      ),
    );

  it("ppo names the iteration, epoch and minibatch, not the optimiser's update count", async () => {
    // Two minibatches: the first update moves the weights by ~1e20, the second's loss is NaN.
    const out = tmp("div-ppo");
    const e = await ppoRun(1, out);
    expect(e.code).toBe("KEEL_E_NUMERIC");
    expect(e.message).toBe("ppo iteration 1, epoch 1, minibatch 2: the policy_loss is NaN");
    expect(existsSync(join(out, "checkpoints", "latest.json"))).toBe(false);
    expect(existsSync(join(out, "model"))).toBe(false);
  });

  it("ppo names the iteration whose rollout a diverged policy could not sample", async () => {
    // One update per iteration: iteration 1 completes (and is checkpointed) with weights of
    // ~1e20, iteration 2's sampling meets NaN logits.
    const out = tmp("div-ppo-roll");
    const e = await ppoRun(2, out);
    expect(e.code).toBe("KEEL_E_NUMERIC");
    expect(e.message).toMatch(/^ppo iteration 2, rollout: logit of token id \d+ is NaN$/);
    expectLeftAt(out, 1, "policy");
  });
});

describe("the PPO update", () => {
  it("refuses a NaN policy loss even though the clipped loss gives its tokens no gradient", async () => {
    // A NaN ratio or advantage fails every comparison in the clipped loss, so those tokens get
    // a zero gradient; the value loss's gradient is finite, and the step went on.
    const codec = tinyCodec();
    const model = new Gpt({ vocab: codec.vocabSize, ...TINY_ARCH }, { seed: 1, threads: 1 });
    const c = parsePpoConfig({
      policy: { init: "unused" },
      rollout: { batch_size: 2, max_new_tokens: 4 },
      ppo: { epochs: 1, minibatch_size: 2 },
    });
    const r = await collectRollout(model, codec, ["pick one", "say yes"], {
      maxNewTokens: 4,
      temperature: 1,
      topK: 0,
      topP: 1,
      seed: "nan-adv",
    });
    const old = await policyForward(model, r.batch, ["logprobs", "values"]);
    const n = r.action.length;
    const before = paramsSnapshot(model);
    const e = await failure(
      ppoUpdate(
        c,
        r,
        {
          oldLogprobs: Float64Array.from(old.logprobs!),
          oldValues: new Float64Array(n),
          advantages: Float64Array.from(r.action, (a) => (a ? Number.NaN : 0)),
          returns: new Float64Array(n),
        },
        { model, opt: makeOptimizer(model, c.optim), grad: model.params.zerosLike() },
        undefined,
        { seed: "nan-adv/update", lr: 1e-2, afterUpdate: () => {}, place: "ppo iteration 4" },
      ),
    );
    expect(e.code).toBe("KEEL_E_NUMERIC");
    expect(e.message).toBe("ppo iteration 4, epoch 1, minibatch 1: the policy_loss is NaN");
    expect(changed(before, paramsSnapshot(model))).toEqual([]);
    await model.dispose();
  });
});

describe("a model whose last update diverged", () => {
  // One step at lr 1e20: its loss and gradient are finite, the weights it leaves are ~1e20, and
  // only the evaluation (or a reward model's normalisation statistics) sees what they score.
  const oneStep = { steps: 1, batch_size: 3 };

  it("sft and dpo: the evaluation's NaN loss stops the run instead of being logged as null", async () => {
    const sftOut = tmp("div-sft-eval");
    const e = await failure(
      trainSft(
        {
          model: { init: tinyCheckpoint(tmp("div-init")) },
          train: oneStep,
          optim: diverging,
          run,
        },
        {
          train: [{ prompt: "pick one", completion: "A" }],
          eval: [{ prompt: "say yes", completion: "yes" }],
        },
        { outDir: sftOut, threads: 1 },
      ),
    );
    expect(e.code).toBe("KEEL_E_NUMERIC");
    expect(e.message).toBe("sft evaluation after step 1: the eval loss is NaN");
    expect(existsSync(join(sftOut, "model"))).toBe(false);
    expect(readMetrics(sftOut).map((r) => r.type)).toEqual(["train", "summary"]);

    const dpoOut = tmp("div-dpo-eval");
    const de = await failure(
      trainDpo(
        { model: { init: tinyCheckpoint(tmp("div-init")) }, train: oneStep, optim: diverging, run },
        { train: pairs, eval: pairs.slice(0, 1) },
        { outDir: dpoOut, threads: 1 },
      ),
    );
    expect(de.code).toBe("KEEL_E_NUMERIC");
    expect(de.message).toBe("dpo evaluation after step 1: the eval loss is NaN");
    expect(existsSync(join(dpoOut, "model"))).toBe(false);
  });

  it("reward model: is not saved with NaN normalisation statistics (read back as mean 0, std 1)", async () => {
    const config = {
      model: { init: tinyCheckpoint(tmp("div-init")) },
      train: oneStep,
      optim: diverging,
      run,
    };
    const out = tmp("div-rm-last");
    const e = await failure(
      trainRewardModel(config, { train: pairs }, { outDir: out, threads: 1 }),
    );
    expect(e.code).toBe("KEEL_E_NUMERIC");
    expect(e.message).toBe("rm member-0 after step 1: the model scored 6 of 6 responses NaN");
    expect(existsSync(join(out, "model"))).toBe(false);

    const evalOut = tmp("div-rm-eval");
    const ee = await failure(
      trainRewardModel(config, { train: pairs, eval: pairs }, { outDir: evalOut, threads: 1 }),
    );
    expect(ee.message).toBe(
      "rm evaluation after step 1 (member-0): the model scored 6 of 6 responses NaN",
    );
    expect(readMetrics(evalOut).map((r) => r.type)).toEqual(["train", "summary"]);
  });
});

describe("ppo evaluation with a reward model that scores NaN", () => {
  it("stops naming the evaluation, instead of logging eval_score as null", async () => {
    // The reward model fails only on the eval prompt's responses, which the rollouts never see.
    const out = tmp("eval-nan");
    const e = await failure(
      trainPpo(
        {
          policy: { init: tinyCheckpoint(tmp("eval-nan-init")) },
          rollout: { batch_size: 2, max_new_tokens: 4 },
          ppo: { iterations: 2, epochs: 1, minibatch_size: 2 },
        },
        { prompts: ["pick one", "say yes"], evalPrompts: ["the sky is blue"] },
        {
          outDir: out,
          threads: 1,
          reward: async (ps, rs) => ({
            score: Float64Array.from(rs, (_r, i) => (ps[i] === "the sky is blue" ? NaN : 1)),
          }),
        },
      ),
    );
    expect(e.code).toBe("KEEL_E_NUMERIC");
    expect(e.message).toMatch(
      /^reward\.model: evaluation of the starting policy: the reward model scored 1 of 1 responses NaN/,
    );
    expect(readMetrics(out).map((r) => [r.type, r.status])).toEqual([["summary", "failed"]]);
  });
});

describe("a run that starts from a checkpoint whose outputs overflow", () => {
  // Weights ×1e10 are finite (so the checkpoint loads) but overflow float32 in the forward pass:
  // what the last checkpoint of a diverged run can hold. No update has been made, so the hint
  // names the starting checkpoint, not the learning rate.
  function overflowing(): string {
    const ck = loadCheckpoint(tinyCheckpoint(tmp("overflow-src")));
    const flat = ck.model.params.flat;
    for (let i = 0; i < flat.length; i++) flat[i] = flat[i]! * 1e10;
    ck.model.params.touch();
    const dir = tmp("overflow");
    saveModel(dir, ck.model, tinyCodec());
    void ck.model.dispose();
    return dir;
  }
  const startHint = /no update had been made yet: the model the run started from/;

  it("sft, ppo: the hint names the starting checkpoint", async () => {
    const init = overflowing();
    const e = await failure(
      trainSft(
        { model: { init }, train: { steps: 2, batch_size: 2 } },
        { train: [{ prompt: "pick one", completion: "A" }] },
        { threads: 1 },
      ),
    );
    expect(e.message).toMatch(/^sft step 1: (the loss|gradient norm) is NaN$/);
    expect(e.hint).toMatch(startHint);
    const pe = await failure(
      trainPpo(
        {
          policy: { init },
          rollout: { batch_size: 2, max_new_tokens: 4 },
          ppo: { iterations: 1, epochs: 1, minibatch_size: 2 },
        },
        { prompts: ["pick one", "say yes"] },
        { threads: 1, reward: async (_p, rs) => ({ score: new Float64Array(rs.length) }) },
      ),
    );
    expect(pe.message).toMatch(/^ppo iteration 1, rollout: logit of token id \d+ is NaN$/);
    expect(pe.hint).toMatch(startHint);
  });

  it("dpo: the reference's NaN log-probs are refused before training, naming it", async () => {
    const init = overflowing();
    const e = await failure(
      trainDpo(
        { model: { init }, train: { steps: 2, batch_size: 3 } },
        { train: pairs },
        { threads: 1 },
      ),
    );
    expect(e.code).toBe("KEEL_E_NUMERIC");
    expect(e.where).toEqual({ file: init, field: "model.init" });
    expect(e.detail).toMatch(
      /^the reference model gives [1-6] of 6 responses a log-probability of NaN$/,
    );
  });
});
