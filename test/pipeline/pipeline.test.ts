/**
 * The whole pipeline on a tiny configuration (small world, one-layer model, a couple of PPO
 * iterations): every stage runs, the run directory holds what it should, a resumed run keeps
 * finished stages, and a config error names its field before anything trains.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/core/digest.js";
import { parsePipelineConfig } from "../../src/pipeline/config.js";
import { runPipeline } from "../../src/pipeline/pipeline.js";
import { resolvePlan } from "../../src/pipeline/plan.js";
import { TINY_PIPELINE as tiny } from "../helpers/pipeline.js";
import { openReport } from "../helpers/report-page.js";
import { tempDir } from "../helpers/stores.js";

describe("the pipeline", () => {
  const dir = tempDir();

  it("runs every stage into one run directory and resumes without redoing finished stages", async () => {
    const out = join(dir, "run");
    const stages: string[] = [];
    const r = await runPipeline(parsePipelineConfig(tiny), {
      out,
      events: {
        onStageStart: (_i, _n, s, skipped) =>
          void stages.push(`${s.key}${skipped ? " (kept)" : ""}`),
      },
    });
    expect(stages).toEqual([
      "world",
      "collect",
      "base",
      "base/evaluate",
      "undefended/preferences",
      "undefended/reward",
      "undefended/rm-eval",
      "undefended/policy",
      "undefended/evaluate",
      "defended/preferences",
      "defended/reward",
      "defended/rm-eval",
      "defended/policy",
      "defended/evaluate",
      "report",
    ]);
    for (const f of [
      "report.html",
      "summary.json",
      "run-card.json",
      "manifest.json",
      "config.yaml",
      "keel.db",
      "defended/audit.html",
    ]) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
    expect(summary).toEqual(r.summary);
    for (const arm of ["undefended", "defended"]) {
      for (const k of [
        "attack_success",
        "triggered_attack_success",
        "over_refusal",
        "helpfulness",
        "kl",
        "rm_accuracy_clean",
        "rm_accuracy_triggered",
      ]) {
        expect(summary.arms[arm], `${arm}.${k}`).toHaveProperty(k);
        const v = summary.arms[arm][k];
        expect(
          v === null || (typeof v === "number" && Number.isFinite(v)),
          `${arm}.${k}=${v}`,
        ).toBe(true);
      }
    }
    // The gap between the arms, paired by probe, with its interval.
    const gap = summary.difference.attack_success;
    expect(gap.probes).toBeGreaterThan(0);
    expect(gap.ci95[0]).toBeLessThanOrEqual(gap.estimate);
    expect(gap.ci95[1]).toBeGreaterThanOrEqual(gap.estimate);
    expect(gap.estimate).toBeCloseTo(
      summary.arms.undefended.attack_success - summary.arms.defended.attack_success,
      10,
    );
    // Every probe is sampled `redteam.samples` times (default 8): a rate averages them.
    const evaluation = JSON.parse(readFileSync(join(out, "base", "evaluate.json"), "utf8"));
    const harmful = evaluation.results.filter((x: { suite: string }) => x.suite === "harmful");
    expect(evaluation.metrics.per_suite.harmful.n).toBe(harmful.length);
    expect(harmful.length).toBeGreaterThan(0);
    expect(harmful.length % 8).toBe(0);
    expect(new Set(harmful.map((x: { prompt_id: string }) => x.prompt_id)).size).toBe(
      harmful.length / 8,
    );
    const card = JSON.parse(readFileSync(join(out, "run-card.json"), "utf8"));
    expect(card.data.ledger_verified).toBe(true);
    expect(card.data.judgments).toBeGreaterThan(1000);
    expect(card.defenses.audit_policy).toBe("balanced");
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    expect(manifest.seeds).toEqual({
      pipeline: 3,
      world: 3,
      "base.sft": 3,
      reward_model: 3,
      "policy.ppo": 3,
      redteam: 11,
    });
    for (const f of ["summary.json", "config.yaml", "config.given.yaml"])
      expect(manifest.outputs[f], f).toBe(sha256Hex(readFileSync(join(out, f), "latin1")));
    const html = readFileSync(join(out, "report.html"), "utf8");
    expect(html).toContain("<svg");
    expect(html).not.toMatch(/<script/i);
    // The examples are said to be what they are: one of the 8 answers sampled per probe.
    expect(html).toContain("sampled at temperature 1 (one of 8 answers to each probe)");
    // The run's own report.html in Chromium: no console errors, no requests, marks in every chart.
    const seen = await openReport(join(out, "report.html"));
    expect(seen.errors).toEqual([]);
    expect(seen.requests).toEqual([]);
    expect(seen.chartMarks.length).toBeGreaterThanOrEqual(4);
    for (const marks of seen.chartMarks) expect(marks).toBeGreaterThan(0);

    // Without --resume an existing run is not overwritten; with it, finished stages are kept.
    await expect(runPipeline(parsePipelineConfig(tiny), { out })).rejects.toMatchObject({
      code: "KEEL_E_USAGE",
    });
    const kept: string[] = [];
    const again = await runPipeline(parsePipelineConfig(tiny), {
      out,
      resume: true,
      events: { onStageStart: (_i, _n, s, skipped) => void (skipped && kept.push(s.key)) },
    });
    expect(kept.length).toBe(15);
    expect(again.summary).toEqual(r.summary);

    // A changed red-team setting re-runs only the evaluations and the report.
    const rerun: string[] = [];
    await runPipeline(parsePipelineConfig({ ...tiny, redteam: { ...tiny.redteam, seed: 99 } }), {
      out,
      resume: true,
      events: { onStageStart: (_i, _n, s, skipped) => void (!skipped && rerun.push(s.key)) },
    });
    expect(rerun).toEqual(["base/evaluate", "undefended/evaluate", "defended/evaluate", "report"]);
  }, 600_000);

  it("collects from a judgments file or from another store whose ledger verifies", async () => {
    const first = join(dir, "run");
    const sourceDb = join(first, "keel.db");
    const source = JSON.parse(readFileSync(join(first, "collect.json"), "utf8"));
    // From a store (the rater web app's, say): the same judgments, the source's head recorded.
    const fromStore = join(dir, "from-store");
    const rs = await runPipeline(
      parsePipelineConfig({
        ...tiny,
        arms: ["defended"],
        base: { checkpoint: join(first, "base", "model") },
        collect: { from: "store", path: sourceDb },
      }),
      { out: fromStore },
    );
    const cs = JSON.parse(readFileSync(join(fromStore, "collect.json"), "utf8"));
    expect(cs).toMatchObject({ from: "store", judgments: source.judgments, ledger_ok: true });
    // The source's verified head is recorded; the run's own ledger is a new chain (new times).
    expect(cs.source_head_hash).toBe(source.head_hash);
    expect(cs.source_head_seq).toBe(source.head_seq);
    expect(rs.summary.arms.defended).toBeDefined();
    // From a file, in a format keel import reads: its digest is recorded.
    const fromFile = join(dir, "from-file");
    const file = join(first, "world", "judgments.jsonl");
    // … and PPO on the user's own prompts.
    const promptFile = join(dir, "prompts.jsonl");
    writeFileSync(
      promptFile,
      Array.from({ length: 10 }, (_, k) =>
        JSON.stringify({ prompt: `Name a prime above ${k}.` }),
      ).join("\n"),
    );
    await runPipeline(
      parsePipelineConfig({
        ...tiny,
        arms: ["undefended"],
        base: { checkpoint: join(first, "base", "model") },
        collect: { from: "import", path: file },
        prompts: { from: "file", path: promptFile },
      }),
      { out: fromFile },
    );
    const cf = JSON.parse(readFileSync(join(fromFile, "collect.json"), "utf8"));
    expect(cf).toMatchObject({ from: "import", format: "judgments", judgments: source.judgments });
    expect(cf.sha256).toMatch(/^[0-9a-f]{64}$/);
    // The manifest records every file the run read: the same digest, the prompts, the base.
    const fm = JSON.parse(readFileSync(join(fromFile, "manifest.json"), "utf8"));
    expect(fm.inputs["collect.path"]).toBe(cf.sha256);
    expect(Object.keys(fm.inputs).sort()).toEqual([
      "base.checkpoint/config.json",
      "collect.path",
      "prompts.path",
    ]);
    const state = JSON.parse(readFileSync(join(fromFile, "state.json"), "utf8"));
    expect(state.stages["undefended/policy"].result.status).toBe("completed");
    expect(() => parsePipelineConfig({ ...tiny, prompts: { from: "file" } })).toThrow(
      /prompts\.path/,
    );
    expect(() => parsePipelineConfig({ ...tiny, collect: { from: "store" } })).toThrow(
      /collect\.path/,
    );
  }, 600_000);

  it("traces the helpful-versus-harmless trade-off from the finished run (KL and Lagrangian points)", async () => {
    const { runTradeoff } = await import("../../src/pipeline/tradeoff.js");
    const out = join(dir, "tradeoff");
    const points = await runTradeoff({
      from: join(dir, "run"),
      out,
      kl: [0.05, 0.5],
      costThresholds: [0],
      arm: "defended",
    });
    expect(points.map((p) => `${p.mode}:${p.value}`)).toEqual([
      "kl:0.05",
      "kl:0.5",
      "lagrangian:0",
    ]);
    for (const p of points) {
      for (const k of [
        "helpfulness",
        "jailbreak_success",
        "attack_success",
        "over_refusal",
      ] as const) {
        expect(p[k] >= 0 && p[k] <= 1, `${p.mode}:${p.value} ${k}=${p[k]}`).toBe(true);
      }
    }
    expect(existsSync(join(out, "cost", "model"))).toBe(true);
    expect(readFileSync(join(out, "tradeoff.html"), "utf8")).toContain("<svg");
    // The experiment's own record: each point's timing and the SHA-256 of what it wrote.
    const record = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    expect(record.stages.map((s: { stage: string }) => s.stage)).toEqual([
      "cost",
      "kl-0.05",
      "kl-0.5",
      "lagrangian-0",
    ]);
    expect(record.outputs["kl-0.5/point.json"]).toBe(
      sha256Hex(readFileSync(join(out, "kl-0.5", "point.json"), "utf8")),
    );
    expect(record.outputs["lagrangian-0/model/config.json"]).toEqual(expect.any(String));
    // --resume keeps every point finished from the same inputs (nothing is trained again)…
    const log = (label: string) => readFileSync(join(out, label, "metrics.jsonl"), "utf8");
    const logs = ["kl-0.05", "kl-0.5", "lagrangian-0"].map(log);
    writeFileSync(join(out, "kl-0.05", "model", "kept.txt"), "");
    // …and a point whose red-teaming was cut short is red-teamed again from its finished PPO run.
    rmSync(join(out, "kl-0.5", "point.json"));
    const kept: boolean[] = [];
    // …under another spelling of the same directories too (the source hashed them literally).
    const again = await runTradeoff({
      from: `${relative(process.cwd(), join(dir, "run"))}/`,
      out: `${out}/./`,
      kl: [0.05, 0.5],
      costThresholds: [0],
      arm: "defended",
      resume: true,
      onPoint: (_label, _i, _n, k) => void kept.push(k),
    });
    expect(kept).toEqual([true, false, true]);
    expect(again).toEqual(points);
    expect(["kl-0.05", "kl-0.5", "lagrangian-0"].map(log)).toEqual(logs);
    expect(existsSync(join(out, "kl-0.05", "model", "kept.txt"))).toBe(true);
    // A point's saved result from other inputs (another KL setting's PPO config) is not kept.
    const source = join(out, "kl-0.05", "source.json");
    writeFileSync(source, readFileSync(source, "utf8").replace(/"ppo":"[0-9a-f]+"/, '"ppo":"0"'));
    const other: boolean[] = [];
    await runTradeoff({
      from: join(dir, "run"),
      out,
      kl: [0.05],
      costThresholds: [],
      arm: "defended",
      resume: true,
      onPoint: (_label, _i, _n, k) => void other.push(k),
    });
    expect(other).toEqual([false]);
    expect(existsSync(join(out, "kl-0.05", "model", "kept.txt"))).toBe(false);
    // Again from the same run: its cost model is kept, not trained again.
    writeFileSync(join(out, "cost", "model", "kept.txt"), "");
    await runTradeoff({
      from: join(dir, "run"),
      out,
      kl: [],
      costThresholds: [0],
      arm: "defended",
    });
    expect(existsSync(join(out, "cost", "model", "kept.txt"))).toBe(true);
    await expect(
      runTradeoff({ from: join(dir, "nope"), out, kl: [0.1], costThresholds: [], arm: "defended" }),
    ).rejects.toThrow(/not a finished keel run/);
  }, 600_000);

  it("names the field of a bad setting before training anything", async () => {
    expect(() => parsePipelineConfig({ ...tiny, arms: ["defended", "defended"] })).toThrow(/arms/);
    expect(() => parsePipelineConfig({ ...tiny, bogus: 1 })).toThrow(/bogus/);
    expect(() => parsePipelineConfig({ ...tiny, redteam: { temperature: 0, samples: 4 } })).toThrow(
      /redteam\.samples.*greedy|greedy/,
    );
    expect(() => parsePipelineConfig({ ...tiny, redteam: { shots: 0 } })).toThrow(/redteam\.shots/);
    const shots = resolvePlan(parsePipelineConfig({ ...tiny, redteam: { shots: 2 } }), dir);
    expect(shots.redteam.shots).toBe(2);
    expect(resolvePlan(parsePipelineConfig(tiny), dir).redteam.shots).toBe(8);
    const bad = parsePipelineConfig({ ...tiny, reward_model: { train: { epochz: 1 } } });
    const out = join(dir, "bad");
    await expect(runPipeline(bad, { out })).rejects.toThrow(/reward_model\.train\.epochz/);
    expect(existsSync(join(out, "world"))).toBe(false);
  });
});
