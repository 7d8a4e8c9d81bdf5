/**
 * `keel experiment tradeoff` and `poison-sweep` record their own directory as a run does:
 * config.yaml and manifest.json (kind, versions, command, seeds, input hashes, timings, outputs'
 * SHA-256), while the runs inside it (cells, points) stay runs of their own.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { sha256Hex } from "../../src/core/digest.js";
import { fileSha256 } from "../../src/pipeline/rundir.js";
import { runPoisonSweep } from "../../src/pipeline/sweep.js";
import { runTradeoff } from "../../src/pipeline/tradeoff.js";
import { TINY_PIPELINE } from "../helpers/pipeline.js";
import { tempDir } from "../helpers/stores.js";
import { tinyCheckpoint } from "../train/fixtures.js";

const read = (...p: string[]) => readFileSync(join(...p), "utf8");

describe("an experiment's own record", () => {
  const dir = tempDir("keel-experiment-record-");

  it("tradeoff: config.yaml and manifest.json with the run it reads by hash", async () => {
    const from = join(dir, "run");
    mkdirSync(join(from, "world"), { recursive: true });
    mkdirSync(join(from, "defended", "rm", "model"), { recursive: true });
    writeFileSync(join(from, "config.yaml"), stringify(TINY_PIPELINE));
    writeFileSync(join(from, "world", "truth.json"), JSON.stringify({ comparisons: [] }));
    tinyCheckpoint(join(from, "base", "model"), 1);
    const out = join(dir, "tradeoff");
    await runTradeoff({ from, out, kl: [], costThresholds: [], arm: "defended" });
    const m = JSON.parse(read(out, "manifest.json"));
    expect(m.kind).toBe("experiment tradeoff");
    expect(m).toMatchObject({ node_version: process.version, platform: expect.any(String) });
    expect(m.seeds).toEqual({ "policy.ppo": 3, redteam: 11, world: 3 });
    expect(m.inputs).toEqual({
      "from/config.yaml": fileSha256(join(from, "config.yaml")),
      "from/base/model/config.json": fileSha256(join(from, "base", "model", "config.json")),
      "from/world/truth.json": fileSha256(join(from, "world", "truth.json")),
    });
    expect(m.outputs["config.yaml"]).toBe(sha256Hex(read(out, "config.yaml")));
    expect(m.outputs["tradeoff.html"]).toBe(fileSha256(join(out, "tradeoff.html")));
    expect(parse(read(out, "config.yaml"))).toMatchObject({
      experiment: "tradeoff",
      from,
      arm: "defended",
      kl: [],
      cost_thresholds: [],
    });
    // --resume lists itself, and names an input of the run that changed since.
    writeFileSync(join(from, "world", "truth.json"), JSON.stringify({ comparisons: [], x: 1 }));
    await runTradeoff({ from, out, kl: [], costThresholds: [], arm: "defended", resume: true });
    const again = JSON.parse(read(out, "manifest.json"));
    expect(again.created_at).toBe(m.created_at);
    expect(again.resumes).toHaveLength(1);
    expect(again.resumes[0].inputs_changed).toEqual(["from/world/truth.json"]);
    expect(again.inputs["from/world/truth.json"]).toBe(
      fileSha256(join(from, "world", "truth.json")),
    );
    // Its --out may not lie inside a pipeline run's directory, whose stages own what is there.
    writeFileSync(join(from, "manifest.json"), JSON.stringify({ kind: "pipeline", inputs: {} }));
    await expect(
      runTradeoff({
        from,
        out: join(from, "tradeoff"),
        kl: [],
        costThresholds: [],
        arm: "defended",
      }),
    ).rejects.toMatchObject({ code: "KEEL_E_USAGE" });
  }, 120_000);

  it("poison-sweep: config.yaml names every cell's config, manifest.json every seed, before a cell runs", async () => {
    const out = join(dir, "sweep");
    const ac = new AbortController();
    ac.abort();
    await expect(
      runPoisonSweep({
        out,
        attacks: ["flip"],
        rates: [0, 0.05],
        preset: "quick",
        seed: 5,
        resume: false,
        signal: ac.signal,
      }),
    ).rejects.toMatchObject({ code: "KEEL_E_INTERRUPTED" });
    const m = JSON.parse(read(out, "manifest.json"));
    expect(m.kind).toBe("experiment poison-sweep");
    expect(m.seeds).toEqual({
      pipeline: 5,
      world: 5,
      "base.sft": 5,
      reward_model: 5,
      "policy.ppo": 5,
      redteam: 11,
    });
    const config = parse(read(out, "config.yaml"));
    expect(config).toMatchObject({ experiment: "poison-sweep", attacks: ["flip"], seed: 5 });
    expect(Object.keys(config.cells)).toEqual(["clean", "flip-0.05"]);
    expect(config.cells["flip-0.05"].attack).toEqual({ type: "flip", rate: 0.05 });
    expect(config.cells["flip-0.05"].base.checkpoint).toBe(join(out, "clean", "base", "model"));
    // The first cell's run was begun inside it (not refused as inside another run).
    expect(JSON.parse(read(out, "clean", "manifest.json")).kind).toBe("pipeline");
  }, 120_000);
});
