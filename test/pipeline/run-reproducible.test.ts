/**
 * What makes a run directory a faithful, reproducible record: the same config and seed give the
 * same ledger (a simulated panel's judgments are recorded at simulated time), config.yaml holds
 * every setting as resolved (and resolves back to the same stages), and each --resume is listed
 * in the manifest with what it ran again.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { canonicalJson } from "../../src/core/canonical.js";
import { type PipelineConfigInput, parsePipelineConfig } from "../../src/pipeline/config.js";
import { pipelineStages, runPipeline } from "../../src/pipeline/pipeline.js";
import { resolvePlan } from "../../src/pipeline/plan.js";
import { RunDir } from "../../src/pipeline/rundir.js";
import { Runner } from "../../src/pipeline/runner.js";
import { collectStage, worldStage } from "../../src/pipeline/stages/data.js";
import { openStore } from "../../src/store/store.js";
import { textStage, TINY_PIPELINE as tiny } from "../helpers/pipeline.js";
import { tempDir } from "../helpers/stores.js";

const stopped = () => {
  const ac = new AbortController();
  ac.abort();
  return ac.signal;
};

const read = (...p: string[]) => readFileSync(join(...p), "utf8");

describe("a run's record", () => {
  const dir = tempDir("keel-run-repro-");

  it("records a simulated panel's judgments at simulated time: the same seed, the same ledger", async () => {
    const small: PipelineConfigInput = {
      ...tiny,
      world: { ...tiny.world, comparisons: { count: 120 } },
    };
    const collect = async (out: string) => {
      const plan = resolvePlan(parsePipelineConfig(small), out);
      const run = RunDir.open(out, {}, () => undefined, false, "pipeline");
      await new Runner(run, [worldStage(plan), collectStage(plan)]).runAll(
        new AbortController().signal,
        false,
      );
      return read(out, "collect.json");
    };
    const first = await collect(join(dir, "a"));
    await new Promise((r) => setTimeout(r, 5)); // a wall clock would have moved on
    expect(await collect(join(dir, "b"))).toBe(first);
    // Each record is recorded at or after the judgment it records was made (in the simulation).
    const store = await openStore(join(dir, "a", "keel.db"));
    try {
      let n = 0;
      for await (const e of store.judgments()) {
        n++;
        expect(e.created_at).toBeDefined();
        expect(Date.parse(e.recorded_at)).toBeGreaterThanOrEqual(Date.parse(e.created_at!));
        expect(e.recorded_at.startsWith("2025-01-01")).toBe(true);
      }
      expect(n).toBe(JSON.parse(first).judgments);
    } finally {
      await store.close();
    }
  }, 120_000);

  it("writes config.yaml as resolved, which resolves to the same stages, beside the config as given", async () => {
    const out = join(dir, "resolved");
    const given: PipelineConfigInput = { ...tiny, attack: { type: "flip", rate: 0.05 } };
    const config = parsePipelineConfig(given);
    await expect(runPipeline(config, { out, signal: stopped() })).rejects.toMatchObject({
      code: "KEEL_E_INTERRUPTED",
    });
    expect(parse(read(out, "config.given.yaml"))).toEqual(JSON.parse(JSON.stringify(config)));
    const resolved = parse(read(out, "config.yaml"));
    // The preset's settings the user did not give are written out…
    expect(resolved.reward_model.optim.lr).toEqual(expect.any(Number));
    expect(resolved.policy.ppo.kl.coef).toEqual(expect.any(Number));
    expect(resolved.base.sft.optim.lr).toEqual(expect.any(Number));
    expect(resolved.world.panel.raters.length).toBeGreaterThan(1);
    expect(resolved.redteam.per_suite).toBe(3);
    // …the attack folded into the world's panel, and no path tied to where the run is.
    expect(resolved.attack).toBeUndefined();
    expect(resolved.world.panel.raters.some((r: { type: string }) => r.type === "flipper")).toBe(
      true,
    );
    expect(JSON.stringify(resolved)).not.toContain(out);
    // Given back, it is the same run: every stage keeps its fingerprint.
    const slices = (c: PipelineConfigInput) =>
      pipelineStages(parsePipelineConfig(c), out).map((s) => [s.key, canonicalJson(s.config)]);
    expect(slices(resolved)).toEqual(slices(given));
    // And resolving it again writes the same file.
    const again = join(dir, "resolved-again");
    await expect(
      runPipeline(parsePipelineConfig(resolved), { out: again, signal: stopped() }),
    ).rejects.toMatchObject({ code: "KEEL_E_INTERRUPTED" });
    expect(read(again, "config.yaml")).toBe(read(out, "config.yaml"));
    expect(stringify(resolved)).toBe(read(out, "config.yaml"));
  });

  it("lists each --resume in the manifest: when, by what, and which stages ran again and why", async () => {
    const out = join(dir, "resumes");
    const first = RunDir.open(out, { seed: 1 }, () => undefined, false, "pipeline");
    await new Runner(first, [textStage("a", "one"), textStage("b", "two")]).runAll(
      new AbortController().signal,
      false,
    );
    const manifest = () => JSON.parse(read(out, "manifest.json"));
    expect(manifest().resumes).toBeUndefined();
    // Resumed with a's settings changed and another seed: a runs again, b is kept.
    const again = RunDir.open(out, { seed: 2 }, () => undefined, true, "pipeline");
    const runner = new Runner(again, [textStage("a", "uno"), textStage("b", "two")]);
    runner.loadState();
    await runner.runAll(new AbortController().signal, true);
    const [r] = manifest().resumes;
    expect(manifest().resumes).toHaveLength(1);
    expect(r).toMatchObject({
      keel_version: manifest().keel_version,
      node_version: process.version,
      command: process.argv.slice(2),
      seeds_before: { seed: 1 },
      ran: [{ stage: "a", why: "its settings changed" }],
    });
    expect(Date.parse(r.at)).toBeGreaterThanOrEqual(Date.parse(manifest().created_at));
    expect(manifest().seeds).toEqual({ seed: 2 });
    // A second resume, with nothing to do, is listed too (and the same seeds are not repeated).
    const third = RunDir.open(out, { seed: 2 }, () => undefined, true, "pipeline");
    const r3 = new Runner(third, [textStage("a", "uno"), textStage("b", "two")]);
    r3.loadState();
    await r3.runAll(new AbortController().signal, true);
    expect(manifest().resumes).toHaveLength(2);
    expect(manifest().resumes[1].ran).toEqual([]);
    expect(manifest().resumes[1].seeds_before).toBeUndefined();
  });
});
