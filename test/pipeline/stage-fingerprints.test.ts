/**
 * Every setting a stage's output depends on reaches its fingerprint (its own config slice or an
 * upstream stage's): otherwise `--resume` keeps that stage's output from the old setting, and the
 * run's record disagrees with its config.yaml.
 */
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/core/canonical.js";
import { type PipelineConfigInput, parsePipelineConfig } from "../../src/pipeline/config.js";
import { pipelineStages } from "../../src/pipeline/pipeline.js";
import { TINY_PIPELINE as tiny } from "../helpers/pipeline.js";

/** Each stage's fingerprint as the runner makes it: its config and its upstream stages'. */
function fingerprints(input: PipelineConfigInput): Map<string, string> {
  const fp = new Map<string, string>();
  for (const s of pipelineStages(parsePipelineConfig(input), "/tmp/run"))
    fp.set(s.key, canonicalJson({ config: s.config, after: s.after.map((a) => fp.get(a)) }));
  return fp;
}

function changed(a: PipelineConfigInput, b: PipelineConfigInput): string[] {
  const [x, y] = [fingerprints(a), fingerprints(b)];
  return [...x.keys()].filter((k) => x.get(k) !== y.get(k));
}

describe("stage fingerprints", () => {
  it("re-run the report when the run's name changes: summary.json and run-card.json carry it", () => {
    expect(changed(tiny, { ...tiny, name: "renamed" })).toEqual(["report"]);
  });

  it("re-run provider generation when the seed changes, though the world's seed is pinned", () => {
    const provider = {
      ...tiny,
      world: { ...tiny.world, seed: 5 },
      generate: {
        from: "provider",
        provider: { type: "openai", base_url: "http://127.0.0.1:9/v1", model: "m" },
      },
    } as PipelineConfigInput;
    expect(changed(provider, { ...provider, seed: 4 })).toContain("generate");
  });

  it("re-run the reward model's bias probes when the seed changes, all else pinned", () => {
    const pinned = {
      ...tiny,
      world: { ...tiny.world, seed: 5 },
      reward_model: { ...tiny.reward_model, seed: 1 },
      base: { ...tiny.base, sft: { ...(tiny.base as { sft: object }).sft, seed: 1 } },
      policy: { ppo: { ...tiny.policy!.ppo, seed: 1 } },
    } as PipelineConfigInput;
    expect(changed(pinned, { ...pinned, seed: 4 })).toContain("defended/rm-eval");
  });
});
