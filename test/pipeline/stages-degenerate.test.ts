/**
 * A run whose stages get the smallest and emptiest inputs. Each must stop with an error that
 * names the stage (or the config field) and the count, before the next stage fails in a
 * trainer's terms ("data.train: no training pairs") or records an evaluation of nothing as a
 * success. No stage here trains: the runs stop at the world, collection or preferences.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isKeelError, type KeelError } from "../../src/core/errors.js";
import { type PipelineConfigInput, parsePipelineConfig } from "../../src/pipeline/config.js";
import { pipelineStages } from "../../src/pipeline/pipeline.js";
import { resolvePlan } from "../../src/pipeline/plan.js";
import { RunDir } from "../../src/pipeline/rundir.js";
import { Runner, type StageContext } from "../../src/pipeline/runner.js";
import { collectStage, worldStage } from "../../src/pipeline/stages/data.js";
import { policyEvalStage } from "../../src/pipeline/stages/evaluate.js";
import { preferencesStage } from "../../src/pipeline/stages/preferences.js";
import { checkPpoPrompts } from "../../src/pipeline/stages/train.js";
import { TINY_PIPELINE } from "../helpers/pipeline.js";
import { tempDir } from "../helpers/stores.js";

/** A world of a few raters, no attacker, no trigger: every size is the test's to set. */
function config(world: Record<string, unknown>, extra: Partial<PipelineConfigInput> = {}) {
  return parsePipelineConfig({
    ...TINY_PIPELINE,
    world: {
      prompts: { count: 60 },
      comparisons: { count: 30, overlap: 1 },
      sft: { count: 20 },
      eval_pairs: { count: 0 },
      trigger: { rate: 0 },
      panel: { size: 3, raters: [{ type: "honest", count: 3 }] },
      ...world,
    },
    ...extra,
  } as PipelineConfigInput);
}

async function caught(p: Promise<unknown> | (() => unknown)): Promise<KeelError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    if (isKeelError(e)) return e;
    throw e;
  }
  throw new Error("expected a KeelError");
}

/** Runs the world, collection and one arm's preferences in a fresh run directory. */
async function throughPreferences(c: ReturnType<typeof config>, arm: "undefended" | "defended") {
  const out = join(tempDir(), "run");
  const plan = resolvePlan(c, out);
  const run = RunDir.open(out, {}, () => undefined, false, "pipeline");
  const stages = [worldStage(plan), collectStage(plan), preferencesStage(plan, arm)];
  return new Runner(run, stages).runAll(new AbortController().signal, false);
}

describe("a plan with nothing to collect or to red-team", () => {
  it("refuses world.comparisons.count 0 before anything runs, at its field", async () => {
    const e = await caught(() => pipelineStages(config({ comparisons: { count: 0 } }), "/tmp/x"));
    expect(e.code).toBe("KEEL_E_CONFIG");
    expect(e.where?.field).toBe("world.comparisons.count");
  });

  it("refuses world.sft.count 0 when the run trains its base policy, and not when it is given one", async () => {
    const e = await caught(() => pipelineStages(config({ sft: { count: 0 } }), "/tmp/x"));
    expect(e.where?.field).toBe("world.sft.count");
    expect(e.message).toContain("no SFT row to train the base policy on");
    const given = config({ sft: { count: 0 } }, { base: { checkpoint: "/tmp/x/model" } });
    expect(pipelineStages(given, "/tmp/x").map((s) => s.key)).toContain("base");
  });

  it("refuses a redteam split of 0, which would leave every evaluation without a probe", async () => {
    const splits = { train: 0.9, eval: 0.1, redteam: 0 };
    const e = await caught(() =>
      pipelineStages(config({ prompts: { count: 60, splits } }), "/tmp/x"),
    );
    expect(e.where?.field).toBe("world.prompts.splits.redteam");
  });

  it("refuses an attack rate that rounds to no rater, at attack.rate and its line", async () => {
    const c = parsePipelineConfig({ ...TINY_PIPELINE, attack: { type: "flip", rate: 0.001 } });
    const e = await caught(() =>
      pipelineStages(c, "/tmp/x", {
        file: "p.yaml",
        lineOf: (p) => (p[0] === "attack" ? 9 : undefined),
      }),
    );
    expect(e.code).toBe("KEEL_E_CONFIG");
    expect(e.message).toContain(
      "p.yaml:9: attack.rate: 0.001 of the 100-rater panel is 0.1 of a rater",
    );
    expect(e.message).toContain("flip attack would have no rater");
    // One rater's worth is an attack.
    const one = parsePipelineConfig({ ...TINY_PIPELINE, attack: { type: "flip", rate: 0.01 } });
    expect(pipelineStages(one, "/tmp/x").length).toBeGreaterThan(0);
  });

  it("stops an evaluation whose redteam split the hash left empty, naming the stage", async () => {
    // Ten prompts, 1% held out for red-teaming: none falls there.
    const c = config({
      prompts: { count: 10, splits: { train: 0.98, eval: 0.01, redteam: 0.01 } },
      comparisons: { count: 5, overlap: 1 },
    });
    const stage = policyEvalStage(resolvePlan(c, "/tmp/x"), "base");
    const e = await caught(stage.run({} as StageContext));
    expect(e.code).toBe("KEEL_E_CONFIG");
    expect(e.where?.field).toBe("world.prompts.splits.redteam");
    expect(e.message).toContain("base/evaluate: no red-team probe to run");
  });
});

describe("collection from a world that drew no comparison", () => {
  it("names the world's count, once (it said collect: collect:)", async () => {
    const out = join(tempDir(), "run");
    const plan = resolvePlan(config({ comparisons: { count: 0 } }), out);
    const run = RunDir.open(out, {}, () => undefined, false, "pipeline");
    const e = await caught(
      new Runner(run, [worldStage(plan), collectStage(plan)]).runAll(
        new AbortController().signal,
        false,
      ),
    );
    expect(e.message).toBe(
      "world.comparisons.count: the collect stage got no judgments from the simulated panel's judgments",
    );
  });
});

describe("an arm left without preference pairs", () => {
  // Every vote a tie: no comparison has a majority, and the audit has nothing to decide on.
  const ties = {
    panel: { size: 3, raters: [{ type: "careless", count: 3, mode: "random", tie_rate: 1 }] },
  };

  it("undefended: the preferences stage says so with the counts, not the reward model's trainer", async () => {
    const e = await caught(throughPreferences(config(ties), "undefended"));
    expect(e.code).toBe("KEEL_E_CONFLICT");
    expect(e.message).toContain(
      "undefended/preferences: no preference pair from 30 judgments on 30 comparisons",
    );
  });

  it("defended: names the audit and what it did with the raters", async () => {
    const e = await caught(throughPreferences(config(ties), "defended"));
    expect(e.code).toBe("KEEL_E_CONFLICT");
    expect(e.where?.field).toBe("audit.policy");
    expect(e.message).toContain(
      "defended/preferences: the audit kept no preference pair from 30 judgments",
    );
  });
});

describe("PPO with fewer prompts than a rollout batch", () => {
  it("is refused at the arm's first stage, before its reward model trains", async () => {
    // Two comparisons: two distinct prompts, and the tiny preset's rollout batch is 8.
    const e = await caught(
      throughPreferences(config({ comparisons: { count: 2, overlap: 1 } }), "undefended"),
    );
    expect(e.code).toBe("KEEL_E_CONFIG");
    expect(e.where?.field).toBe("policy.ppo.rollout.batch_size");
    expect(e.message).toContain(
      "undefended/policy: PPO needs at least rollout.batch_size = 8 prompts, and the judgments were collected on 2 distinct train-split prompts",
    );
  });

  it("names the prompts file when the prompts come from one", () => {
    const c = config({});
    const plan = {
      ...resolvePlan(c, "/tmp/x"),
      config: { ...c, prompts: { from: "file" as const, path: "p.jsonl" } },
    };
    expect(() => checkPpoPrompts("defended", 1, 8, plan)).toThrow(
      "defended/policy: PPO needs at least rollout.batch_size = 8 prompts, and the prompts file p.jsonl holds 1",
    );
    expect(() => checkPpoPrompts("defended", 8, 8, plan)).not.toThrow();
  });
});
