/**
 * Live rater scores and agreement for the admin views, composed from src/aggregate (no
 * algorithm of its own): per rater, Dawid–Skene reliability (P(label = true class) under the
 * fitted confusion matrices, gold answers clamped), leave-one-out consensus agreement, gold
 * accuracy on mixed-in gold items, position bias (share of non-tie choices that went to the
 * response shown on the left), median latency; per batch, Krippendorff's alpha and Fleiss'
 * kappa. Reliability, suspicion, verdict and reasons come from the defenses' `audit()` when
 * the board passes its result (source "audit"); without one (e.g. no judgments with texts yet)
 * the verdict is the project's pause policy applied to gold accuracy (source "policy"). A
 * reviewer's exclusion always shows as "excluded".
 */
import {
  CategoricalEncoder,
  dawidSkene,
  fleissKappa,
  krippendorffAlpha,
  looConsensusAgreement,
} from "../../aggregate/index.js";
import { compareText } from "../../core/canonical.js";
import type { Choice, ShownOrder } from "../../core/types.js";
import type { AuditResult } from "../../defend/index.js";
import type { ItemInfo, MemberStatus, Project } from "../../store/collection/index.js";

export interface ScoredJudgment {
  readonly comparison_id: string;
  readonly rater_id: string;
  readonly choice: Choice;
  readonly shown_order: ShownOrder | null;
  readonly latency_ms: number | null;
  readonly flags: string | null;
}

export type Verdict = "trusted" | "suspect" | "excluded";

export interface RaterScore {
  readonly rater_id: string;
  readonly judgments: number;
  readonly gold_seen: number;
  readonly gold_correct: number;
  readonly gold_accuracy: number | null;
  readonly reliability: number | null;
  readonly agreement: number | null;
  readonly position_bias: number | null;
  readonly median_latency_ms: number | null;
  readonly flagged: number;
  readonly suspicion: number | null;
  readonly verdict: Verdict;
  readonly verdict_source: "policy" | "audit";
  readonly reasons: readonly string[];
  /**
   * The audit's detectors that had evidence on the rater; empty: the audit could not check them
   * (its `trusted` then means not checked, not cleared); null without an audit verdict.
   */
  readonly checked_by: readonly string[] | null;
}

export interface BatchAgreement {
  readonly batch: string;
  readonly comparisons: number;
  readonly judgments: number;
  readonly complete: number;
  readonly krippendorff_alpha: number | null;
  readonly fleiss_kappa: number | null;
}

export interface ProjectScores {
  readonly raters: RaterScore[];
  readonly batches: BatchAgreement[];
}

/**
 * A figure for the wire: NaN and ±Infinity (an undefined estimate) become null, and null (the
 * audit's "not measured" reliability) stays null.
 */
export function finite(x: number | null | undefined): number | null {
  return x === undefined || x === null || !Number.isFinite(x) ? null : x;
}

/**
 * "x% is below y%" with as many decimals (up to 3) as it takes for the two to differ: whole
 * percents would say "50% is below 50%" for 100/201 under a threshold of 0.5.
 */
export function percentBelow(x: number, threshold: number): string {
  let d = 0;
  while (d < 3 && (x * 100).toFixed(d) === (threshold * 100).toFixed(d)) d++;
  return `${(x * 100).toFixed(d)}% is below ${(threshold * 100).toFixed(d)}%`;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  xs.sort((a, b) => a - b);
  const m = xs.length >> 1;
  return xs.length % 2 ? xs[m]! : (xs[m - 1]! + xs[m]!) / 2;
}

export function computeScores(
  project: Project,
  items: ReadonlyMap<string, ItemInfo>,
  judgments: readonly ScoredJudgment[],
  status: ReadonlyMap<string, MemberStatus>,
  audited?: AuditResult,
): ProjectScores {
  const fromAudit = new Map((audited?.raters ?? []).map((r) => [r.rater_id, r]));
  const enc = new CategoricalEncoder(judgments.length + 1);
  const per = new Map<
    string,
    {
      n: number;
      gs: number;
      gc: number;
      left: number;
      decided: number;
      lat: number[];
      flagged: number;
    }
  >();
  for (const j of judgments) {
    const it = items.get(j.comparison_id);
    if (it?.kind !== "task") continue;
    enc.add(j.comparison_id, j.rater_id, j.choice);
    let p = per.get(j.rater_id);
    if (!p) {
      p = { n: 0, gs: 0, gc: 0, left: 0, decided: 0, lat: [], flagged: 0 };
      per.set(j.rater_id, p);
    }
    p.n++;
    if (it.gold !== null) {
      p.gs++;
      if (j.choice === it.gold) p.gc++;
    }
    if (j.choice !== "tie") {
      p.decided++;
      const leftIsA = j.shown_order !== "ba";
      if ((j.choice === "a") === leftIsA) p.left++;
    }
    if (j.latency_ms !== null) p.lat.push(j.latency_ms);
    if (j.flags !== null && j.flags !== "[]") p.flagged++;
  }
  for (const it of items.values())
    if (it.kind === "task" && it.gold !== null) enc.addGold(it.comparison_id, it.gold);
  const data = enc.finish();
  const ds = data.task.length > 0 ? dawidSkene(data, { maxIter: 50 }) : undefined;
  const loo = data.task.length > 0 ? looConsensusAgreement(data) : undefined;
  const widx = new Map(data.workers.map((w, i) => [w, i]));
  const raters: RaterScore[] = [];
  for (const [rater_id, p] of [...per.entries()].sort((a, b) => compareText(a[0], b[0]))) {
    const w = widx.get(rater_id);
    const acc = p.gs > 0 ? p.gc / p.gs : null;
    const a = fromAudit.get(rater_id);
    const reasons: string[] = a ? [...a.reasons] : [];
    let verdict: Verdict = a?.verdict ?? "trusted";
    if (status.get(rater_id) === "excluded") {
      verdict = "excluded";
      reasons.unshift("excluded by a reviewer");
    } else if (
      !a &&
      acc !== null &&
      p.gs >= project.pause_min_gold &&
      acc < project.pause_gold_accuracy
    ) {
      verdict = "suspect";
      reasons.push(
        `gold accuracy ${p.gc}/${p.gs} = ${percentBelow(acc, project.pause_gold_accuracy)}`,
      );
    }
    raters.push({
      rater_id,
      judgments: p.n,
      gold_seen: p.gs,
      gold_correct: p.gc,
      gold_accuracy: acc,
      // The audit's figures go through `finite` too: the wire has no NaN (fastify's serializer
      // fails on it, and writes Infinity as null), and the admin page shows "—" for null.
      reliability: a
        ? finite(a.reliability)
        : w === undefined || !ds
          ? null
          : finite(ds.reliability[w]),
      agreement: w === undefined || !loo ? null : finite(loo.agreement[w]),
      position_bias: p.decided > 0 ? p.left / p.decided : null,
      median_latency_ms: median(p.lat),
      flagged: p.flagged,
      suspicion: a ? finite(a.suspicion) : null,
      verdict,
      verdict_source: a ? "audit" : "policy",
      reasons,
      checked_by: a ? a.checked_by : null,
    });
  }
  return { raters, batches: batchAgreement(project, items, judgments) };
}

function batchAgreement(
  project: Project,
  items: ReadonlyMap<string, ItemInfo>,
  judgments: readonly ScoredJudgment[],
): BatchAgreement[] {
  const byBatch = new Map<string, ScoredJudgment[]>();
  const sizes = new Map<string, number>();
  for (const it of items.values()) {
    if (it.kind !== "task") continue;
    sizes.set(it.batch, (sizes.get(it.batch) ?? 0) + 1);
    if (!byBatch.has(it.batch)) byBatch.set(it.batch, []);
  }
  for (const j of judgments) {
    const it = items.get(j.comparison_id);
    if (it && it.kind === "task") byBatch.get(it.batch)!.push(j);
  }
  const out: BatchAgreement[] = [];
  for (const [batch, js] of [...byBatch.entries()].sort((a, b) => compareText(a[0], b[0]))) {
    const enc = new CategoricalEncoder(js.length + 1);
    const per = new Map<string, number>();
    for (const j of js) {
      enc.add(j.comparison_id, j.rater_id, j.choice);
      per.set(j.comparison_id, (per.get(j.comparison_id) ?? 0) + 1);
    }
    const data = enc.finish();
    let complete = 0;
    for (const n of per.values()) if (n >= project.overlap) complete++;
    out.push({
      batch,
      comparisons: sizes.get(batch) ?? 0,
      judgments: js.length,
      complete,
      krippendorff_alpha:
        data.task.length > 0 ? finite(krippendorffAlpha(data).alpha ?? undefined) : null,
      fleiss_kappa: data.task.length > 0 ? finite(fleissKappa(data).kappa ?? undefined) : null,
    });
  }
  return out;
}
