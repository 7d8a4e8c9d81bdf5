/**
 * keel's main job as one function: world → [generate] → collect → base policy → per arm (preferences,
 * reward model, policy, evaluation) → report, in one run directory, resumable stage by stage.
 */
import { existsSync } from "node:fs";
import { stringify as toYaml } from "yaml";
import type { ConfigSource } from "../core/config.js";
import { KeelError } from "../core/errors.js";
import { writeFileAtomic } from "../io/files.js";
import type { PipelineConfig } from "./config.js";
import { resolvePlan } from "./plan.js";
import { RunDir } from "./rundir.js";
import { Runner, type RunnerEvents, type Stage } from "./runner.js";
import { collectStage, preferencesStage, worldStage } from "./stages/data.js";
import { policyEvalStage, rewardEvalStage } from "./stages/evaluate.js";
import { generateStage } from "./stages/generate.js";
import { type RunSummary, reportStage } from "./stages/report.js";
import { baseStage, policyStage, rewardStage } from "./stages/train.js";

export interface PipelineOptions {
  readonly out: string;
  readonly resume?: boolean;
  readonly signal?: AbortSignal;
  readonly events?: RunnerEvents;
  readonly source?: ConfigSource;
}

export function pipelineStages(
  config: PipelineConfig,
  runDir: string,
  source?: ConfigSource,
): Stage[] {
  const plan = resolvePlan(config, runDir, source);
  // The base policy's samples need the base policy first; other candidates come before it.
  const from = config.generate.from;
  const stages: Stage[] = [
    worldStage(plan),
    ...(from === "policy" ? [baseStage(plan), generateStage(plan)] : []),
    ...(from === "provider" ? [generateStage(plan)] : []),
    collectStage(plan),
    ...(from === "policy" ? [] : [baseStage(plan)]),
    policyEvalStage(plan, "base"),
  ];
  for (const a of plan.arms) {
    stages.push(preferencesStage(plan, a.arm));
    stages.push(rewardStage(a));
    stages.push(rewardEvalStage(plan, a.arm));
    stages.push(policyStage(plan, a));
    stages.push(policyEvalStage(plan, a.arm));
  }
  stages.push(
    reportStage(
      plan,
      stages.map((s) => s.key),
    ),
  );
  return stages;
}

export interface PipelineResult {
  readonly runDir: string;
  readonly summary: RunSummary;
}

export async function runPipeline(
  config: PipelineConfig,
  o: PipelineOptions,
): Promise<PipelineResult> {
  if (!o.resume && existsSync(`${o.out}/state.json`)) {
    throw new KeelError("KEEL_E_USAGE", `${o.out} already holds a run`, {
      hint: "pass --resume to continue it, or choose another --out",
    });
  }
  // The files the run reads. The world and its panel are made from config.yaml itself; a store
  // (collect.from: store) is a live database, not hashed here: the collect stage verifies its
  // ledger.
  const run = RunDir.open(
    o.out,
    { pipeline: config.seed },
    (r) => {
      const { collect, prompts, base } = config;
      if (collect.from === "import" && collect.path && existsSync(collect.path))
        r.recordInput("collect.path", collect.path);
      if (prompts.from === "file" && prompts.path && existsSync(prompts.path))
        r.recordInput("prompts.path", prompts.path);
      if (base.checkpoint) r.recordCheckpoint("base.checkpoint", base.checkpoint);
    },
    o.resume ?? false,
  );
  const stages = pipelineStages(config, run.path, o.source);
  await writeFileAtomic(run.file("config.yaml"), toYaml(config));
  const runner = new Runner(run, stages, o.events ?? {});
  if (o.resume) runner.loadState();
  const results = await runner.runAll(o.signal ?? new AbortController().signal, o.resume ?? false);
  await run.saveManifest();
  return { runDir: run.path, summary: (results.report as { summary: RunSummary }).summary };
}
