/**
 * One-step smoke tests (TRL's idea): train a tiny model one step with each trainer and check
 * that the loss is finite and that every parameter the loss depends on changed. Heads a loss
 * does not read keep their values exactly (weight decay is off), which is checked too.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCheckpoint } from "../../src/engine/checkpoint/checkpoint.js";
import { trainDpo } from "../../src/train/dpo/dpoTrainer.js";
import { trainPpo } from "../../src/train/ppo/ppoTrainer.js";
import { trainCostModel, trainRewardModel } from "../../src/train/rm/rmTrainer.js";
import { trainSft } from "../../src/train/sft/sftTrainer.js";
import { changed, paramsSnapshot, tinyCheckpoint, tmp } from "./fixtures.js";

const optim = { lr: 1e-2, weight_decay: 0, max_grad_norm: null };
const pairs = [
  { prompt: "pick one", chosen: "A", rejected: "B" },
  { prompt: "say yes", chosen: "yes", rejected: "no" },
  { prompt: "pick one", chosen: "C", rejected: "D" },
];

function expectChanged(before: string, after: string, untouched: readonly string[]) {
  const a = loadCheckpoint(before).model;
  const b = loadCheckpoint(after).model;
  const diff = changed(paramsSnapshot(a), paramsSnapshot(b));
  const all = a.params.names;
  const expected = all.filter((n) => !untouched.some((u) => n.startsWith(u)));
  expect(diff.sort()).toEqual(expected.sort());
  void a.dispose();
  void b.dispose();
}

describe("one step of each trainer changes every parameter its loss reads", () => {
  it("sft", async () => {
    const init = tinyCheckpoint(tmp("init"));
    const out = tmp("sft");
    const r = await trainSft(
      { model: { init }, train: { steps: 1, batch_size: 4 }, optim },
      {
        train: [
          { prompt: "pick one", completion: "A" },
          { prompt: "say yes", completion: "yes" },
        ],
      },
      { outDir: out, threads: 1 },
    );
    expect(Number.isFinite(r.metrics.loss)).toBe(true);
    expectChanged(init, r.checkpoint!, ["value_head", "reward_head"]);
  });
  it("reward model", async () => {
    const init = tinyCheckpoint(tmp("init"));
    const r = await trainRewardModel(
      { model: { init }, train: { steps: 1, batch_size: 3, reinit_head: false }, optim },
      { train: pairs },
      { outDir: tmp("rm"), threads: 1 },
    );
    expect(Number.isFinite(r.metrics.loss)).toBe(true);
    expectChanged(init, join(r.checkpoint!, "member-0"), ["value_head"]);
  });
  it("cost model", async () => {
    const init = tinyCheckpoint(tmp("init"));
    const r = await trainCostModel(
      { model: { init }, train: { steps: 1, batch_size: 3, reinit_head: false }, optim },
      { train: pairs.map((p, i) => ({ ...p, chosen_safe: true, rejected_safe: i === 1 })) },
      { outDir: tmp("cost"), threads: 1 },
    );
    expect(Number.isFinite(r.metrics.loss)).toBe(true);
    expectChanged(init, join(r.checkpoint!, "member-0"), ["value_head"]);
  });
  it("dpo (every loss type)", async () => {
    for (const loss of ["sigmoid", "cdpo", "robust", "ipo", "hinge"] as const) {
      const init = tinyCheckpoint(tmp("init"));
      const r = await trainDpo(
        {
          model: { init },
          loss,
          label_smoothing: loss === "cdpo" || loss === "robust" ? 0.1 : 0,
          train: { steps: 1, batch_size: 3 },
          optim,
        },
        { train: pairs },
        { outDir: tmp("dpo"), threads: 1 },
      );
      expect(Number.isFinite(r.metrics.loss)).toBe(true);
      expectChanged(init, r.checkpoint!, ["value_head", "reward_head"]);
    }
  });
  it("ppo (one iteration, entropy bonus on)", async () => {
    const init = tinyCheckpoint(tmp("init"));
    const r = await trainPpo(
      {
        policy: { init },
        rollout: { batch_size: 4, max_new_tokens: 4 },
        ppo: { iterations: 1, epochs: 1, minibatch_size: 4, ent_coef: 0.01 },
        optim,
      },
      { prompts: ["pick one", "say yes", "pick one", "say yes"] },
      {
        outDir: tmp("ppo"),
        threads: 1,
        reward: async (_p, responses) => ({ score: Float64Array.from(responses, (t) => t.length) }),
      },
    );
    for (const k of ["loss", "policy_loss", "value_loss", "entropy", "kl"])
      expect(Number.isFinite(r.metrics[k]), k).toBe(true);
    expect(r.metrics.logprob_mismatch_max).toBeLessThan(1e-4);
    expectChanged(init, r.checkpoint!, ["reward_head"]);
  });
});
