/**
 * Outputs that alias inputs: `keel train` refuses, before writing anything, a config file, data
 * file or starting checkpoint that is one of the files its run directory's record replaces
 * (config.yaml, manifest.json, metrics.jsonl) or lies in the model/ or checkpoints/ it fills
 * and prunes, however the path is spelled (a/../a, a symbolic link, a hard link).
 */
import {
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ownedPlaceOf } from "../../src/cli/paths-alias.js";
import { isWithin } from "../../src/io/output-target.js";
import { runCli } from "../helpers/cli.js";
import { tinyCheckpoint, tmp } from "../train/fixtures.js";

const SFT_ROWS = `${[
  { prompt: "pick one", completion: "A" },
  { prompt: "say yes", completion: "yes" },
]
  .map((r) => JSON.stringify(r))
  .join("\n")}\n`;

/** A tiny SFT config writing into `out` and reading `train` (and starting from `init`). */
function sftYaml(out: string, train: string, init?: string): string {
  return [
    "# the user's own config, comments and all",
    `out: ${out}`,
    `data: { train: ${train} }`,
    init !== undefined
      ? `model: { init: ${init} }`
      : "model:\n  arch: { d_model: 16, layers: 1, heads: 2, context: 24 }\n  tokenizer: { vocab_size: 280 }",
    "train: { steps: 2, batch_size: 2 }",
    "",
  ].join("\n");
}

describe("keel train refuses inputs its run directory would destroy", () => {
  it("--config is the run directory's config.yaml (spelled out/../out, and by a link)", async () => {
    const dir = tmp("alias-config");
    const run = join(dir, "run");
    mkdirSync(run);
    writeFileSync(join(run, "sft.jsonl"), SFT_ROWS);
    const config = join(run, "config.yaml");
    const text = sftYaml(`${run}/../run`, join(run, "sft.jsonl"));
    writeFileSync(config, text);
    symlinkSync(config, join(dir, "link.yaml"));
    for (const args of [
      ["-c", config],
      ["-c", join(dir, "link.yaml")],
      ["-c", config, "--check"],
      ["-c", join(dir, "link.yaml"), "-o", run],
    ]) {
      const r = await runCli(["train", "sft", ...args, "--threads", "1", "-q"]);
      expect(r.code, r.stderr).toBe(64);
      expect(r.stderr).toContain("KEEL_E_USAGE: --config (");
      expect(r.stderr).toContain(`${join(run, "config.yaml")}, which a new run replaces`);
      expect(r.stderr).toContain("pass --resume");
    }
    expect(readFileSync(config, "utf8")).toBe(text);
    expect(readdirSync(run).sort()).toEqual(["config.yaml", "sft.jsonl"]);
    // --resume where no run began: a new run would write over the config all the same (it said
    // "cannot resume: train.epochs changed since the run began", of a run that never began).
    const resumed = await runCli([
      "train",
      "sft",
      "-c",
      config,
      "--resume",
      "--threads",
      "1",
      "-q",
    ]);
    expect(resumed.code, resumed.stderr).toBe(64);
    expect(resumed.stderr).toContain("no run began there (it holds no manifest.json)");
    expect(readFileSync(config, "utf8")).toBe(text);
    expect(readdirSync(run).sort()).toEqual(["config.yaml", "sft.jsonl"]);
  });

  it("data.train is the run's metrics.jsonl (a hard link to it), or lies in its checkpoints/", async () => {
    const dir = tmp("alias-data");
    const run = join(dir, "run");
    mkdirSync(join(run, "checkpoints"), { recursive: true });
    const data = join(dir, "sft.jsonl");
    writeFileSync(data, SFT_ROWS);
    linkSync(data, join(run, "metrics.jsonl"));
    writeFileSync(join(run, "checkpoints", "sft.jsonl"), SFT_ROWS);
    for (const [train, place] of [
      [data, join(run, "metrics.jsonl")],
      [join(run, "checkpoints", "sft.jsonl"), `${join(run, "checkpoints")}/`],
    ] as const) {
      const file = join(dir, "sft.yaml");
      writeFileSync(file, sftYaml(run, train));
      for (const resume of [[], ["--resume"]]) {
        const r = await runCli(["train", "sft", "-c", file, ...resume, "--threads", "1", "-q"]);
        expect(r.code, r.stderr).toBe(64);
        expect(r.stderr).toContain(`${file}:3: data.train: data.train (${train}) is `);
        expect(r.stderr).toContain(place);
        expect(r.stderr).toContain(`(out: ${run}): the input would be destroyed`);
      }
    }
    expect(readFileSync(data, "utf8")).toBe(SFT_ROWS);
    expect(readFileSync(join(run, "checkpoints", "sft.jsonl"), "utf8")).toBe(SFT_ROWS);
    expect(existsSync(join(run, "manifest.json"))).toBe(false);
  });

  it("model.init lies in the run's model/, which the run saves over", async () => {
    const dir = tmp("alias-init");
    const run = join(dir, "run");
    const init = tinyCheckpoint(join(run, "model"));
    const before = readFileSync(join(init, "config.json"), "utf8");
    writeFileSync(join(dir, "sft.jsonl"), SFT_ROWS);
    const file = join(dir, "sft.yaml");
    writeFileSync(file, sftYaml(join(dir, ".", "run"), join(dir, "sft.jsonl"), init));
    const r = await runCli(["train", "sft", "-c", file, "-o", run, "--resume", "-q"]);
    expect(r.code, r.stderr).toBe(64);
    expect(r.stderr).toContain(`model.init (${init}) is inside ${join(run, "model")}/`);
    expect(r.stderr).toContain(`(--out ${run})`);
    expect(readFileSync(join(init, "config.json"), "utf8")).toBe(before);
    expect(readdirSync(run)).toEqual(["model"]);
  });

  it("an input beside the run's own files is left to be read (and survives the run)", async () => {
    const dir = tmp("alias-beside");
    const run = join(dir, "run");
    mkdirSync(run);
    writeFileSync(join(run, "sft.jsonl"), SFT_ROWS);
    const file = join(run, "sft.yaml");
    const text = sftYaml(run, join(run, "sft.jsonl"));
    writeFileSync(file, text);
    const r = await runCli(["train", "sft", "-c", file, "--threads", "1", "-q"]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(file, "utf8")).toBe(text);
    expect(readFileSync(join(run, "sft.jsonl"), "utf8")).toBe(SFT_ROWS);
  });
});

describe("paths-alias", () => {
  it("isWithin sees through a/../a and symbolic links, and not through a sibling's prefix", () => {
    const dir = tmp("alias-within");
    mkdirSync(join(dir, "out", "model"), { recursive: true });
    mkdirSync(join(dir, "outside"));
    symlinkSync(join(dir, "out", "model"), join(dir, "m"));
    expect(isWithin(join(dir, "out", "model", "x.json"), join(dir, "out/../out"))).toBe(true);
    expect(isWithin(join(dir, "m", "new.json"), join(dir, "out", "model"))).toBe(true);
    expect(isWithin(join(dir, "out"), join(dir, "out"))).toBe(true);
    expect(isWithin(join(dir, "outside", "x"), join(dir, "out"))).toBe(false);
    expect(isWithin(join(dir, "out"), join(dir, "out", "model"))).toBe(false);
  });

  it("ownedPlaceOf names the owned file or directory, and nothing for other files", () => {
    const dir = tmp("alias-owned");
    mkdirSync(join(dir, "out"));
    writeFileSync(join(dir, "data.jsonl"), "{}\n");
    linkSync(join(dir, "data.jsonl"), join(dir, "out", "metrics.jsonl"));
    const owned = { files: ["metrics.jsonl"], dirs: ["model"] };
    expect(ownedPlaceOf(join(dir, "data.jsonl"), join(dir, "out"), owned)).toBe("metrics.jsonl");
    expect(ownedPlaceOf(join(dir, "out", "model", "a"), join(dir, "out"), owned)).toBe("model/");
    expect(ownedPlaceOf(join(dir, "out", "pairs.jsonl"), join(dir, "out"), owned)).toBeUndefined();
  });
});
