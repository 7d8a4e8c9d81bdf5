/**
 * The hints for a config's paths reach the paths an error names in its message (a pipeline's
 * `collect.path`, a trainer's checkpoint, told at the config's line), not only the file it is
 * located at; and a `~/` path, which keel does not expand, gets the full path to write.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";

const EXAMPLES = new URL("../../examples/", import.meta.url);

/** cfg/pipeline.yaml under a fresh directory, collecting judgments from `path`. */
function pipelineConfig(path: string): string {
  const dir = tempDir("keel-cfgnamed-");
  mkdirSync(join(dir, "cfg"));
  writeFileSync(join(dir, "cfg", "judgments.jsonl"), "");
  const text = readFileSync(new URL("pipeline.yaml", EXAMPLES), "utf8").replace(
    "collect: { from: panel }",
    `collect: { from: import, path: ${path} }`,
  );
  writeFileSync(join(dir, "cfg", "pipeline.yaml"), text);
  return dir;
}

describe("hints for the paths an error names", () => {
  it("keel run --check: a judgments file found beside the config names that directory", async () => {
    const dir = pipelineConfig("judgments.jsonl");
    const r = await runCli(
      ["run", "--config", "cfg/pipeline.yaml", "--out", join(dir, "run"), "--check"],
      { cwd: dir },
    );
    expect(r.code).toBe(66);
    expect(r.stderr).toContain("collect.path: no judgments file at judgments.jsonl");
    expect(r.stderr).toContain(
      "hint: paths in cfg/pipeline.yaml are relative to the directory keel runs in, not to the config file; judgments.jsonl is there from cfg",
    );
  });

  it("a ~/ path: keel does not expand it, and the hint gives the full path", async () => {
    const dir = pipelineConfig("~/judgments.jsonl");
    const r = await runCli(
      ["run", "--config", "cfg/pipeline.yaml", "--out", join(dir, "run"), "--check"],
      { cwd: dir },
    );
    expect(r.code).toBe(66);
    expect(r.stderr).toContain(
      `hint: keel does not expand ~ (a shell does on a command line, not inside a config file): ~/judgments.jsonl is read as a path under a directory called "~" where keel runs; write the full path, ${join(homedir(), "judgments.jsonl")}`,
    );
    // The same for a trainer's data file, told at that file.
    const cfg = join(dir, "cfg", "train-sft.yaml");
    copyFileSync(new URL("train-sft.yaml", EXAMPLES), cfg);
    writeFileSync(
      cfg,
      readFileSync(cfg, "utf8").replace(
        "{ world: examples/train-world.yaml }",
        "{ train: ~/keel-no-such-sft.jsonl }",
      ),
    );
    const t = await runCli(["train", "sft", "--config", cfg, "--check"], { cwd: dir });
    expect(t.code).toBe(66);
    expect(t.stderr).toContain("KEEL_E_FILE: ~/keel-no-such-sft.jsonl: cannot read");
    expect(t.stderr).toContain("hint: keel does not expand ~");
  });

  it("an aside in parentheses is not taken for a path", async () => {
    // "(no config.json in that directory)": a config.json beside the config is no hint.
    const dir = tempDir("keel-cfgnamed-");
    mkdirSync(join(dir, "cfg", "model"), { recursive: true });
    writeFileSync(join(dir, "cfg", "config.json"), "{}");
    writeFileSync(join(dir, "pairs.jsonl"), '{"prompt":"p","chosen":"a","rejected":"b"}\n');
    writeFileSync(
      join(dir, "cfg", "rm.yaml"),
      "out: run\ndata: { train: pairs.jsonl }\nmodel: { init: cfg/model }\n",
    );
    const r = await runCli(["train", "rm", "--config", "cfg/rm.yaml", "--check"], { cwd: dir });
    expect(r.code).toBe(66);
    expect(r.stderr).toContain(
      "model.init: no checkpoint at cfg/model (no config.json in that directory)",
    );
    expect(r.stderr).toContain("hint: train that model first");
  });
});
