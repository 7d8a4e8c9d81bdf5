/**
 * A mid-run checkpoint of keel train rm|cost (`checkpoints/step-N/`) records its trainer but no
 * kind; it is a reward or cost model all the same, not a policy.
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { policyMismatch, scorerKindOf } from "../../src/train/common/role.js";
import { scorerMismatch } from "../../src/train/rm/ensemble.js";
import { runCli } from "../helpers/cli.js";
import { tinyCheckpoint, tmp } from "./fixtures.js";

/** A checkpoint directory whose config.json carries `extra` as a trainer's step checkpoint does. */
function stepCheckpoint(dir: string, extra: Record<string, unknown>): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify({ step: 15, extra }));
  return dir;
}

describe("mid-run reward and cost checkpoints", () => {
  const dir = tmp("mid-run-role");
  const rmStep = stepCheckpoint(join(dir, "rm", "checkpoints", "step-0000015"), {
    trainer: "rm",
    config_hash: "x",
    step: 15,
  });
  const costStep = stepCheckpoint(join(dir, "cost", "checkpoints", "step-0000015"), {
    trainer: "cost",
    step: 15,
  });
  const sftStep = stepCheckpoint(join(dir, "sft", "checkpoints", "step-0000015"), {
    trainer: "sft",
    step: 15,
  });

  it("are taken for what their trainer writes", () => {
    expect(scorerKindOf(rmStep)).toBe("reward");
    expect(scorerKindOf(costStep)).toBe("cost");
    expect(scorerKindOf(sftStep)).toBeUndefined();
    expect(policyMismatch(rmStep)).toContain("is a reward model (written by keel train rm)");
    expect(policyMismatch(costStep)).toContain("is a cost model (written by keel train cost)");
    expect(policyMismatch(sftStep)).toBeUndefined();
    expect(scorerMismatch(costStep, "reward")).toBe(
      `${costStep} is a cost model, where a reward model is expected`,
    );
    expect(scorerMismatch(rmStep, "reward")).toBeUndefined();
  });

  it("keel model generate refuses one", async () => {
    const r = await runCli(["model", "generate", "-c", rmStep, "-p", "hello", "-q"]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain(`KEEL_E_CHECKPOINT: ${rmStep}: ${rmStep} is a reward model`);
  });

  it("keel train ppo --check refuses one as policy.init, and a cost one as reward.model", async () => {
    const prompts = join(dir, "prompts.jsonl");
    writeFileSync(prompts, '"say yes"\n');
    const policy = tinyCheckpoint(join(dir, "policy"));
    const ppo = (init: string, reward: string) => {
      const file = join(dir, "ppo.yaml");
      writeFileSync(
        file,
        [
          `out: ${join(dir, "ppo")}`,
          `data: { prompts: ${prompts} }`,
          `policy: { init: ${init} }`,
          `reward: { model: ${reward} }`,
        ].join("\n"),
      );
      return runCli(["train", "ppo", "-c", file, "--check"]);
    };
    const asPolicy = await ppo(rmStep, rmStep);
    expect(asPolicy.code).toBe(65);
    expect(asPolicy.stderr).toContain(`policy.init: ${rmStep} is a reward model`);
    const asReward = await ppo(policy, costStep);
    expect(asReward.code).toBe(65);
    expect(asReward.stderr).toContain(`reward.model: ${costStep} is a cost model`);
    // (The step checkpoint above is only a config.json: a trainer needs its tokenizer too.)
    copyFileSync(join(policy, "tokenizer.json"), join(rmStep, "tokenizer.json"));
    const fine = await ppo(policy, rmStep);
    expect(fine.code, fine.stderr).toBe(0);
  });
});
