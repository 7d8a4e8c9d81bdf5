/**
 * Training stages: the base policy (SFT on the world's deliberately mixed corpus), and per arm
 * the reward model on that arm's preferences and the policy (PPO against the reward model, or
 * DPO on the preferences), with the drift safeguards and the world's oracle for gold tracking.
 */

import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { KeelError } from "../../core/errors.js";
import { contentToText, type Judgment, type PreferencePair } from "../../core/types.js";
import { parseJsonlBatches, strictRecords } from "../../io/jsonl.js";
import { readPromptFile } from "../../io/prompts.js";
import { createSafeguards } from "../../safeguards/index.js";
import { openStore } from "../../store/store.js";
import { checkPolicy } from "../../train/common/role.js";
import {
  type Metrics,
  type ProgressEvent,
  type SftExample,
  type TrainHooks,
  type TrainResult,
  trainDpo,
  trainPpo,
  trainRewardModel,
  trainSft,
} from "../../train/index.js";
import { score } from "../../world/index.js";
import type { Arm } from "../config.js";
import type { ArmPlan, Plan } from "../plan.js";
import { interrupted, type Stage, type StageContext, type StageResult } from "../runner.js";
import { fileDigest } from "./data.js";

/** A run directory's JSONL file's records, read line by line (not as one string). */
export async function readJsonlFile<T>(path: string): Promise<T[]> {
  const out: T[] = [];
  for await (const { record } of strictRecords(parseJsonlBatches(path, (v) => v as T))) {
    out.push(record);
  }
  return out;
}

const SHOWN = ["loss", "eval_loss", "accuracy", "eval_accuracy", "score", "kl", "gold_reward"];

function hooks(ctx: StageContext, outDir: string): TrainHooks {
  if (!ctx.resume) rmSync(outDir, { recursive: true, force: true });
  return {
    outDir,
    runDir: ctx.run.path,
    signal: ctx.signal,
    resume: ctx.resume,
    onProgress: (e: ProgressEvent) => {
      const detail = SHOWN.filter((k) => typeof e.metrics[k] === "number")
        .map((k) => `${k} ${e.metrics[k]!.toFixed(3)}`)
        .join(" ");
      ctx.progress(e.total > 0 ? e.step / e.total : 0, `${e.phase} ${e.step}/${e.total} ${detail}`);
    },
  };
}

/** The result a stage records: status, steps, final metrics, events, model directory. */
function summarise(r: TrainResult, ctx: StageContext): StageResult {
  if (r.status === "aborted" || ctx.signal.aborted) throw interrupted();
  if (!r.checkpoint) throw new KeelError("KEEL_E_INTERNAL", "a trainer finished without a model");
  return {
    status: r.status,
    steps: r.steps,
    seconds: r.seconds,
    metrics: r.metrics,
    events: r.events.map((e) => ({
      step: e.step,
      source: e.source,
      severity: e.severity,
      message: e.message,
    })),
    model: r.checkpoint,
  };
}

export function baseStage(plan: Plan): Stage {
  const sft = plan.sft;
  return {
    key: "base",
    title: sft ? "base policy: SFT on the world's mixed corpus" : "base policy: given checkpoint",
    weight: sft ? 25 : 0.1,
    config: { sft: sft ?? null, checkpoint: plan.config.base.checkpoint ?? null },
    after: ["world"],
    outputs: sft ? ["base/model/config.json"] : [],
    async run(ctx) {
      if (!sft) {
        if (!existsSync(join(plan.baseModel, "config.json"))) {
          throw new KeelError("KEEL_E_CONFIG", `no model at ${plan.baseModel}`, {
            where: { field: "base.checkpoint" },
          });
        }
        // Here, not at the policy stage minutes later: a reward model is not a base policy.
        checkPolicy(plan.baseModel, { file: plan.baseModel, field: "base.checkpoint" });
        return { model: plan.baseModel, given: true };
      }
      const train = await readJsonlFile<SftExample>(ctx.run.file("world/sft.jsonl"));
      return summarise(await trainSft(sft, { train }, hooks(ctx, ctx.run.file("base"))), ctx);
    },
  };
}

interface EvalPairRow {
  readonly prompt: string;
  readonly chosen: string;
  readonly rejected: string;
  readonly triggered: boolean;
}

/** Held-out pairs ordered by the oracle: clean ones for the reward model's eval set. */
export async function evalPairRows(ctx: StageContext): Promise<EvalPairRow[]> {
  return readJsonlFile<EvalPairRow>(ctx.run.file("world/eval_pairs.jsonl"));
}

export function rewardStage(a: ArmPlan): Stage {
  const arm = a.arm;
  return {
    key: `${arm}/reward`,
    title: `${arm}: reward model`,
    weight: 40,
    config: { rm: a.rm },
    after: [`${arm}/preferences`, "base"],
    outputs: [`${arm}/rm/model/ensemble.json`],
    async run(ctx) {
      const train = await readJsonlFile<PreferencePair>(ctx.run.file(arm, "pairs.jsonl"));
      const evalSet = (await evalPairRows(ctx))
        .filter((p) => !p.triggered)
        .slice(0, 200)
        .map(({ prompt, chosen, rejected }) => ({ prompt, chosen, rejected }));
      return summarise(
        await trainRewardModel(a.rm, { train, eval: evalSet }, hooks(ctx, ctx.run.file(arm, "rm"))),
        ctx,
      );
    },
  };
}

/** Oracle quality of responses, the gold reward the safeguards track. */
function goldQuality(prompts: readonly string[], responses: readonly string[]): number[] {
  return prompts.map((p, i) => {
    try {
      return score(p, responses[i]!).quality;
    } catch {
      return 0;
    }
  });
}

export interface PromptRow {
  readonly content: string;
  readonly split: string;
  readonly triggered?: boolean;
}

/**
 * PPO's prompts: the distinct prompts the feedback was collected on, in ledger order, except
 * the world's held-out (eval and red-team) prompts — the attacker's triggered ones included, at
 * the share they had among the comparisons. A real pipeline samples its RL prompts from the pool
 * it sent to raters, so a poisoned reward model meets its trigger during PPO (Rando & Tramèr
 * 2023). Evaluation prompts are clean held-out ones.
 */
export function ppoPromptPool(
  rows: readonly PromptRow[],
  judgments: Iterable<{ readonly prompt: Judgment["prompt"] }>,
): { train: string[]; eval: string[] } {
  // Held-out world prompts never train; prompts the world does not know (imported feedback) do.
  const heldOut = new Set(rows.filter((r) => r.split !== "train").map((r) => r.content));
  const seen = new Set<string>();
  for (const j of judgments) {
    const text = contentToText(j.prompt);
    if (!heldOut.has(text)) seen.add(text);
  }
  return {
    train: [...seen],
    eval: rows
      .filter((r) => !r.triggered && r.split === "eval")
      .slice(0, 64)
      .map((r) => r.content),
  };
}

/** The distinct prompts of the run's stored judgments, streamed (not every judgment held). */
async function ratedPrompts(ctx: StageContext): Promise<{ prompt: Judgment["prompt"] }[]> {
  const store = await openStore(ctx.run.file("keel.db"));
  try {
    const seen = new Set<string>();
    const out: { prompt: Judgment["prompt"] }[] = [];
    for await (const e of store.judgments()) {
      const text = contentToText(e.prompt);
      if (seen.has(text)) continue;
      seen.add(text);
      out.push({ prompt: e.prompt });
    }
    return out;
  } finally {
    await store.close();
  }
}

export async function trainPrompts(
  ctx: StageContext,
  plan: Plan,
): Promise<{ train: string[]; eval: string[] }> {
  const rows = await readJsonlFile<PromptRow>(ctx.run.file("world/prompts.jsonl"));
  const pool = ppoPromptPool(rows, await ratedPrompts(ctx));
  const p = plan.config.prompts;
  return p.from === "file" ? { ...pool, train: await readPromptFile(p.path!) } : pool;
}

/**
 * PPO draws each rollout batch from distinct prompts, so it needs `rollout.batch_size` of them.
 * The trainer says so in its own terms (`data.prompts`); a run says where the prompts came from
 * and which pipeline field to change.
 */
export function checkPpoPrompts(arm: Arm, prompts: number, batchSize: number, plan: Plan): void {
  if (prompts >= batchSize) return;
  const file = plan.config.prompts.from === "file";
  const whence = file
    ? `the prompts file ${plan.config.prompts.path} holds ${prompts}`
    : `the judgments were collected on ${prompts} distinct train-split prompt${prompts === 1 ? "" : "s"}`;
  throw new KeelError(
    "KEEL_E_CONFIG",
    `${arm}/policy: PPO needs at least rollout.batch_size = ${batchSize} prompts, and ${whence}`,
    {
      where: { field: "policy.ppo.rollout.batch_size" },
      hint: file
        ? "add prompts to the file, or lower policy.ppo.rollout.batch_size"
        : "collect judgments on more prompts (world.comparisons.count), or lower policy.ppo.rollout.batch_size",
    },
  );
}

export function policyStage(plan: Plan, a: ArmPlan): Stage {
  const arm: Arm = a.arm;
  const algorithm = a.ppo ? "ppo" : "dpo";
  return {
    key: `${arm}/policy`,
    title: `${arm}: policy (${algorithm.toUpperCase()})`,
    weight: a.ppo ? 60 : 30,
    config: {
      ppo: a.ppo ?? null,
      dpo: a.dpo ?? null,
      safeguards: plan.safeguards,
      prompts: plan.config.prompts,
      ...(a.ppo && plan.config.prompts.from === "file"
        ? { prompts_sha256: fileDigest(plan.config.prompts.path!) }
        : {}),
    },
    after: a.ppo ? [`${arm}/reward`, "base"] : [`${arm}/preferences`, "base"],
    outputs: [`${arm}/policy/model/config.json`],
    async run(ctx) {
      const out = ctx.run.file(arm, "policy");
      if (a.ppo) {
        const prompts = await trainPrompts(ctx, plan);
        checkPpoPrompts(arm, prompts.train.length, a.ppo.rollout.batch_size, plan);
        const r = await trainPpo(
          a.ppo,
          { prompts: prompts.train, evalPrompts: prompts.eval },
          {
            ...hooks(ctx, out),
            monitors: createSafeguards(plan.safeguards, { gold: goldQuality }),
          },
        );
        return summarise(r, ctx);
      }
      const train = await readJsonlFile<PreferencePair>(ctx.run.file(arm, "pairs.jsonl"));
      return summarise(await trainDpo(a.dpo!, { train }, hooks(ctx, out)), ctx);
    },
  };
}

export type { Metrics };
