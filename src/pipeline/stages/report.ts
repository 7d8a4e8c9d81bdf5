/**
 * The report stage: gathers every stage's outputs into `summary.json` (the evaluation metrics
 * per arm, for CI gates), `run-card.json` (governance: provenance, defenses, red-team results,
 * safeguards that fired) and the self-contained `report.html`.
 */
import { readFile } from "node:fs/promises";
import { KEEL_VERSION } from "../../core/version.js";
import { writeFileAtomic } from "../../io/files.js";
import { readJsonObject } from "../../io/json-read.js";
import {
  type PairedDifference,
  type ProbeResult,
  pairedDifference,
  type RedteamMetrics,
  type SuiteName,
} from "../../redteam/index.js";
import {
  type ArmMetrics,
  type ArmReport,
  type RunCard,
  type RunReportData,
  renderRunReport,
} from "../../report/index.js";
import { readMetrics } from "../../train/index.js";
import type { Arm } from "../config.js";
import type { Plan } from "../plan.js";
import type { Stage, StageContext, StageResult } from "../runner.js";
import type { ExampleRow, PolicyEvaluation } from "./evaluate.js";

/** An arm's entry in summary.json: the report's rates but jailbreaks and mean length. */
export type ArmSummary = Omit<ArmMetrics, "jailbreak_success" | "mean_words">;

/** Undefended minus defended, paired by probe, with a bootstrap 95% interval over probes. */
export type ArmDifference = Readonly<
  Record<
    "attack_success" | "triggered_attack_success" | "over_refusal" | "helpfulness",
    PairedDifference | null
  >
>;

export interface RunSummary {
  readonly format: "keel-run-summary/1";
  readonly name: string;
  readonly base: Omit<ArmSummary, "kl" | "rm_accuracy_clean" | "rm_accuracy_triggered">;
  readonly arms: Partial<Record<Arm, ArmSummary>>;
  /** Present when both arms ran: how sure the gap between them is. */
  readonly difference?: ArmDifference;
}

/** The paired undefended − defended differences of the summary's oracle rates. */
export function armDifference(
  undefended: readonly ProbeResult[],
  defended: readonly ProbeResult[],
  seed: number,
): ArmDifference {
  const d = (suite: SuiteName, outcome: (r: ProbeResult) => boolean) =>
    pairedDifference(undefended, defended, suite, outcome, { seed });
  return {
    attack_success: d("harmful", (r) => r.score.harmful),
    triggered_attack_success: d("trigger", (r) => r.score.harmful),
    over_refusal: d("over_refusal", (r) => r.score.refused),
    helpfulness: d("helpful", (r) => r.score.correct),
  };
}

const num = (x: unknown): number | null => (typeof x === "number" && Number.isFinite(x) ? x : null);

async function evaluation(
  ctx: StageContext,
  who: string,
): Promise<PolicyEvaluation & { results: ProbeResult[] }> {
  return JSON.parse(
    await readFile(ctx.run.file(who, "evaluate.json"), "utf8"),
  ) as PolicyEvaluation & { results: ProbeResult[] };
}

/** An evaluation's rates as the report and summary hold them: a rate with no probes is null. */
export function metricsOf(m: RedteamMetrics, extra: Partial<ArmMetrics> = {}): ArmMetrics {
  return {
    attack_success: num(m.attack_success),
    jailbreak_success: num(m.jailbreak_success),
    triggered_attack_success: num(m.triggered_attack_success),
    over_refusal: num(m.over_refusal),
    helpfulness: num(m.helpfulness),
    kl: null,
    rm_accuracy_clean: null,
    rm_accuracy_triggered: null,
    mean_words: num(m.mean_words),
    ...extra,
  };
}

function perSuite(m: RedteamMetrics): ArmReport["per_suite"] {
  return Object.fromEntries(
    Object.entries(m.per_suite).map(([s, v]) => [
      s,
      { harmful: v!.harmful, refused: v!.refused, correct: v!.correct },
    ]),
  );
}

function curveOf(ctx: StageContext, arm: Arm): ArmReport["curve"] {
  return readMetrics(ctx.run.file(arm, "policy"))
    .filter((r) => r.type === "train" && typeof r.step === "number")
    .map((r) => ({
      step: r.step as number,
      ...(num(r.score) !== null ? { score: r.score as number } : {}),
      ...(num(r.kl) !== null ? { kl: r.kl as number } : {}),
      ...(num(r.gold_reward) !== null ? { gold: r.gold_reward as number } : {}),
    }));
}

function examples(rows: readonly ExampleRow[]) {
  return rows.map((e) => ({
    suite: e.suite,
    prompt: e.prompt,
    response: e.response,
    outcome: e.outcome,
  }));
}

/** One arm's report section, its summary.json entry, and its probe results (for the gaps). */
async function armOf(
  ctx: StageContext,
  arm: Arm,
): Promise<{ report: ArmReport; summary: ArmSummary; results: ProbeResult[] }> {
  const ev = await evaluation(ctx, arm);
  const rmEval = JSON.parse(await readFile(ctx.run.file(arm, "rm-eval.json"), "utf8")) as {
    rm_accuracy_clean: number | null;
    rm_accuracy_triggered: number | null;
    bias: ArmReport["rm_bias"];
  };
  const policy = ctx.inputs[`${arm}/policy`] as StageResult;
  const metrics = metricsOf(ev.metrics, {
    kl: num(ev.kl_to_base),
    rm_accuracy_clean: num(rmEval.rm_accuracy_clean),
    rm_accuracy_triggered: num(rmEval.rm_accuracy_triggered),
  });
  return {
    report: {
      arm,
      metrics,
      per_suite: perSuite(ev.metrics),
      curve: curveOf(ctx, arm),
      rm_bias: rmEval.bias,
      policy_bias: ev.bias,
      examples: examples(ev.examples),
      events: (policy.events as ArmReport["events"]) ?? [],
      training_pairs: Number((ctx.inputs[`${arm}/preferences`] as StageResult).pairs ?? 0),
    },
    summary: {
      attack_success: metrics.attack_success,
      triggered_attack_success: metrics.triggered_attack_success,
      over_refusal: metrics.over_refusal,
      helpfulness: metrics.helpfulness,
      kl: metrics.kl,
      rm_accuracy_clean: metrics.rm_accuracy_clean,
      rm_accuracy_triggered: metrics.rm_accuracy_triggered,
    },
    results: ev.results,
  };
}

/** What the run card reads of the defended arm's audit (its comparisons passed over unparsed). */
interface AuditMembers {
  raters: { rater_id: string; verdict: string; reasons: string[] }[];
  groups: unknown[];
  triggers: { pattern: string }[];
  promotions?: { pattern: string }[];
  config?: unknown;
}

async function auditMembers(ctx: StageContext): Promise<AuditMembers> {
  const { members } = await readJsonObject(ctx.run.file("defended", "audit.json"), {
    arrays: { comparisons: "skip" },
  });
  return members as unknown as AuditMembers;
}

/** run-card.json: provenance, the defenses and what they excluded, red-team results, events. */
function runCard(
  ctx: StageContext,
  plan: Plan,
  arms: readonly ArmReport[],
  audit: AuditMembers | undefined,
): RunCard {
  const c = plan.config;
  const collect = ctx.inputs.collect as StageResult;
  const world = ctx.inputs.world as StageResult;
  const generated = ctx.inputs.generate;
  return {
    run: {
      name: c.name,
      created_at: ctx.run.manifest.created_at,
      keel_version: KEEL_VERSION,
      seed: c.seed,
      preset: c.preset,
    },
    data: {
      ledger_head: { seq: Number(collect.head_seq), hash: String(collect.head_hash) },
      ledger_verified: collect.ledger_ok === true,
      judgments: Number(collect.judgments),
      raters: Number(collect.raters ?? world.raters),
      comparisons: Number(collect.comparisons ?? world.comparisons),
      candidates: generated
        ? {
            generated_by: String(generated.generated_by),
            comparisons: Number(generated.comparisons),
          }
        : { generated_by: "world" },
    },
    defenses: {
      audit_policy: audit ? c.audit.policy : null,
      excluded_raters: (audit?.raters ?? [])
        .filter((r) => r.verdict === "excluded")
        .map((r) => ({ rater_id: r.rater_id, reasons: r.reasons })),
      suspect_raters: (audit?.raters ?? []).filter((r) => r.verdict === "suspect").length,
      groups: audit?.groups.length ?? 0,
      triggers: (audit?.triggers ?? []).slice(0, 5).map((t) => t.pattern),
      promotions: (audit?.promotions ?? []).slice(0, 5).map((p) => p.pattern),
      thresholds: audit?.config ?? null,
    },
    redteam: Object.fromEntries(arms.map((a) => [a.arm, a.metrics])),
    safeguards: arms.flatMap((a) =>
      a.events.filter((e) => e.severity !== "info").map((e) => ({ arm: a.arm, ...e })),
    ),
  };
}

export function reportStage(plan: Plan, stageKeys: readonly string[]): Stage {
  return {
    key: "report",
    title: "report: summary.json, run-card.json, report.html",
    weight: 0.3,
    // summary.json and run-card.json name the run, its seed and preset: a change to any of
    // them alone re-writes them (config.yaml says the new ones).
    config: {
      examples: plan.config.report.examples,
      name: plan.config.name,
      seed: plan.config.seed,
      preset: plan.config.preset,
    },
    after: stageKeys,
    outputs: ["summary.json", "run-card.json", "report.html"],
    async run(ctx) {
      const c = plan.config;
      const base = await evaluation(ctx, "base");
      const arms: ArmReport[] = [];
      const summaryArms: Partial<Record<Arm, ArmSummary>> = {};
      const results: Partial<Record<Arm, ProbeResult[]>> = {};
      for (const a of plan.arms) {
        const one = await armOf(ctx, a.arm);
        arms.push(one.report);
        summaryArms[a.arm] = one.summary;
        results[a.arm] = one.results;
      }
      const summary: RunSummary = {
        format: "keel-run-summary/1",
        name: c.name,
        base: {
          attack_success: num(base.metrics.attack_success),
          triggered_attack_success: num(base.metrics.triggered_attack_success),
          over_refusal: num(base.metrics.over_refusal),
          helpfulness: num(base.metrics.helpfulness),
        },
        arms: summaryArms,
        ...(results.undefended && results.defended
          ? { difference: armDifference(results.undefended, results.defended, plan.redteam.seed) }
          : {}),
      };
      const defended = ctx.inputs["defended/preferences"] as StageResult | undefined;
      const card = runCard(ctx, plan, arms, defended ? await auditMembers(ctx) : undefined);
      const data: RunReportData = {
        title: `keel: ${c.name}`,
        base: {
          metrics: metricsOf(base.metrics),
          policy_bias: base.bias,
          examples: examples(base.examples),
          per_suite: perSuite(base.metrics),
        },
        arms,
        decoding: { temperature: plan.redteam.temperature, samples: plan.redteam.samples },
        ...(defended
          ? {
              audit: {
                summary: defended.audit as Record<string, number>,
                adversaries: Number(defended.adversaries),
                adversaries_flagged: Number(defended.adversaries_flagged),
                honest: Number(defended.honest),
                honest_excluded: Number(defended.honest_excluded),
              },
            }
          : {}),
        card,
        ...(summary.difference ? { difference: summary.difference } : {}),
        timings: ctx.run.manifest.stages.map((s) => ({ stage: s.stage, seconds: s.seconds })),
      };
      await writeFileAtomic(ctx.run.file("summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
      await writeFileAtomic(ctx.run.file("run-card.json"), `${JSON.stringify(card, null, 2)}\n`);
      await writeFileAtomic(ctx.run.file("report.html"), await renderRunReport(data));
      return { summary };
    },
  };
}
