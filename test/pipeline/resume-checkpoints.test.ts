/**
 * Checkpoints outside the run that trainer overrides (or an engine provider) name are recorded
 * in manifest.json by their config.json, as base.checkpoint is: a different model at the same
 * path makes `--resume` refuse by name (KEEL_E_CONFIG), where it used to keep the stages that
 * used the old one (their fingerprints hold the path only). Each run stops after its world stage,
 * so nothing trains. A model the run trains itself is not an input, nor is a block of the
 * algorithm the run does not use.
 */
import { readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { type PipelineConfigInput, parsePipelineConfig } from "../../src/pipeline/config.js";
import { externalCheckpoints, runPipeline } from "../../src/pipeline/pipeline.js";
import { TINY_PIPELINE as tiny } from "../helpers/pipeline.js";
import { tempDir } from "../helpers/stores.js";
import { tinyCheckpoint } from "../train/fixtures.js";

/** A new run stops once its world stage has finished; a resumed one before any stage runs. */
async function attempt(config: PipelineConfigInput, out: string, resume: boolean) {
  const ac = new AbortController();
  if (resume) ac.abort();
  return runPipeline(parsePipelineConfig(config), {
    out,
    resume,
    signal: ac.signal,
    events: { onStageEnd: (s) => void (s.key === "world" && ac.abort()) },
  });
}

const interrupted = { code: "KEEL_E_INTERRUPTED" };
const ppo = tiny.policy!.ppo!;

describe("--resume after an external checkpoint changed", () => {
  const dir = tempDir("keel-resume-ckpt-");
  const ext = (name: string) => tinyCheckpoint(join(dir, name), 1);
  const cases: [string, (path: string) => PipelineConfigInput][] = [
    [
      "policy.ppo.reward.model",
      (p) => ({ ...tiny, policy: { ppo: { ...ppo, reward: { model: p } } } }),
    ],
    [
      "policy.ppo.reference.init",
      (p) => ({ ...tiny, policy: { ppo: { ...ppo, reference: { init: p } } } }),
    ],
    [
      "reward_model.model.init",
      (p) => ({ ...tiny, reward_model: { ...tiny.reward_model, model: { init: p } } }),
    ],
    [
      "policy.dpo.model.init",
      (p) => ({ ...tiny, policy: { algorithm: "dpo", dpo: { model: { init: p } } } }),
    ],
    [
      "generate.provider.checkpoint",
      (p) => ({
        ...tiny,
        generate: { from: "provider", provider: { type: "engine", checkpoint: p } },
      }),
    ],
  ];

  for (const [field, config] of cases) {
    it(`refuses to resume when the model at ${field} changed`, async () => {
      const name = field.replaceAll(".", "-");
      const model = ext(name);
      const out = join(dir, `run-${name}`);
      await expect(attempt(config(model), out, false)).rejects.toMatchObject(interrupted);
      const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
      const config1 = readFileSync(join(model, "config.json"));
      expect(manifest.inputs).toEqual({
        [`${field}/config.json`]: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
      // Unchanged, it resumes (and stops at once: the signal is already raised).
      await expect(attempt(config(model), out, true)).rejects.toMatchObject(interrupted);
      // Another model at the same path.
      rmSync(model, { recursive: true });
      tinyCheckpoint(model, 2);
      expect(readFileSync(join(model, "config.json"))).not.toEqual(config1);
      await expect(attempt(config(model), out, true)).rejects.toMatchObject({
        code: "KEEL_E_CONFIG",
        detail: expect.stringMatching(
          new RegExp(
            `^cannot resume: ${field.replaceAll(".", "\\.")}/config\\.json changed since the run began`,
          ),
        ),
      });
    }, 60_000);
  }

  it("leaves out the models the run trains itself and the other algorithm's block", () => {
    const out = join(dir, "own");
    const unused = ext("unused");
    const config = parsePipelineConfig({
      ...tiny,
      // Named inside the run (spelled relative to it): the undefended arm's reward model for both.
      policy: {
        ppo: {
          ...ppo,
          reward: { model: relative(process.cwd(), join(out, "undefended", "rm", "model")) },
        },
        dpo: { model: { init: unused } },
      },
    });
    expect(externalCheckpoints(config, out)).toEqual([]);
    const dpo = parsePipelineConfig({ ...config, policy: { ...config.policy, algorithm: "dpo" } });
    expect(externalCheckpoints(dpo, out)).toEqual([["policy.dpo.model.init", unused]]);
  });
});
