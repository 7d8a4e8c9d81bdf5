/**
 * A config's relative paths are read from the working directory; when one is missing there but
 * found from the config's directory (or above), the error's hint says where to run keel from.
 */
import { copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";

const EXAMPLES = new URL("../../examples/", import.meta.url);

describe("paths in config files", () => {
  it("a missing world file found beside the config: the hint names that directory", async () => {
    const dir = tempDir("keel-cfg-");
    const cfg = join(dir, "cfg");
    mkdirSync(cfg);
    copyFileSync(new URL("train-world.yaml", EXAMPLES), join(cfg, "train-world.yaml"));
    const sft = readFileSync(new URL("train-sft.yaml", EXAMPLES), "utf8").replace(
      "examples/train-world.yaml",
      "train-world.yaml",
    );
    writeFileSync(join(cfg, "train-sft.yaml"), sft);
    const r = await runCli(["train", "sft", "--config", "cfg/train-sft.yaml", "--check"], {
      cwd: dir,
    });
    expect(r.code).toBe(66);
    expect(r.stderr).toContain("KEEL_E_FILE: train-world.yaml: cannot read");
    expect(r.stderr).toContain(
      "hint: paths in cfg/train-sft.yaml are relative to the directory keel runs in, not to the config file; train-world.yaml is there from cfg",
    );
    // Run from there, it is valid.
    const ok = await runCli(["train", "sft", "--config", "train-sft.yaml", "--check"], {
      cwd: cfg,
    });
    expect(ok.code, ok.stderr).toBe(0);
    // A path found nowhere keeps the plain error.
    writeFileSync(join(cfg, "lost.yaml"), sft.replace("train-world.yaml", "nowhere.yaml"));
    const lost = await runCli(["train", "sft", "--config", "cfg/lost.yaml", "--check"], {
      cwd: dir,
    });
    expect(lost.code).toBe(66);
    expect(lost.stderr).not.toContain("hint: paths in");
  });
});

describe("paths in the configs of an installed package", () => {
  it("the hint says what to copy out of node_modules, not to run keel inside it", async () => {
    const dir = tempDir("keel-cfg-pkg-");
    const shipped = join(dir, "node_modules", "keel", "examples");
    mkdirSync(shipped, { recursive: true });
    for (const f of ["train-sft.yaml", "train-world.yaml"])
      copyFileSync(new URL(f, EXAMPLES), join(shipped, f));
    const args = ["train", "sft", "--config", "node_modules/keel/examples/train-sft.yaml"];
    const r = await runCli([...args, "--check"], { cwd: dir });
    expect(r.code).toBe(66);
    expect(r.stderr).toContain("KEEL_E_FILE: examples/train-world.yaml: cannot read");
    expect(r.stderr).toContain(
      "examples/train-world.yaml is in the installed package at node_modules/keel: copy examples here (cp -r node_modules/keel/examples .)",
    );
    expect(r.stderr).not.toContain("run keel from that directory");
    // Done as the hint says, the same command is valid.
    cpSync(join(dir, "node_modules", "keel", "examples"), join(dir, "examples"), {
      recursive: true,
    });
    const ok = await runCli([...args, "--check"], { cwd: dir });
    expect(ok.code, ok.stderr).toBe(0);
  });
});
