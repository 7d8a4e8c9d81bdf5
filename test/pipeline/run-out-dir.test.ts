import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify as toYaml } from "yaml";
import { KEEL_VERSION } from "../../src/core/version.js";
import { type PipelineConfigInput, parsePipelineConfig } from "../../src/pipeline/config.js";
import { runPipeline } from "../../src/pipeline/pipeline.js";
import { RunDir } from "../../src/pipeline/rundir.js";
import { runCli } from "../helpers/cli.js";
import { snapshot } from "../helpers/files.js";
import { TINY_PIPELINE as tiny } from "../helpers/pipeline.js";
import { tempDir } from "../helpers/stores.js";
import { tinyCheckpoint } from "../train/fixtures.js";

const stopped = () => {
  const ac = new AbortController();
  ac.abort();
  return ac.signal;
};

const attempt = (config: PipelineConfigInput, out: string, resume: boolean) =>
  runPipeline(parsePipelineConfig(config), { out, resume, signal: stopped() });

/** A pipeline run directory as an interrupted `keel run` leaves it. */
function pipelineRun(out: string, manifest: string | object): void {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "config.yaml"), toYaml(parsePipelineConfig(tiny)));
  writeFileSync(
    join(out, "state.json"),
    JSON.stringify({ format: "keel-run-state/1", stages: {} }),
  );
  const m = typeof manifest === "string" ? manifest : JSON.stringify(manifest);
  writeFileSync(join(out, "manifest.json"), m);
}

const manifest = (keel_version: string) => ({
  kind: "pipeline",
  keel_version,
  inputs: {},
  stages: [],
  outputs: {},
  seeds: { pipeline: 3 },
});

describe("keel run's output directory", () => {
  const dir = tempDir("keel-run-out-");

  it("refuses a bare model checkpoint, with or without --resume, and leaves it as it was", async () => {
    const ckpt = tinyCheckpoint(join(dir, "ckpt"));
    const before = snapshot(ckpt);
    for (const resume of [false, true]) {
      await expect(attempt(tiny, ckpt, resume)).rejects.toMatchObject({
        code: "KEEL_E_USAGE",
        message: `${ckpt} holds a model checkpoint (config.json), not a keel run; choose another --out`,
      });
    }
    expect(snapshot(ckpt)).toEqual(before);
    const ensemble = join(dir, "ensemble");
    mkdirSync(ensemble);
    writeFileSync(join(ensemble, "ensemble.json"), JSON.stringify({ members: ["member-0"] }));
    await expect(attempt(tiny, ensemble, false)).rejects.toThrow(
      /holds a reward-model ensemble \(ensemble\.json\), not a keel run/,
    );
  });

  it("refuses any other directory with files in it (a project's feedback store, say)", async () => {
    const project = join(dir, "project");
    mkdirSync(project);
    writeFileSync(join(project, "keel.db"), "the rater app's judgments");
    writeFileSync(join(project, "notes.txt"), "mine\n");
    const before = snapshot(project);
    await expect(attempt(tiny, project, false)).rejects.toThrow(
      `${project} holds a feedback store (keel.db), not a keel run; choose another --out`,
    );
    const other = join(dir, "other");
    mkdirSync(other);
    writeFileSync(join(other, "notes.txt"), "mine\n");
    await expect(attempt(tiny, other, true)).rejects.toThrow(
      `${other} holds other files (notes.txt), not a keel run`,
    );
    expect(snapshot(project)).toEqual(before);
    // A new or empty directory is where a run goes; hidden files (.gitkeep) do not count.
    const empty = join(dir, "empty");
    mkdirSync(empty);
    writeFileSync(join(empty, ".gitkeep"), "");
    await expect(attempt(tiny, empty, false)).rejects.toMatchObject({
      code: "KEEL_E_INTERRUPTED",
    });
  });

  it("refuses a file the config reads inside the run directory, where the run would replace it", async () => {
    const out = join(dir, "reads-own");
    pipelineRun(out, manifest(KEEL_VERSION));
    // The collect stage begins by removing the run's keel.db: here, the store it was to read.
    writeFileSync(join(out, "keel.db"), "the store to collect from");
    const before = snapshot(out);
    await expect(
      attempt({ ...tiny, collect: { from: "store", path: join(out, "keel.db") } }, out, true),
    ).rejects.toMatchObject({
      code: "KEEL_E_CONFIG",
      message: expect.stringContaining(
        `collect.path: ${join(out, "keel.db")} is inside the run directory ${out}`,
      ),
    });
    writeFileSync(join(out, "prompts.jsonl"), '"Name a prime."\n');
    await expect(
      attempt({ ...tiny, prompts: { from: "file", path: join(out, "prompts.jsonl") } }, out, true),
    ).rejects.toThrow(/prompts\.path: .* is inside the run directory/);
    const ckpt = tinyCheckpoint(join(dir, "base-ckpt"));
    await expect(attempt({ ...tiny, base: { checkpoint: ckpt } }, ckpt, false)).rejects.toThrow(
      /base\.checkpoint: .* is inside the run directory/,
    );
    expect(snapshot(out)).toEqual({ ...before, "prompts.jsonl": expect.any(String) });
  });

  it("refuses to resume a run begun by another keel, or whose manifest.json is damaged", async () => {
    const older = join(dir, "older");
    pipelineRun(older, manifest("0.0.1"));
    const before = snapshot(older);
    await expect(attempt(tiny, older, true)).rejects.toMatchObject({
      code: "KEEL_E_USAGE",
      message: expect.stringContaining(
        `manifest.json: keel_version: cannot resume: ${older} was begun by keel 0.0.1; this is keel ${KEEL_VERSION}`,
      ),
    });
    expect(snapshot(older)).toEqual(before);
    const damaged = join(dir, "damaged");
    pipelineRun(damaged, JSON.stringify(manifest(KEEL_VERSION)).slice(0, 40));
    await expect(attempt(tiny, damaged, true)).rejects.toMatchObject({
      code: "KEEL_E_CHECKPOINT",
      message: expect.stringContaining("cannot resume: manifest.json is not a keel manifest"),
    });
    // The same run with its record intact resumes (and stops at once: the signal is raised).
    const intact = join(dir, "intact");
    pipelineRun(intact, manifest(KEEL_VERSION));
    await expect(attempt(tiny, intact, true)).rejects.toMatchObject({
      code: "KEEL_E_INTERRUPTED",
    });
  });

  it("keeps the manifest when Ctrl-C lands while it is being written", async () => {
    const run = new RunDir(join(dir, "ctrl-c"), { pipeline: 1 });
    // keel run's own handler (withInterrupt) stands in: the process is not meant to exit.
    const handler = () => undefined;
    process.on("SIGINT", handler);
    try {
      const saving = run.saveManifest();
      process.emit("SIGINT", "SIGINT");
      await saving;
      const writing = run.writeJson("summary.json", { ok: true });
      process.emit("SIGINT", "SIGINT");
      await writing;
    } finally {
      process.off("SIGINT", handler);
    }
    expect(RunDir.readManifest(run.path)?.seeds).toEqual({ pipeline: 1 });
    expect(JSON.parse(readFileSync(run.file("summary.json"), "utf8"))).toEqual({ ok: true });
  });
});

describe("keel run's output directory, from the command line", () => {
  const dir = tempDir("keel-run-out-cli-");
  const yaml = join(dir, "pipeline.yaml");
  writeFileSync(yaml, "name: tiny\npreset: quick\n");

  it("refuses a checkpoint as -o with exit 64, and --check says so", async () => {
    const ckpt = tinyCheckpoint(join(dir, "ckpt"));
    const before = snapshot(ckpt);
    const r = await runCli(["run", "-c", yaml, "-o", ckpt, "-q"]);
    expect(r.code, r.stderr).toBe(64);
    expect(r.stderr).toContain(
      `KEEL_E_USAGE: ${ckpt} holds a model checkpoint (config.json), not a keel run; choose another --out`,
    );
    expect(r.stderr).toContain("name it as base.checkpoint");
    const check = await runCli(["run", "-c", yaml, "-o", ckpt, "--check"]);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain(
      `${ckpt} holds a model checkpoint (config.json), not a keel run: choose another --out`,
    );
    expect(snapshot(ckpt)).toEqual(before);
  });

  it("the reverse: keel model init and keel train refuse a pipeline's run directory", async () => {
    const run = join(dir, "run");
    pipelineRun(run, manifest(KEEL_VERSION));
    const before = snapshot(run);
    const init = await runCli(["model", "init", "-o", run, "--vocab", "64", "-q"]);
    expect(init.code, init.stderr).toBe(64);
    writeFileSync(join(dir, "sft.jsonl"), '{"prompt":"say yes","completion":"yes"}\n');
    writeFileSync(
      join(dir, "sft.yaml"),
      [
        `out: ${run}`,
        `data: { train: ${join(dir, "sft.jsonl")} }`,
        "model: { arch: { d_model: 16, layers: 1, heads: 2, context: 24 }, tokenizer: { vocab_size: 280 } }",
        "train: { steps: 1 }",
      ].join("\n"),
    );
    for (const resume of [[], ["--resume"]]) {
      const train = await runCli(["train", "sft", "-c", join(dir, "sft.yaml"), ...resume, "-q"]);
      expect(train.code, train.stderr).toBe(64);
      expect(train.stderr).toContain(`${run} already holds a pipeline run; choose another --out`);
    }
    expect(snapshot(run)).toEqual(before);
  });
});
