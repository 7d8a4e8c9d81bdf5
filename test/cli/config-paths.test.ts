/**
 * A config's relative paths are read from the working directory; when one is missing there but
 * found from the config's directory (or above), the error's hint says where to run keel from.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
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
