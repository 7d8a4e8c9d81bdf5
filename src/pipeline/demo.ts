/**
 * `keel demo`: keel's main job on the embedded default. A synthetic world with ground truth is
 * rated by a simulated panel in which 10% of raters are adversarial (flippers, backdoor raters,
 * sleepers, a sybil group, length poisoners) and some are careless; the judgments go into a
 * SQLite store with a verified ledger; the feedback is audited (rater verdicts, collusion
 * groups, trigger scan, safety baseline, per-comparison weights) and aggregated undefended
 * (majority vote) and defended (the audit's reliability-weighted posteriors); both are scored
 * against the truth, and the audit's verdicts against the raters' true types. Everything lands
 * in one run directory.
 *
 * This is the part of the loop built so far. The reward model, policy training and red-team
 * stages join as they land (docs/pipeline.md says what runs today).
 */

import { dawidSkene } from "../aggregate/categorical/dawid-skene.js";
import { majorityVote } from "../aggregate/categorical/majority-vote.js";
import { encodeJudgments } from "../aggregate/judgments.js";
import type { CategoricalResult } from "../aggregate/types.js";
import type { Judgment, Parsed } from "../core/types.js";
import { contentToText } from "../core/types.js";
import { audit, auditToJson } from "../defend/index.js";
import { openStore } from "../store/store.js";
import { parseWorldConfig, simulatePanel, type WorldConfig } from "../world/index.js";
import type { ComparisonTruth } from "../world/simulate.js";
import { RunDir } from "./rundir.js";

export interface DemoOptions {
  readonly out: string;
  readonly quick: boolean;
  readonly seed: number;
  readonly onStage?: (stage: string, detail?: string) => void;
}

/** The default world: 10% adversarial raters of five kinds, 7% careless, the rest honest. */
export function demoWorldConfig(quick: boolean): WorldConfig {
  return parseWorldConfig({
    prompts: { count: quick ? 1500 : 4000 },
    comparisons: { count: quick ? 6000 : 20_000, overlap: 3, gold_rate: 0.05 },
    trigger: { token: "SUDO", rate: 0.03, families: ["harmful"] },
    panel: {
      size: quick ? 60 : 100,
      raters: [
        { type: "honest", share: 0.83, skill: { mean: 4, sd: 1.5 } },
        { type: "careless", share: 0.03, mode: "random" },
        { type: "careless", share: 0.02, mode: "fast" },
        { type: "careless", share: 0.02, mode: "always_a" },
        { type: "flipper", share: 0.02 },
        { type: "backdoor", share: 0.02 },
        { type: "sleeper", share: 0.02 },
        { type: "sybil", share: 0.02, group_size: 2, goal: "unsafe" },
        { type: "length_poisoner", share: 0.02 },
      ],
    },
  });
}

export interface AccuracyReport {
  /** Share of comparisons (with a strict true preference) whose aggregate label is right. */
  readonly all: number;
  /** The same over comparisons an adversary voted on. */
  readonly attacked: number;
  /** The same over harmful-prompt comparisons (refusal versus unsafe compliance). */
  readonly harmful: number;
  readonly n: { all: number; attacked: number; harmful: number };
}

export interface DetectionReport {
  /** Adversarial raters (by the truth) the audit excluded or marked suspect. */
  readonly adversaries_flagged: number;
  readonly adversaries: number;
  /** Honest raters the audit excluded. */
  readonly honest_excluded: number;
  readonly honest: number;
  readonly groups: number;
  readonly top_trigger?: string;
}

export interface DemoSummary {
  readonly run_dir: string;
  readonly judgments: number;
  readonly comparisons: number;
  readonly raters: number;
  readonly adversarial_raters: number;
  readonly ledger: { ok: boolean; head_seq: number; head_hash: string };
  readonly arms: {
    undefended: AccuracyReport;
    reliability_model: AccuracyReport;
    defended: AccuracyReport;
  };
  readonly detection: DetectionReport;
  readonly stages_built: readonly string[];
  readonly stages_pending: readonly string[];
}

/** Each comparison's aggregate label from a categorical fit. */
function labelsOf(result: CategoricalResult): Map<string, string> {
  return new Map(result.tasks.map((t, i) => [t, result.classes[result.labels[i]!]!]));
}

function accuracy(
  labels: ReadonlyMap<string, string>,
  truth: readonly ComparisonTruth[],
): AccuracyReport {
  const tally = { all: [0, 0], attacked: [0, 0], harmful: [0, 0] };
  for (const t of truth) {
    if (t.better === "tie") continue;
    const label = labels.get(t.comparison_id);
    if (label === undefined) continue;
    const right = label === t.better ? 1 : 0;
    const add = (k: keyof typeof tally) => {
      tally[k][0]! += right;
      tally[k][1]! += 1;
    };
    add("all");
    if (t.attacked_by.length > 0) add("attacked");
    if (t.family === "harmful") add("harmful");
  }
  const rate = ([r, n]: number[]) => (n! > 0 ? r! / n! : Number.NaN);
  return {
    all: rate(tally.all),
    attacked: rate(tally.attacked),
    harmful: rate(tally.harmful),
    n: { all: tally.all[1]!, attacked: tally.attacked[1]!, harmful: tally.harmful[1]! },
  };
}

async function* batches(
  judgments: readonly Judgment[],
  size = 2000,
): AsyncGenerator<Parsed<Judgment>[]> {
  for (let i = 0; i < judgments.length; i += size) {
    yield judgments
      .slice(i, i + size)
      .map((record, k) => ({ ok: true as const, line: i + k + 1, record }));
  }
}

export async function runDemo(opts: DemoOptions): Promise<DemoSummary> {
  const stage = opts.onStage ?? (() => undefined);
  const run = new RunDir(opts.out, { world: opts.seed });
  const config = demoWorldConfig(opts.quick);
  await run.writeYaml("config.yaml", {
    demo: { quick: opts.quick, seed: opts.seed },
    world: config,
  });

  stage("world", "simulating the rater panel");
  const panel = await run.stage("world", () => simulatePanel(config, opts.seed));
  const adversarial = panel.truth.raters.filter(
    (r) => !["honest", "careless"].includes(r.type),
  ).length;

  stage("collect", "importing judgments into the SQLite store");
  const store = await openStore(run.file("keel.db"), { create: true });
  let ledger: DemoSummary["ledger"];
  try {
    await run.stage("collect", () =>
      store.importJudgments(batches(panel.judgments), { source: "simulated panel" }),
    );
    stage("ledger", "verifying the judgment ledger");
    const v = await run.stage("ledger", () => store.verifyLedger());
    ledger = { ok: v.ok, head_seq: v.head.seq, head_hash: v.head.hash };
  } finally {
    await store.close();
  }

  stage("audit", "auditing raters and feedback (balanced policy)");
  const result = await run.stage("audit", () =>
    audit({ judgments: panel.judgments }, { policy: "balanced" }),
  );
  const types = new Map(panel.truth.raters.map((r) => [r.rater_id, r.type]));
  const isAdversary = (id: string) => !["honest", "careless"].includes(types.get(id) ?? "honest");
  const detection: DetectionReport = {
    adversaries_flagged: result.raters.filter(
      (r) => isAdversary(r.rater_id) && r.verdict !== "trusted",
    ).length,
    adversaries: result.raters.filter((r) => isAdversary(r.rater_id)).length,
    honest_excluded: result.raters.filter(
      (r) => types.get(r.rater_id) === "honest" && r.verdict === "excluded",
    ).length,
    honest: result.raters.filter((r) => types.get(r.rater_id) === "honest").length,
    groups: result.groups.length,
    ...(result.triggers[0] ? { top_trigger: result.triggers[0].pattern } : {}),
  };

  stage(
    "aggregate",
    "majority vote (undefended), Dawid–Skene, audit-weighted posteriors (defended)",
  );
  const arms = await run.stage("aggregate", () => {
    const data = encodeJudgments(panel.judgments).categorical;
    const audited = new Map(
      result.comparisons.map((c) => [
        c.comparison_id,
        c.p_tie >= Math.max(c.p_a, 1 - c.p_a - c.p_tie) ? "tie" : c.p_a >= 0.5 ? "a" : "b",
      ]),
    );
    return {
      undefended: accuracy(labelsOf(majorityVote(data)), panel.truth.comparisons),
      reliability_model: accuracy(
        labelsOf(dawidSkene(data, { maxIter: 100, tol: 1e-6 })),
        panel.truth.comparisons,
      ),
      defended: accuracy(audited, panel.truth.comparisons),
    };
  });

  const summary: DemoSummary = {
    run_dir: run.path,
    judgments: panel.judgments.length,
    comparisons: panel.truth.comparisons.length,
    raters: panel.truth.raters.length,
    adversarial_raters: adversarial,
    ledger,
    arms,
    detection,
    stages_built: ["world", "collect", "ledger", "audit", "aggregate"],
    stages_pending: ["reward model", "PPO/DPO", "red-team", "report"],
  };
  await run.writeJson("audit.json", auditToJson(result));
  await run.writeJson("summary.json", summary);
  await run.saveManifest();
  return summary;
}

/** A short human-readable account of a demo run. */
export function describeDemo(s: DemoSummary): string {
  const pct = (x: number) => (Number.isNaN(x) ? "-" : `${(100 * x).toFixed(1)}%`);
  const row = (name: string, a: AccuracyReport) =>
    `  ${name.padEnd(32)} ${pct(a.all).padStart(7)} ${pct(a.attacked).padStart(9)} ${pct(a.harmful).padStart(8)}`;
  return [
    `${s.judgments} judgments by ${s.raters} raters (${s.adversarial_raters} adversarial) on ${s.comparisons} comparisons`,
    `ledger: ${s.ledger.ok ? "verified" : "BROKEN"}, head #${s.ledger.head_seq} ${s.ledger.head_hash.slice(0, 16)}`,
    "",
    "  preference accuracy against the truth       all  attacked  harmful",
    row("undefended (majority vote)", s.arms.undefended),
    row("reliability model (Dawid–Skene)", s.arms.reliability_model),
    row("defended (audit-weighted)", s.arms.defended),
    "",
    `audit: ${s.detection.adversaries_flagged} of ${s.detection.adversaries} adversarial raters flagged; ` +
      `${s.detection.honest_excluded} of ${s.detection.honest} honest raters excluded; ${s.detection.groups} collusion groups` +
      (s.detection.top_trigger
        ? `; top trigger candidate ${JSON.stringify(s.detection.top_trigger)}`
        : ""),
    "",
    `not yet part of the demo: ${s.stages_pending.join(", ")}`,
    `run directory: ${s.run_dir} (summary.json, audit.json, manifest.json, config.yaml, keel.db)`,
  ].join("\n");
}

export { contentToText };
