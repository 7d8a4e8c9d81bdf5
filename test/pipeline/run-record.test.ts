/**
 * What a pipeline run directory records (manifest.json): every seed the run draws with, the
 * record saved before the first stage runs (a run killed in it keeps its command, start and
 * inputs), and the SHA-256 of each stage's outputs as they stand.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/core/digest.js";
import { type PipelineConfigInput, parsePipelineConfig } from "../../src/pipeline/config.js";
import { runPipeline } from "../../src/pipeline/pipeline.js";
import { RunDir } from "../../src/pipeline/rundir.js";
import { Runner, type Stage } from "../../src/pipeline/runner.js";
import { textStage, TINY_PIPELINE as tiny } from "../helpers/pipeline.js";
import { tempDir } from "../helpers/stores.js";

/** A signal already raised: the run stops before its first stage (as kill -9 in it would). */
const stopped = () => {
  const ac = new AbortController();
  ac.abort();
  return ac.signal;
};

const attempt = (config: PipelineConfigInput, out: string, resume: boolean) =>
  runPipeline(parsePipelineConfig(config), { out, resume, signal: stopped() });

const manifestOf = (out: string) => JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));

describe("a pipeline run's manifest", () => {
  const dir = tempDir("keel-run-record-");

  it("records every seed the run draws with, defaults and pinned ones, before any stage runs", async () => {
    const out = join(dir, "seeds");
    const config: PipelineConfigInput = {
      ...tiny,
      world: { ...tiny.world, seed: 21 },
      reward_model: { ...tiny.reward_model, seed: 5 },
    };
    await expect(attempt(config, out, false)).rejects.toMatchObject({
      code: "KEEL_E_INTERRUPTED",
    });
    const m = manifestOf(out);
    expect(m.kind).toBe("pipeline");
    // redteam.seed is not the pipeline's: its own default (11) draws the probes.
    expect(m.seeds).toEqual({
      pipeline: 3,
      world: 21,
      "base.sft": 3,
      reward_model: 5,
      "policy.ppo": 3,
      redteam: 11,
    });
    const dpo = join(dir, "seeds-dpo");
    await expect(
      attempt({ ...tiny, policy: { algorithm: "dpo" }, redteam: { seed: 4 } }, dpo, false),
    ).rejects.toMatchObject({ code: "KEEL_E_INTERRUPTED" });
    expect(manifestOf(dpo).seeds).toMatchObject({ "policy.dpo": 3, redteam: 4 });
    expect(manifestOf(dpo).seeds["policy.ppo"]).toBeUndefined();
  });

  it("keeps the first attempt's record when the run stops in its first stage, and checks its inputs", async () => {
    const out = join(dir, "first-stage");
    const prompts = join(dir, "prompts.jsonl");
    writeFileSync(prompts, `${JSON.stringify({ prompt: "2 + 2?" })}\n`);
    const config: PipelineConfigInput = { ...tiny, prompts: { from: "file", path: prompts } };
    await expect(attempt(config, out, false)).rejects.toMatchObject({
      code: "KEEL_E_INTERRUPTED",
    });
    const first = manifestOf(out);
    expect(first.inputs["prompts.path"]).toBe(sha256Hex(readFileSync(prompts, "latin1")));
    // The same run resumed keeps its start; one whose prompts were edited since is refused.
    await expect(attempt(config, out, true)).rejects.toMatchObject({
      code: "KEEL_E_INTERRUPTED",
    });
    expect(manifestOf(out).created_at).toBe(first.created_at);
    writeFileSync(prompts, `${JSON.stringify({ prompt: "3 + 3?" })}\n`);
    await expect(attempt(config, out, true)).rejects.toMatchObject({
      code: "KEEL_E_CONFIG",
      message: expect.stringContaining("cannot resume: prompts.path changed since the run began"),
    });
    // Not gone: the config edited since no longer reads it.
    await expect(attempt({ ...tiny, prompts: { from: "rated" } }, out, true)).rejects.toMatchObject(
      {
        code: "KEEL_E_CONFIG",
        message: expect.stringContaining("or the config no longer names it"),
      },
    );
  });

  it("leaves no directory behind when a trainer block is wrong", async () => {
    const out = join(dir, "bad-block");
    await expect(
      attempt({ ...tiny, reward_model: { no_such_field: 1 } }, out, false),
    ).rejects.toMatchObject({ code: "KEEL_E_CONFIG" });
    expect(existsSync(out)).toBe(false);
  });

  it("lists the SHA-256 of every output of the run's stages, as they stand after a resume", async () => {
    const out = join(dir, "outputs");
    const run = RunDir.open(out, {}, () => undefined, false, "pipeline");
    await new Runner(run, [textStage("a", "one"), textStage("b", "two")]).runAll(
      new AbortController().signal,
      false,
    );
    expect(manifestOf(out).outputs).toEqual({
      "a.txt": sha256Hex("one"),
      "b.txt": sha256Hex("two"),
    });
    // Resumed with b dropped and a changed: a's new output, nothing of b's.
    const again = RunDir.open(out, {}, () => undefined, true, "pipeline");
    const runner = new Runner(again, [textStage("a", "uno")]);
    runner.loadState();
    await runner.runAll(new AbortController().signal, true);
    expect(manifestOf(out).outputs).toEqual({ "a.txt": sha256Hex("uno") });
  });

  it("hashes an output's bytes (what sha256sum prints), and keeps a stage an older record vouches for", async () => {
    const out = join(dir, "bytes");
    const text = "keel run · 2 − 1 = 1\n";
    const bytes = createHash("sha256").update(Buffer.from(text, "utf8")).digest("hex");
    const stage: Stage = {
      key: "report",
      title: "report",
      weight: 1,
      config: {},
      after: [],
      outputs: ["report.html"],
      async run(ctx) {
        runs++;
        writeFileSync(ctx.run.file("report.html"), text);
        return {};
      },
    };
    let runs = 0;
    const run = RunDir.open(out, {}, () => undefined, false, "pipeline");
    await new Runner(run, [stage]).runAll(new AbortController().signal, false);
    const state = JSON.parse(readFileSync(join(out, "state.json"), "utf8"));
    expect(state.stages.report.outputs["report.html"]).toBe(bytes);
    expect(manifestOf(out).outputs["report.html"]).toBe(bytes);
    // A record of an earlier keel, which hashed the text read as Latin-1: the stage is kept.
    state.stages.report.outputs["report.html"] = sha256Hex(
      readFileSync(join(out, "report.html"), "latin1"),
    );
    expect(state.stages.report.outputs["report.html"]).not.toBe(bytes);
    writeFileSync(join(out, "state.json"), JSON.stringify(state));
    const again = new Runner(
      RunDir.open(out, {}, () => undefined, true, "pipeline"),
      [stage],
    );
    again.loadState();
    await again.runAll(new AbortController().signal, true);
    expect(runs).toBe(1);
    expect(manifestOf(out).outputs["report.html"]).toBe(bytes);
  });
});
