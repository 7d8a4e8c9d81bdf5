/**
 * A reward (or cost) model must be one: a policy's checkpoint has a reward head nothing trained,
 * and a cost model read as a reward model scores the opposite of what is wanted. Loaders and
 * `keel train ppo --check` refuse both, naming the config field; checkpoints that say nothing of
 * themselves (keel model init) are taken as they are.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { trainPpo } from "../../src/train/ppo/ppoTrainer.js";
import { RewardScorer, scorerMismatch } from "../../src/train/rm/ensemble.js";
import { trainCostModel, trainRewardModel } from "../../src/train/rm/rmTrainer.js";
import { trainSft } from "../../src/train/sft/sftTrainer.js";
import { runCli } from "../helpers/cli.js";
import { tinyCheckpoint, tmp } from "./fixtures.js";

const optim = { lr: 1e-2, weight_decay: 0, max_grad_norm: null };
const pairs = [
  { prompt: "pick one", chosen: "A", rejected: "B" },
  { prompt: "say yes", chosen: "yes", rejected: "no" },
];

async function models() {
  const init = tinyCheckpoint(tmp("init"));
  const hooks = (name: string) => ({ outDir: tmp(name), threads: 1 });
  const sft = await trainSft(
    { model: { init }, train: { steps: 1, batch_size: 2 }, optim },
    { train: [{ prompt: "pick one", completion: "A" }] },
    hooks("sft"),
  );
  const rm = await trainRewardModel(
    { model: { init }, train: { steps: 1, batch_size: 2 }, optim },
    { train: pairs },
    hooks("rm"),
  );
  const cost = await trainCostModel(
    { model: { init }, train: { steps: 1, batch_size: 2 }, ensemble: { size: 2 }, optim },
    { train: pairs.map((p) => ({ ...p, chosen_safe: true, rejected_safe: false })) },
    hooks("cost"),
  );
  return { init, sft: sft.checkpoint!, rm: rm.checkpoint!, cost: cost.checkpoint! };
}

describe("reward and cost models are what they are loaded as", () => {
  it("scorerMismatch names a policy, a model of the other kind and an ensemble of it", async () => {
    const m = await models();
    expect(scorerMismatch(m.sft)).toBe(
      `${m.sft} is a policy (written by keel train sft), not a reward model: its reward head was never trained`,
    );
    expect(scorerMismatch(m.rm, "reward")).toBeUndefined();
    expect(scorerMismatch(join(m.rm, "member-0"))).toBeUndefined();
    expect(scorerMismatch(join(m.rm, "member-0"), "cost")).toBe(
      `${join(m.rm, "member-0")} is a reward model, where a cost model is expected`,
    );
    expect(scorerMismatch(m.cost, "cost")).toBeUndefined();
    expect(scorerMismatch(m.cost, "reward")).toBe(
      `${m.cost} is a cost-model ensemble, where a reward model is expected`,
    );
    // A checkpoint that says nothing of itself (keel model init, imported) is taken as it is.
    expect(scorerMismatch(m.init, "reward")).toBeUndefined();

    expect(() => RewardScorer.load(m.sft, { threads: 1 })).toThrow(/is a policy/);
    const ok = RewardScorer.load(m.rm, { threads: 1, expect: "reward" });
    await ok.dispose();

    // PPO with the SFT policy as its reward model: refused before any rollout, naming the field.
    const err = await trainPpo(
      {
        policy: { init: m.init },
        reward: { model: m.sft },
        rollout: { batch_size: 2, max_new_tokens: 2 },
        ppo: { iterations: 1, epochs: 1, minibatch_size: 2 },
        optim,
      },
      { prompts: ["pick one", "say yes"] },
      { outDir: tmp("ppo"), threads: 1 },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeelError);
    expect((err as KeelError).code).toBe("KEEL_E_CHECKPOINT");
    expect((err as KeelError).where?.field).toBe("reward.model");

    // And keel train ppo --check says so with the config file and field.
    const dir = tmp("ppo-check");
    const file = join(dir, "ppo.yaml");
    writeFileSync(join(dir, "prompts.jsonl"), '"pick one"\n"say yes"\n');
    writeFileSync(
      file,
      [
        `out: ${join(dir, "out")}`,
        `data: { prompts: ${join(dir, "prompts.jsonl")} }`,
        `policy: { init: ${m.init} }`,
        `reward: { model: ${m.sft} }`,
      ].join("\n"),
    );
    const r = await runCli(["train", "ppo", "--config", file, "--check"]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain(`KEEL_E_CHECKPOINT: ${file}: reward.model: ${m.sft} is a policy`);
  });
});
