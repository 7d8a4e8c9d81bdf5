/**
 * A run directory is the run wherever it lies: `--resume` of a run that was moved (or is named
 * from another working directory) continues an interrupted trainer stage from its checkpoint,
 * and stages that re-run read this run's models, not the paths an earlier attempt recorded.
 * Both used to fail: the trainers hashed their config with the run's old path in it
 * (`cannot resume: model.init changed since the run began`), and the evaluation stages loaded
 * the model directory the upstream stage's result named (`no checkpoint at old/base/model`).
 */
import { existsSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type PipelineConfigInput, parsePipelineConfig } from "../../src/pipeline/config.js";
import { runPipeline } from "../../src/pipeline/pipeline.js";
import { TINY_PIPELINE as tiny } from "../helpers/pipeline.js";
import { tempDir } from "../helpers/stores.js";

const config: PipelineConfigInput = { ...tiny, arms: ["undefended"] };

const hashOf = (model: string) =>
  JSON.parse(readFileSync(join(model, "config.json"), "utf8")).extra.config_hash as string;

describe("--resume of a moved run", () => {
  const dir = tempDir("keel-resume-moved-");

  it("continues an interrupted trainer stage from its checkpoint", async () => {
    const before = join(dir, "before");
    const ac = new AbortController();
    await expect(
      runPipeline(parsePipelineConfig(config), {
        out: before,
        signal: ac.signal,
        events: {
          onStageProgress: (s, fraction) =>
            void (s.key === "undefended/reward" && fraction > 0 && ac.abort()),
        },
      }),
    ).rejects.toMatchObject({ code: "KEEL_E_INTERRUPTED" });
    expect(existsSync(join(before, "undefended", "rm", "checkpoints", "latest.json"))).toBe(true);

    const after = join(dir, "after");
    renameSync(before, after);
    const reruns: [string, string, boolean][] = [];
    const stop = new AbortController();
    await expect(
      runPipeline(parsePipelineConfig(config), {
        out: after,
        resume: true,
        signal: stop.signal,
        events: {
          onStageRerun: (s, why, continues) => void reruns.push([s.key, why, continues]),
          onStageEnd: (s) => void (s.key === "undefended/reward" && stop.abort()),
        },
      }),
    ).rejects.toMatchObject({ code: "KEEL_E_INTERRUPTED" });
    expect(reruns).toEqual([["undefended/reward", expect.stringMatching(/^interrupted/), true]]);
    // The checkpoint it continued from and the model it ended with carry one config hash.
    const rm = join(after, "undefended", "rm");
    const latest = JSON.parse(readFileSync(join(rm, "checkpoints", "latest.json"), "utf8"));
    expect(hashOf(join(rm, "checkpoints", latest.dir))).toBe(hashOf(join(rm, "model", "member-0")));
  }, 120_000);

  it("re-runs its evaluation stages on its own models", async () => {
    const before = join(dir, "whole");
    await runPipeline(parsePipelineConfig(config), { out: before });
    const after = join(dir, "moved");
    renameSync(before, after);
    // Other red-team and bias-probe settings: the evaluation stages run again, the rest is kept.
    const changed = {
      ...config,
      redteam: { ...tiny.redteam, per_suite: 4 },
      bias_probes: { pairs: 4 },
    };
    const ran: string[] = [];
    await runPipeline(parsePipelineConfig(changed), {
      out: after,
      resume: true,
      events: { onStageStart: (_i, _n, s, skipped) => void (skipped || ran.push(s.key)) },
    });
    expect(ran).toEqual(["base/evaluate", "undefended/rm-eval", "undefended/evaluate", "report"]);
    expect(existsSync(join(after, "undefended", "evaluate.json"))).toBe(true);
  }, 120_000);
});
