/**
 * Degenerate data and configs the trainers must refuse with a clear error instead of running:
 * training data whose every weight is 0, schedules and controllers that cannot do what they say,
 * and an evaluation that would cut its own prompts away.
 */
import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { readMetrics } from "../../src/train/common/run.js";
import { parseDpoConfig } from "../../src/train/dpo/dpoConfig.js";
import { trainDpo } from "../../src/train/dpo/dpoTrainer.js";
import { parsePpoConfig } from "../../src/train/ppo/ppoConfig.js";
import { trainPpo } from "../../src/train/ppo/ppoTrainer.js";
import { parseRmConfig } from "../../src/train/rm/rmConfig.js";
import { trainCostModel, trainRewardModel } from "../../src/train/rm/rmTrainer.js";
import { parseSftConfig } from "../../src/train/sft/sftConfig.js";
import { trainSft } from "../../src/train/sft/sftTrainer.js";
import { tinyCheckpoint, tmp } from "./fixtures.js";

async function failure(p: Promise<unknown> | (() => unknown)): Promise<KeelError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    if (e instanceof KeelError) return e;
    throw e;
  }
  throw new Error("accepted");
}

describe("training pairs whose every weight is 0", () => {
  const init = tinyCheckpoint(tmp("zero-w"));
  // What an audit that excluded every comparison leaves: the loss is 0 at every step, so the
  // run would "complete" and save the starting model as a trained one.
  const excluded = [
    { prompt: "pick one", chosen: "A", rejected: "B", weight: 0 },
    { prompt: "say yes", chosen: "yes", rejected: "no", weight: 0 },
  ];
  const small = { model: { init }, train: { steps: 1, batch_size: 2 } };

  it("are refused by the reward, cost and DPO trainers, naming the data", async () => {
    for (const run of [
      () => trainRewardModel(small, { train: excluded }, { threads: 1 }),
      () =>
        trainCostModel(
          small,
          { train: excluded.map((p) => ({ ...p, chosen_safe: true, rejected_safe: false })) },
          { threads: 1 },
        ),
      () => trainDpo(small, { train: excluded }, { threads: 1 }),
    ]) {
      const e = await failure(run());
      expect(e.code).toBe("KEEL_E_USAGE");
      expect(e.message).toMatch(/every training pair has weight 0/);
      expect(e.where?.field).toBe("data.train");
    }
  });

  it("one pair with weight left is enough", async () => {
    const r = await trainRewardModel(
      small,
      { train: [...excluded, { prompt: "pick one", chosen: "C", rejected: "D", weight: 0.5 }] },
      { threads: 1 },
    );
    expect(r.status).toBe("completed");
  });
});

describe("an eval fraction that leaves nothing to train on", () => {
  it("says so, instead of claiming the data has no examples", async () => {
    const init = tinyCheckpoint(tmp("all-held"));
    const e = await failure(
      trainRewardModel(
        { model: { init }, train: { steps: 1, eval_fraction: 0.5 } },
        { train: [{ prompt: "pick one", chosen: "A", rejected: "B" }] },
        { threads: 1 },
      ),
    );
    expect(e.code).toBe("KEEL_E_CONFIG");
    expect(e.message).toMatch(/eval_fraction 0.5 holds out all 1/);
    expect(e.where?.field).toBe("train.eval_fraction");
  });
});

describe("cross-field config checks", () => {
  it("min_lr above lr is refused (the cosine 'decay' would raise the rate)", async () => {
    for (const parse of [parseSftConfig, parseRmConfig, parseDpoConfig]) {
      const e = await failure(() =>
        parse({ model: { init: "ck" }, optim: { lr: 1e-4, min_lr: 1e-3 } }),
      );
      expect(e.code).toBe("KEEL_E_CONFIG");
      expect(e.where?.field).toBe("optim.min_lr");
    }
    const ppo = await failure(() =>
      parsePpoConfig({ policy: { init: "ck" }, optim: { lr: 1e-4, min_lr: 1e-3 } }),
    );
    expect(ppo.where?.field).toBe("optim.min_lr");
    expect(
      parseSftConfig({ model: { init: "ck" }, optim: { lr: 1e-3, min_lr: 1e-3 } }).optim.min_lr,
    ).toBe(1e-3);
  });

  it("an adaptive KL controller must be able to move β and keep it positive", async () => {
    const base = {
      policy: { init: "ck" },
      rollout: { batch_size: 64 },
      ppo: { minibatch_size: 16 },
    };
    // β = 0 stays 0 under β ← β(1 + e·n/horizon): the controller would never act.
    const zero = await failure(() =>
      parsePpoConfig({ ...base, kl: { controller: "adaptive", target: 6, coef: 0 } }),
    );
    expect(zero.where?.field).toBe("kl.coef");
    // One batch under target multiplies β by 1 − 0.2·64/10 < 0: a negative KL penalty.
    const neg = await failure(() =>
      parsePpoConfig({ ...base, kl: { controller: "adaptive", target: 6, horizon: 10 } }),
    );
    expect(neg.where?.field).toBe("kl.horizon");
    expect(neg.message).toMatch(/12\.8/);
    const ok = parsePpoConfig({
      ...base,
      kl: { controller: "adaptive", target: 6, horizon: 13 },
    });
    expect(ok.kl.horizon).toBe(13);
  });

  it("ppo: a Lagrange multiplier may not start above its cap", async () => {
    const e = await failure(() =>
      parsePpoConfig({ policy: { init: "ck" }, cost: { lambda_init: 30, lambda_max: 20 } }),
    );
    expect(e.where?.field).toBe("cost.lambda_init");
  });

  it("ppo: eval.max_new_tokens is held to the same room for prompts as the rollout's", async () => {
    const init = tinyCheckpoint(tmp("eval-room"));
    const e = await failure(
      trainPpo(
        {
          policy: { init },
          rollout: { batch_size: 2, max_new_tokens: 4 },
          ppo: { iterations: 1, epochs: 1, minibatch_size: 2 },
          eval: { max_new_tokens: 22, batch_size: 2 },
        },
        { prompts: ["pick one", "say yes"], evalPrompts: ["pick one"] },
        {
          threads: 1,
          reward: async (_p, rs) => ({ score: Float64Array.from(rs, (t) => t.length) }),
        },
      ),
    );
    expect(e.code).toBe("KEEL_E_CONFIG");
    expect(e.where?.field).toBe("eval.max_new_tokens");
  });

  it("sft, rm and dpo: a seq_len longer than the model's context is refused naming train.seq_len", async () => {
    const init = tinyCheckpoint(tmp("seq-len")); // context 24
    const pairs = [{ prompt: "pick one", chosen: "A", rejected: "B" }];
    const train = { steps: 1, batch_size: 1, seq_len: 25 };
    for (const run of [
      () =>
        trainSft(
          { model: { init }, train },
          { train: [{ prompt: "p", completion: "A" }] },
          { threads: 1 },
        ),
      () => trainRewardModel({ model: { init }, train }, { train: pairs }, { threads: 1 }),
      () => trainDpo({ model: { init }, train }, { train: pairs }, { threads: 1 }),
    ]) {
      const e = await failure(run);
      expect(e.code).toBe("KEEL_E_CONFIG");
      expect(e.where?.field).toBe("train.seq_len");
      expect(e.message).toContain("seq_len 25 exceeds the model context 24");
    }
  });
});

describe("ppo with a reward that is not a number", () => {
  it("stops with KEEL_E_NUMERIC naming the iteration, instead of training on NaN advantages", async () => {
    const init = tinyCheckpoint(tmp("ppo-nan-reward"));
    const e = await failure(
      trainPpo(
        {
          policy: { init },
          rollout: { batch_size: 2, max_new_tokens: 4 },
          ppo: { iterations: 2, epochs: 1, minibatch_size: 2 },
        },
        { prompts: ["pick one", "say yes"] },
        {
          threads: 1,
          // A reward model that diverged: one response of the batch scores NaN.
          reward: async (_p, rs) => ({ score: Float64Array.from(rs, (_t, i) => (i ? NaN : 1)) }),
        },
      ),
    );
    expect(e.code).toBe("KEEL_E_NUMERIC");
    expect(e.message).toMatch(/iteration 1: the reward model scored 1 of 2 responses NaN/);
    expect(e.where?.field).toBe("reward.model");
  });
});

describe("ppo interrupted before its first iteration", () => {
  it("resumes without evaluating the starting policy a second time", async () => {
    const init = tinyCheckpoint(tmp("ppo-abort0"));
    const out = tmp("ppo-abort0-run");
    const run = (signal?: AbortSignal) =>
      trainPpo(
        {
          policy: { init },
          rollout: { batch_size: 2, max_new_tokens: 4 },
          ppo: { iterations: 2, epochs: 1, minibatch_size: 2 },
          eval: { batch_size: 2 },
          run: { eval_every: 1 },
        },
        { prompts: ["pick one", "say yes"], evalPrompts: ["pick one"] },
        {
          outDir: out,
          threads: 1,
          ...(signal ? { signal } : { resume: true }),
          reward: async (_p, rs) => ({ score: Float64Array.from(rs, (t) => t.length) }),
        },
      );
    // Ctrl-C during the step-0 evaluation: the checkpoint is saved at step 0, after it.
    const ac = new AbortController();
    ac.abort();
    expect((await run(ac.signal)).status).toBe("aborted");
    expect((await run()).status).toBe("completed");
    const evals = readMetrics(out)
      .filter((r) => r.type === "eval")
      .map((r) => r.step);
    expect(evals).toEqual([0, 1, 2]);
  });
});
