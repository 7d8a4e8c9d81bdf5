/**
 * keel's main job as one function: world → [generate] → collect → base policy → per arm (preferences,
 * reward model, policy, evaluation) → report, in one run directory, resumable stage by stage.
 */
import { existsSync, statSync } from "node:fs";
import { sep } from "node:path";
import { stringify as toYaml } from "yaml";
import type { ConfigSource } from "../core/config.js";
import { KeelError } from "../core/errors.js";
import { KEEL_VERSION } from "../core/version.js";
import { writeFileAtomic } from "../engine/checkpoint/atomic.js";
import { hasCheckpoint } from "../engine/checkpoint/checkpoint.js";
import { canonicalPath } from "../io/output-target.js";
import { isPostgresUrl } from "../store/store.js";
import { checkPolicy } from "../train/common/role.js";
import type { PipelineConfig } from "./config.js";
import { checkPlanSizes, type Plan, resolvePlan } from "./plan.js";
import { resolvedConfig } from "./resolved.js";
import { foreignContents, lockRunDir, RunDir, refuseOtherRun } from "./rundir.js";
import { Runner, type RunnerEvents, type Stage } from "./runner.js";
import { collectStage, worldStage } from "./stages/data.js";
import { policyEvalStage, rewardEvalStage } from "./stages/evaluate.js";
import { generateStage } from "./stages/generate.js";
import { preferencesStage } from "./stages/preferences.js";
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
  return planStages(resolvePlan(config, runDir, source), source);
}

function planStages(plan: Plan, source?: ConfigSource): Stage[] {
  checkPlanSizes(plan, source);
  const config = plan.config;
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

const isFile = (path: string): boolean => {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/**
 * Every file and checkpoint the config names must be there before anything runs: a missing
 * `prompts.path` would otherwise fail at the policy stage, minutes in. KEEL_E_NOT_FOUND names
 * the config file, line and field; a base checkpoint (or an engine provider's) that is a reward
 * or cost model is KEEL_E_CHECKPOINT.
 */
export function checkPipelineInputs(config: PipelineConfig, source: ConfigSource = {}): void {
  const where = (...path: string[]) => {
    const line = source.lineOf?.(path);
    return {
      ...(source.file ? { file: source.file } : {}),
      ...(line ? { line } : {}),
      field: path.join("."),
    };
  };
  const missing = (message: string, path: string[], hint: string) =>
    new KeelError("KEEL_E_NOT_FOUND", message, { where: where(...path), hint });
  // A directory is there, but is not what the field names.
  const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();
  const dirNote = (p: string) => (isDir(p) ? " (that is a directory)" : "");
  const { collect, prompts, base, generate } = config;
  // It would fail at the collect stage, after SFT and generation, for want of judgments.
  if (collect.from === "store" && collect.path === ":memory:")
    throw new KeelError(
      "KEEL_E_CONFIG",
      ":memory: is a new, empty store, with no judgments to read",
      {
        where: where("collect", "path"),
        hint: "give the rater web app's store: its keel.db file or a postgres:// URL",
      },
    );
  if (collect.from === "import" && !isFile(collect.path!))
    throw missing(
      `no judgments file at ${collect.path}${dirNote(collect.path!)}`,
      ["collect", "path"],
      "fix the path",
    );
  if (collect.from === "store" && !isPostgresUrl(collect.path!) && !isFile(collect.path!))
    throw missing(
      `no keel store at ${collect.path}${dirNote(collect.path!)}`,
      ["collect", "path"],
      "give an existing store's file or a postgres:// URL",
    );
  if (prompts.from === "file" && !isFile(prompts.path!))
    throw missing(
      `no prompts file at ${prompts.path}${dirNote(prompts.path!)}`,
      ["prompts", "path"],
      "fix the path",
    );
  const checkpoints: [string, string[]][] = [];
  if (base.checkpoint !== undefined) checkpoints.push([base.checkpoint, ["base", "checkpoint"]]);
  const provider = generate.provider as { type?: unknown; checkpoint?: unknown } | undefined;
  if (provider?.type === "engine" && typeof provider.checkpoint === "string")
    checkpoints.push([provider.checkpoint, ["generate", "provider", "checkpoint"]]);
  for (const [dir, path] of checkpoints) {
    if (!hasCheckpoint(dir))
      throw missing(
        `no checkpoint at ${dir} (config.json missing)`,
        path,
        "train one first (keel train sft's model/ directory), or fix the path",
      );
    checkPolicy(dir, where(...path));
  }
}

/** The files and checkpoints the config names, by field. */
function inputPaths(config: PipelineConfig): [string, string[]][] {
  const { collect, prompts, base, generate } = config;
  const paths: [string, string[]][] = [];
  if (collect.from !== "panel" && !isPostgresUrl(collect.path!) && collect.path !== ":memory:")
    paths.push([collect.path!, ["collect", "path"]]);
  if (prompts.from === "file") paths.push([prompts.path!, ["prompts", "path"]]);
  if (base.checkpoint !== undefined) paths.push([base.checkpoint, ["base", "checkpoint"]]);
  const provider = generate.provider as { type?: unknown; checkpoint?: unknown } | undefined;
  if (provider?.type === "engine" && typeof provider.checkpoint === "string")
    paths.push([provider.checkpoint, ["generate", "provider", "checkpoint"]]);
  return paths;
}

/**
 * Checkpoints outside the run that the trainer overrides (`reward_model.model.init`,
 * `policy.ppo.reward.model`…) or an engine provider name, by field. A stage's fingerprint holds
 * their paths only, so the run records what they hold (their config.json, with the SHA-256 of
 * the weights) as it records base.checkpoint: a model changed at the same path is then a changed
 * input to `--resume`. Only the chosen algorithm's block counts; the other's is not read.
 */
export function externalCheckpoints(config: PipelineConfig, out: string): [string, string][] {
  const fields: string[][] = [
    ["base", "sft", "model", "init"],
    ["reward_model", "model", "init"],
    ...(config.policy.algorithm === "ppo"
      ? [
          ["policy", "ppo", "policy", "init"],
          ["policy", "ppo", "reference", "init"],
          ["policy", "ppo", "reward", "model"],
          ["policy", "ppo", "cost", "model"],
        ]
      : [
          ["policy", "dpo", "model", "init"],
          ["policy", "dpo", "reference", "init"],
        ]),
  ];
  const provider = config.generate.provider as { type?: unknown } | undefined;
  if (provider?.type === "engine") fields.push(["generate", "provider", "checkpoint"]);
  const inRun = canonicalPath(out);
  const found: [string, string][] = [];
  for (const field of fields) {
    let v: unknown = config;
    for (const k of field)
      v = typeof v === "object" && v !== null ? (v as Record<string, unknown>)[k] : undefined;
    if (typeof v !== "string") continue;
    // A model the run trains itself is covered by its stage's fingerprint.
    const p = canonicalPath(v);
    if (p === inRun || p.startsWith(`${inRun}${sep}`)) continue;
    found.push([field.join("."), v]);
  }
  return found;
}

/**
 * Where a run may be written, checked before anything is: `out` must be new, empty or a
 * pipeline run (continued with `resume`, begun by this keel) — not another kind of run, not a
 * checkpoint or any other directory with files in it — and no file the config reads may lie
 * inside it, where the run's own files would replace it (the collect stage starts by removing
 * `keel.db`; a trainer stage by removing its directory).
 */
export function checkRunDir(
  config: PipelineConfig,
  out: string,
  resume: boolean,
  source: ConfigSource = {},
): void {
  checkRunPlace(config, out, source);
  if (!resume && existsSync(`${out}/state.json`))
    throw new KeelError("KEEL_E_USAGE", `${out} already holds a run`, {
      hint: "pass --resume to continue it, or choose another --out",
    });
  const began = resume ? RunDir.readManifest(out)?.keel_version : undefined;
  // Every stage's fingerprint names the keel that ran it: under another keel each would re-run
  // and the record would mix two versions' stages.
  if (began !== undefined && began !== KEEL_VERSION)
    throw new KeelError(
      "KEEL_E_USAGE",
      `cannot resume: ${out} was begun by keel ${began}; this is keel ${KEEL_VERSION}`,
      {
        where: { file: `${out}/manifest.json`, field: "keel_version" },
        hint: `resume it with keel ${began}, or start a new run in a fresh --out`,
      },
    );
}

/**
 * `checkRunDir`'s checks of what `out` is (no input inside it, not another kind of run, not a
 * checkpoint or other files), as against what its run has done: those are asked before the
 * directory is locked, so that a directory the run may not write is not touched.
 */
function checkRunPlace(config: PipelineConfig, out: string, source: ConfigSource): void {
  const inRun = canonicalPath(out);
  for (const [path, field] of inputPaths(config)) {
    const p = canonicalPath(path);
    if (p !== inRun && !p.startsWith(`${inRun}${sep}`)) continue;
    const line = source.lineOf?.(field);
    throw new KeelError(
      "KEEL_E_CONFIG",
      `${path} is inside the run directory ${out}, where the run writes its own files`,
      {
        where: {
          ...(source.file ? { file: source.file } : {}),
          ...(line ? { line } : {}),
          field: field.join("."),
        },
        hint: "copy it out of the run directory, or choose another --out",
      },
    );
  }
  refuseOtherRun(out, "pipeline");
  const foreign = foreignContents(out);
  if (foreign !== undefined)
    throw new KeelError(
      "KEEL_E_USAGE",
      `${out} holds ${foreign}, not a keel run; choose another --out`,
      {
        hint: foreign.startsWith("a model checkpoint")
          ? "a run writes into a new or empty directory; to start from this checkpoint, name it as base.checkpoint"
          : "a run writes into a new or empty directory (or continues its own run there with --resume)",
      },
    );
}

/**
 * Every seed the run draws with, by the config field that sets it: the pipeline's own (the
 * generate stage's samples and the bias probes), and those it gives the world and each trainer
 * unless the config pins them apart, and the red-team's (its own default, not the pipeline's).
 */
export function runSeeds(plan: Plan): Record<string, number | string> {
  const c = plan.config;
  const seeds: Record<string, number | string> = { pipeline: c.seed, world: plan.world.seed };
  if (plan.sft) seeds["base.sft"] = plan.sft.seed;
  // Every arm's trainers are parsed from the same blocks: one seed each.
  const arm = plan.arms[0];
  if (arm) {
    seeds.reward_model = arm.rm.seed;
    if (arm.ppo) seeds["policy.ppo"] = arm.ppo.seed;
    if (arm.dpo) seeds["policy.dpo"] = arm.dpo.seed;
  }
  seeds.redteam = plan.redteam.seed;
  return seeds;
}

export interface PipelineResult {
  readonly runDir: string;
  readonly summary: RunSummary;
}

/**
 * Runs the pipeline into `o.out`, which it holds locked while it runs (`lockRunDir`): a second
 * run into the same directory is refused (KEEL_E_BUSY) instead of mixing its stages with this
 * one's. What the directory holds is checked under the lock.
 */
export async function runPipeline(
  config: PipelineConfig,
  o: PipelineOptions,
): Promise<PipelineResult> {
  checkPipelineInputs(config, o.source);
  checkRunPlace(config, o.out, o.source ?? {});
  const lock = lockRunDir(o.out);
  try {
    return await runLocked(config, o);
  } finally {
    lock.release();
  }
}

async function runLocked(config: PipelineConfig, o: PipelineOptions): Promise<PipelineResult> {
  checkRunDir(config, o.out, o.resume ?? false, o.source);
  // The files and checkpoints the run reads. The world and its panel are made from config.yaml
  // itself; a store (collect.from: store) is a live database, not hashed here: the collect stage
  // verifies its ledger.
  // Resolved before the directory is touched: an error in a trainer block leaves nothing behind.
  const plan = resolvePlan(config, o.out, o.source);
  const stages = planStages(plan, o.source);
  const run = RunDir.open(
    o.out,
    runSeeds(plan),
    (r) => {
      const { collect, prompts, base } = config;
      if (collect.from === "import" && collect.path && existsSync(collect.path))
        r.recordInput("collect.path", collect.path);
      if (prompts.from === "file" && prompts.path && existsSync(prompts.path))
        r.recordInput("prompts.path", prompts.path);
      if (base.checkpoint) r.recordCheckpoint("base.checkpoint", base.checkpoint);
      for (const [field, dir] of externalCheckpoints(config, o.out)) r.recordCheckpoint(field, dir);
    },
    o.resume ?? false,
    "pipeline",
  );
  // config.yaml: every setting the run uses (src/pipeline/resolved.ts); config.given.yaml: the
  // config as given, its own defaults filled in (the `attack` block, folded into config.yaml's
  // world, is still there by name).
  writeFileAtomic(run.file("config.yaml"), toYaml(resolvedConfig(plan, o.out)));
  writeFileAtomic(run.file("config.given.yaml"), toYaml(config));
  // Saved before any stage runs: a run killed in its first stage keeps the command it began
  // with, its start and the inputs a --resume is checked against.
  await run.saveManifest();
  const runner = new Runner(run, stages, o.events ?? {});
  if (o.resume) runner.loadState();
  const results = await runner.runAll(o.signal ?? new AbortController().signal, o.resume ?? false);
  // The run's outputs are its stages' (runAll lists those anew) and the configs it ran under.
  run.recordOutput("config.yaml");
  run.recordOutput("config.given.yaml");
  await run.saveManifest();
  return { runDir: run.path, summary: (results.report as { summary: RunSummary }).summary };
}
