/**
 * A trainer inside a run (a pipeline stage) hashes its config with the paths under the run's
 * directory counted relative to it: the hash, which every checkpoint carries and a resume is
 * checked against, is the same wherever the run lies and however --out is spelled. A checkpoint
 * written with the literal paths' hash (before) still resumes under the same spelling.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { RunSchema } from "../../src/train/common/config.js";
import { TrainLoop } from "../../src/train/common/loop.js";

const run = RunSchema.parse({});
const config = (dir: string) => ({
  seed: 1,
  model: { init: `${dir}/base/model` },
  data: "elsewhere/base/model",
});
const loop = (dir: string, runDir?: string) =>
  new TrainLoop("rm", runDir === undefined ? {} : { runDir }, run, 10, config(dir));

describe("a trainer's config hash inside a run directory", () => {
  it("is the same for every spelling and place of the run", () => {
    const hashes = [
      loop("runs/a", "runs/a"),
      loop("./runs/a", "./runs/a"),
      loop("/srv/x/runs/a", "/srv/x/runs/a/"),
      loop("moved", "moved"),
    ].map((l) => l.configHash);
    expect(new Set(hashes).size).toBe(1);
    // Outside a run the paths are the config's own: another path, another hash.
    expect(loop("runs/a").configHash).not.toBe(loop("moved").configHash);
    // A path that only shares a prefix with the run's is not inside it.
    expect(loop("runs/ab", "runs/a").configHash).not.toBe(hashes[0]);
  });

  it("still resumes a checkpoint stamped with the literal paths' hash", () => {
    const literal = createHash("sha256")
      .update(JSON.stringify(config("runs/a")))
      .digest("hex");
    const l = loop("runs/a", "runs/a");
    expect(l.configHash).not.toBe(literal);
    expect(() => l.checkResumable({ trainer: "rm", config_hash: literal })).not.toThrow();
    expect(() => l.checkResumable({ trainer: "rm", config_hash: "0".repeat(64) })).toThrow(
      /cannot resume/,
    );
  });
});
