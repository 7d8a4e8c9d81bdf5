import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify as toYaml } from "yaml";
import { parsePipelineConfig } from "../../src/pipeline/config.js";
import { runPipeline } from "../../src/pipeline/pipeline.js";
import { enclosingRun } from "../../src/pipeline/rundir.js";
import { runCli } from "../helpers/cli.js";
import { snapshot } from "../helpers/files.js";
import { TINY_PIPELINE as tiny } from "../helpers/pipeline.js";
import { tinyCheckpoint, tmp } from "../train/fixtures.js";

/** A pipeline run as an interrupted `keel run` leaves it: base trained, defended begun. */
function pipelineRun(run: string, manifest: object): void {
  mkdirSync(join(run, "defended"), { recursive: true });
  writeFileSync(join(run, "config.yaml"), toYaml(parsePipelineConfig(tiny)));
  writeFileSync(
    join(run, "state.json"),
    JSON.stringify({ format: "keel-run-state/1", stages: {} }),
  );
  writeFileSync(join(run, "manifest.json"), JSON.stringify(manifest));
  tinyCheckpoint(join(run, "base", "model"));
  writeFileSync(
    join(run, "defended", "pairs.jsonl"),
    '{"prompt":"p","chosen":"a","rejected":"b"}\n',
  );
}

describe("directories inside a pipeline run", () => {
  const dir = tmp("run-subdirs");
  writeFileSync(join(dir, "sft.jsonl"), '{"prompt":"say yes","completion":"yes"}\n');
  const sftYaml = join(dir, "sft.yaml");
  writeFileSync(
    sftYaml,
    [
      `data: { train: ${join(dir, "sft.jsonl")} }`,
      "model:",
      "  arch: { d_model: 16, layers: 1, heads: 2, context: 24 }",
      "  tokenizer: { vocab_size: 280 }",
      "train: { steps: 1, batch_size: 1 }",
    ].join("\n"),
  );
  const runs = {
    // As this keel writes it, and as a keel that did not yet name the kind in the manifest did.
    "this keel's": { kind: "pipeline", keel_version: "0", inputs: {}, stages: [], outputs: {} },
    "an older keel's": { inputs: {}, stages: [] },
  };

  for (const [name, manifest] of Object.entries(runs)) {
    it(`keel train refuses a stage directory of ${name} run, with or without --resume`, async () => {
      const run = join(dir, name);
      pipelineRun(run, manifest);
      const before = snapshot(run);
      for (const sub of ["base", "defended", join("defended", "policy"), join("base", "model")]) {
        for (const resume of [[], ["--resume"]]) {
          const out = join(run, sub);
          const r = await runCli(["train", "sft", "-c", sftYaml, "-o", out, ...resume, "-q"]);
          expect(r.code, `${sub} ${resume}: ${r.stderr}`).toBe(64);
          expect(r.stderr).toContain(
            `KEEL_E_USAGE: ${out} is inside the pipeline run directory ${run}; choose another --out`,
          );
        }
      }
      expect(snapshot(run)).toEqual(before);
    });
  }

  it("keel run refuses one too, and --check says so", async () => {
    const run = join(dir, "outer");
    pipelineRun(run, runs["this keel's"]);
    const before = snapshot(run);
    const out = join(run, "defended", "nested");
    const stopped = new AbortController();
    stopped.abort();
    await expect(
      runPipeline(parsePipelineConfig(tiny), { out, signal: stopped.signal }),
    ).rejects.toMatchObject({
      code: "KEEL_E_USAGE",
      message: `${out} is inside the pipeline run directory ${run}; choose another --out`,
    });
    const file = join(dir, "pipeline.yaml");
    writeFileSync(file, "name: tiny\npreset: quick\n");
    const check = await runCli(["run", "-c", file, "-o", out, "--check"]);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain(`${out} is inside the pipeline run directory ${run}`);
    expect(snapshot(run)).toEqual(before);
  });

  it("keel model init and keel generate refuse it as well", async () => {
    const run = join(dir, "for-model-and-generate");
    pipelineRun(run, runs["this keel's"]);
    const before = snapshot(run);
    const init = await runCli(["model", "init", "-o", join(run, "defended", "rm"), "--json"]);
    expect(init.code, init.stderr).toBe(64);
    expect(init.stderr).toContain(`is inside the pipeline run directory ${run}`);
    const prompts = join(dir, "gen-prompts.txt");
    writeFileSync(prompts, `${JSON.stringify({ prompt: "say yes" })}\n`);
    const gen = await runCli([
      "generate",
      "--checkpoint",
      join(run, "base", "model"),
      "-p",
      prompts,
      "-o",
      join(run, "defended", "pairs.jsonl"),
    ]);
    expect(gen.code, gen.stderr).toBe(64);
    expect(gen.stderr).toContain(`is inside the pipeline run directory ${run}`);
    expect(snapshot(run)).toEqual(before);
  });

  it("finds the run through a relative path or a symbolic link, and not beside it", () => {
    const run = join(dir, "linked");
    pipelineRun(run, runs["this keel's"]);
    symlinkSync(join(run, "defended"), join(dir, "link"));
    // Found through the link's target, so named as resolved.
    expect(enclosingRun(join(dir, "link", "rm"))?.dir).toBe(realpathSync(run));
    expect(enclosingRun(relative(process.cwd(), join(run, "base")))?.dir).toBe(
      relative(process.cwd(), run),
    );
    expect(enclosingRun(run)).toBeUndefined();
    expect(enclosingRun(join(dir, "beside"))).toBeUndefined();
    // A parent with a stray state.json but no pipeline record is not a run.
    const other = join(dir, "other");
    mkdirSync(other);
    writeFileSync(join(other, "state.json"), "{}\n");
    expect(enclosingRun(join(other, "sub"))).toBeUndefined();
  });

  it("keel train, model init and generate refuse a directory inside a trainer's run", async () => {
    const run = join(dir, "sft-run");
    const made = await runCli(["train", "sft", "-c", sftYaml, "-o", run, "-q"]);
    expect(made.code, made.stderr).toBe(0);
    const before = snapshot(run);
    for (const sub of ["model", join("checkpoints", "again"), "nested"]) {
      const out = join(run, sub);
      const r = await runCli(["train", "sft", "-c", sftYaml, "-o", out, "-q"]);
      expect(r.code, `${sub}: ${r.stderr}`).toBe(64);
      expect(r.stderr).toContain(
        `KEEL_E_USAGE: ${out} is inside the train sft run directory ${run}; choose another --out`,
      );
    }
    const init = await runCli(["model", "init", "-o", join(run, "model", "fresh"), "--json"]);
    expect(init.code, init.stderr).toBe(64);
    expect(init.stderr).toContain(`is inside the train sft run directory ${run}`);
    const prompts = join(dir, "gen-prompts-2.txt");
    writeFileSync(prompts, `${JSON.stringify({ prompt: "say yes" })}\n`);
    const gen = await runCli([
      "generate",
      "--checkpoint",
      join(run, "model"),
      "-p",
      prompts,
      "-o",
      join(run, "metrics.jsonl"),
    ]);
    expect(gen.code, gen.stderr).toBe(64);
    expect(gen.stderr).toContain(`is inside the train sft run directory ${run}`);
    expect(snapshot(run)).toEqual(before);
    // The run itself is still a run to resume or refuse, not a directory inside one.
    expect(enclosingRun(run)).toBeUndefined();
  });

  it("takes an older trainer run by its manifest, but not a bare trainer config for a run", () => {
    const older = join(dir, "older-train");
    mkdirSync(older);
    writeFileSync(join(older, "config.yaml"), "trainer: rm\n");
    writeFileSync(join(older, "manifest.json"), JSON.stringify({ inputs: {}, stages: [] }));
    expect(enclosingRun(join(older, "model"))).toEqual({ dir: older, kind: "train rm" });
    // A project directory that keeps its trainer config as config.yaml holds no run.
    const project = join(dir, "project");
    mkdirSync(project);
    writeFileSync(join(project, "config.yaml"), "trainer: rm\n");
    expect(enclosingRun(join(project, "runs", "rm"))).toBeUndefined();
  });
});
