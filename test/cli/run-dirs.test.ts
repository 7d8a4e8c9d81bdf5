/**
 * Output directories: a run directory is not overwritten by a run of another kind (pipeline vs
 * trainer), `keel model init` does not write over a checkpoint, and an output path that is, or
 * sits under, a regular file is KEEL_E_FILE naming it rather than a stack trace.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { writeUnanimousJudgments } from "../helpers/data.js";
import { tinyCheckpoint, tmp } from "../train/fixtures.js";

const jsonl = (rows: readonly object[]) => `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`;

/** The bytes of every file of a run's record, to show they were left as they were. */
const record = (dir: string) =>
  ["config.yaml", "manifest.json"].map((f) => readFileSync(join(dir, f), "utf8"));

describe("run directories of another kind", () => {
  const dir = tmp("run-dirs");
  writeFileSync(
    join(dir, "sft.jsonl"),
    jsonl([
      { prompt: "pick one", completion: "A" },
      { prompt: "say yes", completion: "yes" },
    ]),
  );
  const sftYaml = (out: string) => {
    const file = join(dir, `sft-${out.replaceAll("/", "_")}.yaml`);
    writeFileSync(
      file,
      [
        `out: ${out}`,
        `data: { train: ${join(dir, "sft.jsonl")} }`,
        "model:",
        "  arch: { d_model: 16, layers: 1, heads: 2, context: 24 }",
        "  tokenizer: { vocab_size: 280 }",
        "train: { steps: 2, batch_size: 2 }",
        "run: { checkpoint_every: 1 }",
      ].join("\n"),
    );
    return file;
  };
  const pipelineYaml = join(dir, "pipeline.yaml");
  writeFileSync(pipelineYaml, "name: tiny\npreset: quick\n");

  it("a trainer refuses a pipeline's run directory, and keeps its record", async () => {
    // A finished run as keel run / keel demo leave it (begun before manifests named their kind).
    const run = join(dir, "demo");
    mkdirSync(run);
    writeFileSync(join(run, "state.json"), "{}\n");
    writeFileSync(join(run, "config.yaml"), "name: demo\npreset: quick\narms: [defended]\n");
    writeFileSync(join(run, "manifest.json"), JSON.stringify({ inputs: {}, stages: [] }));
    const before = record(run);
    for (const resume of [[], ["--resume"]]) {
      const r = await runCli(["train", "sft", "-c", sftYaml(run), ...resume, "-q"]);
      expect(r.code, r.stderr).toBe(64);
      expect(r.stderr).toContain(
        `KEEL_E_USAGE: ${run} already holds a pipeline run; choose another --out`,
      );
    }
    expect(record(run)).toEqual(before);
  });

  it("the pipeline and another trainer refuse a trainer's run directory; its own --resume gets through", async () => {
    const run = join(dir, "sft");
    const trained = await runCli(["train", "sft", "-c", sftYaml(run), "--threads", "1", "-q"]);
    expect(trained.code, trained.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(run, "manifest.json"), "utf8")).kind).toBe("train sft");
    const before = record(run);
    for (const resume of [[], ["--resume"]]) {
      const r = await runCli(["run", "-c", pipelineYaml, "-o", run, ...resume, "-q"]);
      expect(r.code, r.stderr).toBe(64);
      expect(r.stderr).toContain(`${run} already holds a train sft run; choose another --out`);
    }
    const check = await runCli(["run", "-c", pipelineYaml, "-o", run, "--check"]);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain(`${run} already holds a train sft run: choose another --out`);
    const rmYaml = join(dir, "rm.yaml");
    writeFileSync(
      rmYaml,
      [
        `out: ${run}`,
        `data: { train: ${join(dir, "pairs.jsonl")} }`,
        `model: { init: ${join(run, "model")} }`,
        "train: { steps: 1 }",
      ].join("\n"),
    );
    writeFileSync(
      join(dir, "pairs.jsonl"),
      jsonl([{ prompt: "say yes", chosen: "yes", rejected: "no" }]),
    );
    const rm = await runCli(["train", "rm", "-c", rmYaml, "-q"]);
    expect(rm.code, rm.stderr).toBe(64);
    expect(rm.stderr).toContain(`${run} already holds a train sft run; choose another --out`);
    expect(record(run)).toEqual(before);
    // Its own trainer's --resume gets past the check, to the run's state: finished, so there is
    // nothing to resume.
    const resumed = await runCli(["train", "sft", "-c", sftYaml(run), "--resume", "-q"]);
    expect(resumed.code, resumed.stderr).toBe(64);
    expect(resumed.stderr).toContain(`the run in ${run} is complete`);
    expect(record(run)).toEqual(before);
  });

  it("the pipeline refuses a trainer's run begun before manifests named their kind", async () => {
    const run = join(dir, "old-sft");
    mkdirSync(run);
    writeFileSync(join(run, "config.yaml"), "trainer: sft\nout: old-sft\nseed: 1\n");
    writeFileSync(join(run, "manifest.json"), JSON.stringify({ inputs: {}, stages: [] }));
    const before = record(run);
    const r = await runCli(["run", "-c", pipelineYaml, "-o", run, "-q"]);
    expect(r.code, r.stderr).toBe(64);
    expect(r.stderr).toContain(`${run} already holds a train sft run; choose another --out`);
    expect(record(run)).toEqual(before);
  });
});

describe("keel model init's output", () => {
  const dir = tmp("model-init-out");
  const init = (out: string, ...more: string[]) =>
    runCli([
      "model",
      "init",
      "-o",
      out,
      "--vocab",
      "64",
      "--d-model",
      "16",
      "--layers",
      "1",
      "--heads",
      "2",
      "--context",
      "16",
      "-q",
      ...more,
    ]);

  it("refuses a directory that holds a checkpoint, or any file; takes an empty one", async () => {
    const out = join(dir, "m");
    expect((await init(out)).code).toBe(0);
    const config = readFileSync(join(out, "config.json"), "utf8");
    const again = await init(out, "--seed", "9");
    expect(again.code).toBe(64);
    expect(again.stderr).toContain(
      `KEEL_E_USAGE: ${out} already holds a checkpoint (config.json); choose another --out`,
    );
    expect(readFileSync(join(out, "config.json"), "utf8")).toBe(config);
    const other = join(dir, "other");
    mkdirSync(other);
    writeFileSync(join(other, "notes.txt"), "mine\n");
    const r = await init(other);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain(`${other} already holds files; choose another --out`);
    expect(readdirSync(other)).toEqual(["notes.txt"]);
    const empty = join(dir, "empty");
    mkdirSync(empty);
    expect((await init(empty)).code).toBe(0);
  });
});

describe("an output path that is, or sits under, a regular file", () => {
  const dir = tmp("out-file");
  const afile = join(dir, "afile");
  writeFileSync(afile, "");
  writeFileSync(join(dir, "pipeline.yaml"), "name: tiny\npreset: quick\n");
  writeFileSync(
    join(dir, "sft.yaml"),
    [
      `data: { train: ${join(dir, "sft.jsonl")} }`,
      "model: { arch: { d_model: 16, layers: 1, heads: 2, context: 24 }, tokenizer: { vocab_size: 280 } }",
      "train: { steps: 1 }",
    ].join("\n"),
  );
  writeFileSync(join(dir, "sft.jsonl"), jsonl([{ prompt: "say yes", completion: "yes" }]));
  const judgments = join(dir, "judgments.jsonl");
  writeUnanimousJudgments(judgments, ["r1", "r2", "r3"], ["c1", "c2"]);
  const checkpoint = tinyCheckpoint(join(dir, "ckpt"));

  const cases: [string, string[], string][] = [
    ["demo", ["demo", "--quick", "--out", afile], afile],
    [
      "run",
      ["run", "-c", join(dir, "pipeline.yaml"), "-o", join(afile, "run")],
      join(afile, "run"),
    ],
    ["train", ["train", "sft", "-c", join(dir, "sft.yaml"), "-o", afile], afile],
    ["model init", ["model", "init", "-o", afile], afile],
    [
      "model export-onnx",
      ["model", "export-onnx", "-c", checkpoint, "-o", join(afile, "x.onnx"), "--no-verify"],
      join(afile, "x.onnx"),
    ],
    [
      "aggregate",
      ["aggregate", "--in", judgments, "--out", join(afile, "a.json")],
      join(afile, "a.json"),
    ],
    ["audit", ["audit", "--in", judgments, "--out", join(afile, "a.json")], join(afile, "a.json")],
  ];
  for (const [name, args, path] of cases)
    it(`${name}: KEEL_E_FILE naming the path and the file in the way`, async () => {
      const r = await runCli([...args, "-q"]);
      expect(r.code, r.stderr).toBe(66);
      expect(r.stderr).toContain(`KEEL_E_FILE: ${path}: cannot`);
      expect(r.stderr).toContain(`${afile} is a file, not a directory`);
      expect(r.stderr).not.toContain("KEEL_E_INTERNAL");
      expect(readdirSync(dir).sort()).toEqual(
        ["afile", "ckpt", "judgments.jsonl", "pipeline.yaml", "sft.jsonl", "sft.yaml"].sort(),
      );
    });
});
