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
import { policyMismatch } from "../../src/train/common/role.js";
import { trainDpo } from "../../src/train/dpo/dpoTrainer.js";
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
    expect(r.stderr).toContain(`KEEL_E_CHECKPOINT: ${file}:4: reward.model: ${m.sft} is a policy`);
  });

  it("a reward or cost model is not a policy: policy fields refuse them", async () => {
    const m = await models();
    expect(policyMismatch(m.sft)).toBeUndefined();
    expect(policyMismatch(m.init)).toBeUndefined();
    expect(policyMismatch(join(m.rm, "member-0"))).toBe(
      `${join(m.rm, "member-0")} is a reward model (written by keel train rm), not a policy: it was trained to score responses, not to write them`,
    );
    expect(policyMismatch(m.rm)).toBe(
      `${m.rm} is a reward-model ensemble (ensemble.json), not a policy checkpoint`,
    );
    expect(policyMismatch(m.cost)).toBe(
      `${m.cost} is a cost-model ensemble (ensemble.json), not a policy checkpoint`,
    );
    expect(policyMismatch(join(m.cost, "member-1"))).toMatch(
      /is a cost model \(written by keel train cost\)/,
    );

    const field = async (p: Promise<unknown>) => {
      const e = await p.catch((x: unknown) => x);
      expect(e).toBeInstanceOf(KeelError);
      expect((e as KeelError).code).toBe("KEEL_E_CHECKPOINT");
      return (e as KeelError).where?.field;
    };
    const rmModel = join(m.rm, "member-0");
    const ppo = (policy: string, reference?: string) =>
      trainPpo(
        {
          policy: { init: policy },
          ...(reference ? { reference: { init: reference } } : {}),
          reward: { model: m.rm },
          rollout: { batch_size: 2, max_new_tokens: 2 },
          ppo: { iterations: 1, epochs: 1, minibatch_size: 2 },
          optim,
        },
        { prompts: ["pick one", "say yes"] },
        { outDir: tmp("ppo-policy"), threads: 1 },
      );
    expect(await field(ppo(rmModel))).toBe("policy.init");
    expect(await field(ppo(m.sft, rmModel))).toBe("reference.init");
    const dpo = (init: string, reference?: string) =>
      trainDpo(
        {
          model: { init },
          ...(reference ? { reference: { init: reference } } : {}),
          train: { steps: 1, batch_size: 2 },
          optim,
        },
        { train: pairs },
        { outDir: tmp("dpo-policy"), threads: 1 },
      );
    expect(await field(dpo(rmModel))).toBe("model.init");
    expect(await field(dpo(m.sft, rmModel))).toBe("reference.init");
    expect(
      await field(
        trainSft(
          { model: { init: rmModel }, train: { steps: 1, batch_size: 2 }, optim },
          { train: [{ prompt: "pick one", completion: "A" }] },
          { outDir: tmp("sft-policy"), threads: 1 },
        ),
      ),
    ).toBe("model.init");
    // A reward model may start from a reward model (continued training).
    const again = await trainRewardModel(
      { model: { init: rmModel }, train: { steps: 1, batch_size: 2 }, optim },
      { train: pairs },
      { outDir: tmp("rm-again"), threads: 1 },
    );
    expect(again.checkpoint).toBeDefined();

    // Generating from a reward model (keel generate, keel serve-model) is refused the same way.
    const promptFile = join(tmp("gen"), "prompts.jsonl");
    writeFileSync(promptFile, '"pick one"\n');
    const gen = await runCli([
      ...["generate", "--prompts", promptFile, "--checkpoint", rmModel],
      ...["--out", join(tmp("gen-out"), "pairs.jsonl")],
    ]);
    expect(gen.code).toBe(65);
    expect(gen.stderr).toContain(
      `KEEL_E_CHECKPOINT: ${rmModel}: --checkpoint: ${rmModel} is a reward model`,
    );
    const serve = await runCli(["serve-model", "--checkpoint", m.cost, "--port", "0"]);
    expect(serve.code).toBe(65);
    expect(serve.stderr).toContain(`${m.cost} is a cost-model ensemble`);

    // keel train dpo --check names the config file and field.
    const dir = tmp("dpo-check");
    const file = join(dir, "dpo.yaml");
    writeFileSync(join(dir, "pairs.jsonl"), `${pairs.map((p) => JSON.stringify(p)).join("\n")}\n`);
    writeFileSync(
      file,
      [
        `out: ${join(dir, "out")}`,
        `data: { train: ${join(dir, "pairs.jsonl")} }`,
        `model: { init: ${m.sft} }`,
        `reference: { init: ${rmModel} }`,
      ].join("\n"),
    );
    const r = await runCli(["train", "dpo", "--config", file, "--check"]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain(
      `KEEL_E_CHECKPOINT: ${file}:4: reference.init: ${rmModel} is a reward model`,
    );
  });
});
