/**
 * `audit()`: the defenses composed. Pure — judgments in, a typed result out; no I/O, no clock.
 *
 *   prepare      data.ts        columns, texts, safety verdicts, validation filters
 *   consensus    consensus.ts   leave-one-out agreement per judgment
 *   detectors    signals/*.ts   gold, reliability (Dawid–Skene), agreement, entropy, speed, position,
 *                               length, harm;  groups.ts (collusion);  triggers.ts (backdoors)
 *   findings     cohorts.ts     cohort bias (reported, never used to weigh)
 *   decision     decision.ts    suspicion, verdict, reasons, rater weight
 *   weights      weights.ts     judgment weights, cleaned p_a, comparison weights
 *   coverage     coverage.ts    which detectors had evidence on each rater; what went unchecked
 *
 * Safety verdicts come from a synchronous classifier (the rule classifier by default) or from a
 * table an asynchronous classifier filled beforehand (`precomputeSafety`).
 */
import type { GoldAnswer, Rater } from "../core/types.js";
import { textsDigest } from "./clean.js";
import { type CohortFinding, cohortFindings } from "./cohorts.js";
import { type AuditConfig, type Policy, resolveAuditConfig } from "./config.js";
import { categoricalView, fitDawidSkene, leaveOneOut } from "./consensus.js";
import { type AuditCoverage, auditCoverage, type CoverageSummary } from "./coverage.js";
import {
  type AuditData,
  type AuditDataBuilder,
  type AuditJudgment,
  prepareAuditData,
} from "./data.js";
import { decide, type RaterDecision, type Verdict } from "./decision.js";
import { ruleClassifier } from "./filters/lexicon.js";
import type { SafetyTable, SyncSafetyClassifier } from "./filters/safety.js";
import { detectGroups } from "./groups.js";
import { type PromotionPattern, scanPromotions } from "./promotion.js";
import { agreementSignal } from "./signals/agreement.js";
import { entropySignal } from "./signals/entropy.js";
import { goldSignal } from "./signals/gold.js";
import { harmSignal } from "./signals/harm.js";
import { lengthSignal } from "./signals/length.js";
import { positionSignal } from "./signals/position.js";
import { reliabilitySignal } from "./signals/reliability.js";
import type { RaterSignal, SignalContext, SignalKey, Stats } from "./signals/signal.js";
import { speedSignal } from "./signals/speed.js";
import { scanTriggers, type TriggerKind } from "./triggers.js";
import { type ComparisonOutcome, cleanedComparisons, judgmentWeights } from "./weights.js";

export interface AuditInput {
  /**
   * The judgments, or a builder they were streamed into (see `AuditDataBuilder`), which keeps
   * a large audit from holding every judgment as an object. A builder is spent by the audit.
   */
  readonly judgments: Iterable<AuditJudgment> | AuditDataBuilder;
  /** Known answers, in addition to judgments' own `gold` fields. */
  readonly gold?: Iterable<GoldAnswer>;
  /** Rater attributes (locale, cohort) for the cohort findings. */
  readonly raters?: Iterable<Rater>;
}

export interface AuditOptions {
  /**
   * A resolved config, or an override object resolved against the policy's preset (`policy`,
   * else the config's own `policy`); validated either way.
   */
  readonly config?: AuditConfig | Record<string, unknown>;
  readonly policy?: Policy;
  /** Safety baseline: a synchronous classifier or a precomputed table (default: lexicon). */
  readonly safety?: SyncSafetyClassifier | SafetyTable;
  /** Use gold answers (default true); off, the audit relies on agreement alone. */
  readonly useGold?: boolean;
  /** Raters in the agreement heatmap (most suspicious and group members first). */
  readonly heatmapRaters?: number;
  /**
   * Record each comparison's `texts` digest (default true), for an audit JSON that others
   * apply; about 8% of an audit's time, so the server's live scores, which never write one,
   * turn it off.
   */
  readonly textsDigests?: boolean;
}

export interface RaterAudit {
  readonly rater_id: string;
  /**
   * Mean cleaned probability of the labels the rater gave (see `raterAudits`); null: not
   * measured — no judgment of the rater could be checked against a gold answer or another rater.
   */
  readonly reliability: number | null;
  readonly suspicion: number;
  readonly verdict: Verdict;
  readonly reasons: readonly string[];
  readonly judgments: number;
  readonly weight: number;
  readonly evidence: Readonly<Partial<Record<SignalKey, Stats & { score: number }>>>;
  /**
   * The detectors that had evidence on the rater (coverage.ts); empty: unchecked, and a
   * `trusted` verdict then means not checked rather than cleared.
   */
  readonly checked_by: readonly SignalKey[];
}

export interface ComparisonAudit {
  readonly comparison_id: string;
  readonly p_a: number;
  readonly p_tie: number;
  readonly weight: number;
  readonly excluded: boolean;
  readonly reasons: readonly string[];
  readonly judgments: number;
  /** `textsDigest` of the comparison's texts, as read (unless `textsDigests` is off). */
  readonly texts?: string;
}

export interface GroupAudit {
  readonly rater_ids: readonly string[];
  readonly score: number;
  readonly reason: string;
  readonly agreement: number;
  readonly expected_agreement: number;
  readonly co_rated: number;
  readonly co_rating_ratio: number | null;
}

export interface TriggerAudit {
  readonly pattern: string;
  readonly score: number;
  readonly support: number;
  readonly kind: TriggerKind;
  readonly bad: number;
  readonly opportunities: number;
  readonly rate: number;
  readonly base_rate: number;
  readonly lift: number;
}

/** A name of responses some raters choose towards (promotion.ts). */
export type PromotionAudit = PromotionPattern;

export interface AuditFilters {
  readonly safety_classifier: string;
  readonly flagged_responses: number;
  readonly judgments_preferring_flagged: number;
  readonly malformed_comparisons: number;
  readonly conflicting_texts: number;
  readonly repeat_judgments: number;
  readonly duplicate_comparisons: number;
  readonly duplicate_clusters: number;
  readonly near_duplicate_comparisons: number;
}

export interface AuditSummary extends CoverageSummary {
  readonly judgments: number;
  readonly comparisons: number;
  readonly raters: number;
  readonly trusted: number;
  readonly suspect: number;
  readonly excluded: number;
  readonly excluded_comparisons: number;
  /** Σ effective judgment weight / judgments. */
  readonly kept_weight_share: number;
}

export interface AgreementMatrix {
  readonly rater_ids: readonly string[];
  /** Graded agreement on co-rated comparisons, null where the pair shared none. */
  readonly agreement: readonly (readonly (number | null)[])[];
  readonly co_rated: readonly (readonly number[])[];
}

export interface AuditResult {
  readonly policy: Policy;
  readonly config: AuditConfig;
  readonly summary: AuditSummary;
  /** Per detector, the raters it had evidence on; the group detector's baseline; warnings. */
  readonly coverage: AuditCoverage;
  readonly raters: readonly RaterAudit[];
  readonly comparisons: readonly ComparisonAudit[];
  readonly groups: readonly GroupAudit[];
  readonly triggers: readonly TriggerAudit[];
  /** Words of responses some raters choose towards far more than the others (promotion.ts). */
  readonly promotions: readonly PromotionAudit[];
  readonly findings: readonly CohortFinding[];
  readonly filters: AuditFilters;
  readonly heatmap: AgreementMatrix;
  /**
   * Effective weight of each input judgment, in input order: ω_j · weight of its comparison
   * (0 for judgments excluded outright). Not part of the audit JSON.
   */
  readonly judgmentWeights: Float64Array;
}

export function audit(input: AuditInput, options: AuditOptions = {}): AuditResult {
  // Validated even when it looks resolved: a config copied from an audit JSON's `config` and
  // edited has every top-level block, and its typos and out-of-range values must still fail.
  const config = resolveAuditConfig(options.config ?? {}, options.policy);
  const safety = options.safety ?? ruleClassifier(config.safety.rules);
  const data = prepareAuditData(input, { safety, useGold: options.useGold ?? true });
  const loo = leaveOneOut(data);
  const ctx: SignalContext = { data, loo, config };
  const view = categoricalView(data);
  const model = view.task.length > 0 ? fitDawidSkene(view) : undefined;
  const groups = detectGroups(data, config);
  const triggers = scanTriggers(data, loo, config);
  const promotions = scanPromotions(data, config);
  const signals: RaterSignal[] = [
    goldSignal(ctx),
    reliabilitySignal(ctx, model),
    agreementSignal(ctx),
    entropySignal(ctx),
    speedSignal(ctx),
    positionSignal(ctx),
    lengthSignal(ctx),
    harmSignal(ctx),
    groups.signal,
    triggers.signal,
    promotions.signal,
  ];
  const decision = decide(signals, data.nRaters, config);
  const omega = judgmentWeights(data, decision, groups.groups, config, promotions.promoted);
  const outcome = cleanedComparisons(data, omega, config, triggers.matches);
  const { raters, effective } = raterAudits(data, decision, outcome);
  const covered = auditCoverage(data, signals, groups, effective, outcome.weight, config);
  const comparisons = comparisonAudits(data, outcome, options.textsDigests ?? true);
  const count = (v: Verdict) => decision.verdict.filter((x) => x === v).length;
  let kept = 0;
  for (let j = 0; j < effective.length; j++) kept += effective[j]!;
  return {
    policy: config.policy,
    config,
    summary: {
      judgments: data.nJudgments,
      comparisons: data.nComparisons,
      raters: data.nRaters,
      trusted: count("trusted"),
      suspect: count("suspect"),
      excluded: count("excluded"),
      excluded_comparisons: comparisons.filter((c) => c.excluded).length,
      kept_weight_share: data.nJudgments > 0 ? kept / data.nJudgments : 0,
      ...covered.summary,
    },
    coverage: covered.coverage,
    raters: raters.map((r, w) => ({ ...r, checked_by: covered.checkedBy[w]! })),
    comparisons,
    groups: groups.groups.map((g) => ({
      rater_ids: g.members.map((w) => data.raterIds[w]!),
      score: g.score,
      reason: g.reason,
      agreement: g.observed,
      expected_agreement: g.expected,
      co_rated: g.coRated,
      co_rating_ratio: Number.isFinite(g.coRatio) ? g.coRatio : null,
    })),
    triggers: triggers.patterns.map((p) => ({
      pattern: p.pattern,
      score: p.score,
      support: p.support,
      kind: p.kind,
      bad: p.bad,
      opportunities: p.opportunities,
      rate: p.rate,
      base_rate: p.baseRate,
      lift: p.lift,
    })),
    promotions: promotions.patterns,
    findings: cohortFindings(data, loo, config),
    filters: filterSummary(data, safety.id),
    heatmap: agreementMatrix(
      data.raterIds,
      decision.suspicion,
      groups,
      options.heatmapRaters ?? 40,
    ),
    judgmentWeights: effective,
  };
}

/**
 * Per rater: the decision, and reliability = mean cleaned probability of the labels it gave, over
 * the judgments whose posterior holds more than the judgment itself: a gold answer, or another
 * rater's judgment the refit weighs (ω > 0). Alone on its comparison a judgment is its own
 * posterior, and a rater no one else saw came out at ~1, the best possible rater, on nothing.
 * A rater with no such judgment gets null (not measured), not 0, which reads as always wrong.
 */
function raterAudits(
  data: AuditData,
  decision: RaterDecision,
  outcome: ComparisonOutcome,
): { raters: Omit<RaterAudit, "checked_by">[]; effective: Float64Array } {
  const effective = new Float64Array(data.nJudgments);
  const relSum = new Float64Array(data.nRaters);
  const relN = new Float64Array(data.nRaters);
  const judged = new Float64Array(data.nRaters);
  const omega = outcome.judgmentWeight;
  // Judgments the refit weighs, per comparison (active ones are of distinct raters).
  const weighed = new Int32Array(data.nComparisons);
  for (let j = 0; j < data.nJudgments; j++)
    if (data.active[j] === 1 && omega[j]! > 0) weighed[data.comparison[j]!]!++;
  const gold = data.comparisons.gold;
  for (let j = 0; j < data.nJudgments; j++) {
    const w = data.rater[j]!;
    judged[w]! += 1;
    if (data.active[j] === 0) continue;
    const c = data.comparison[j]!;
    effective[j] = omega[j]! * outcome.weight[c]!;
    const p = outcome.labelProbability[j]!;
    const others = weighed[c]! - (omega[j]! > 0 ? 1 : 0);
    const checked = gold[c]! >= 0 || others > 0;
    if (checked && Number.isFinite(p)) {
      relSum[w]! += p;
      relN[w]! += 1;
    }
  }
  const raters = data.raterIds.map((id, w) => ({
    rater_id: id,
    reliability: relN[w]! > 0 ? relSum[w]! / relN[w]! : null,
    suspicion: decision.suspicion[w]!,
    verdict: decision.verdict[w]!,
    reasons: decision.reasons[w]!,
    judgments: judged[w]!,
    weight: decision.weight[w]!,
    evidence: decision.evidence[w]!,
  }));
  return { raters, effective };
}

function comparisonAudits(
  data: AuditData,
  outcome: ComparisonOutcome,
  digests: boolean,
): ComparisonAudit[] {
  const perComparison = new Int32Array(data.nComparisons);
  for (let j = 0; j < data.nJudgments; j++) perComparison[data.comparison[j]!]!++;
  return data.comparisons.ids.map((id, c) => ({
    comparison_id: id,
    p_a: outcome.pA[c]!,
    p_tie: outcome.pTie[c]!,
    weight: outcome.weight[c]!,
    excluded: outcome.weight[c]! === 0,
    reasons: outcome.reasons[c]!,
    judgments: perComparison[c]!,
    ...(digests
      ? {
          texts: textsDigest(
            data.comparisons.prompt[c]!,
            data.comparisons.a[c]!,
            data.comparisons.b[c]!,
          ),
        }
      : {}),
  }));
}

function filterSummary(data: AuditData, safetyId: string): AuditFilters {
  const t = data.comparisons;
  let flagged = 0;
  let prefers = 0;
  let dup = 0;
  let near = 0;
  const clustersSeen = new Set<number>();
  for (let c = 0; c < data.nComparisons; c++) {
    flagged += t.unsafeA[c]! + t.unsafeB[c]!;
    if (t.dupSize[c]! > 1) {
      dup++;
      clustersSeen.add(t.dupGroup[c]!);
    } else if (t.nearSize[c]! > 1) near++;
  }
  let repeats = 0;
  for (let j = 0; j < data.nJudgments; j++) {
    if (data.repeatOf[j]! >= 0) repeats++;
    if (data.active[j] === 0) continue;
    const c = data.comparison[j]!;
    const l = data.label[j]!;
    if (t.unsafeA[c] !== t.unsafeB[c] && l !== 2 && (l === 0) === (t.unsafeA[c] === 1)) prefers++;
  }
  return {
    safety_classifier: safetyId,
    flagged_responses: flagged,
    judgments_preferring_flagged: prefers,
    malformed_comparisons: t.invalid.size,
    conflicting_texts: data.conflicts,
    repeat_judgments: repeats,
    duplicate_comparisons: dup,
    duplicate_clusters: clustersSeen.size,
    near_duplicate_comparisons: near,
  };
}

function agreementMatrix(
  ids: readonly string[],
  suspicion: Float64Array,
  groups: ReturnType<typeof detectGroups>,
  limit: number,
): AgreementMatrix {
  const chosen: number[] = [];
  const add = (w: number) => {
    if (chosen.length < limit && !chosen.includes(w)) chosen.push(w);
  };
  for (const g of groups.groups) for (const w of g.members) add(w);
  // Equal suspicion (many raters at 1) goes by id: which of them make the cut must not follow
  // the order the judgments came in.
  const bySuspicion = ids
    .map((_, w) => w)
    .sort((x, y) => suspicion[y]! - suspicion[x]! || (ids[x]! < ids[y]! ? -1 : 1));
  // Half the rows for the most suspicious, the rest for the least (a reference block).
  for (const w of bySuspicion.slice(0, Math.ceil(limit / 2))) add(w);
  for (const w of bySuspicion.slice().reverse()) add(w);
  const { pairs } = groups;
  const agreement = chosen.map((i) =>
    chosen.map((j) => {
      if (i === j) return 1;
      const p = pairs.indexOf(i, j);
      return p >= 0 && pairs.co[p]! > 0 ? pairs.agree[p]! / pairs.co[p]! : null;
    }),
  );
  const coRated = chosen.map((i) =>
    chosen.map((j) => {
      if (i === j) return 0;
      const p = pairs.indexOf(i, j);
      return p >= 0 ? pairs.co[p]! : 0;
    }),
  );
  return { rater_ids: chosen.map((w) => ids[w]!), agreement, co_rated: coRated };
}
