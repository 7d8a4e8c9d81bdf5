/**
 * From rater verdicts to what the reward model trains on: a weight per judgment, a cleaned
 * preference p_a per comparison, and a weight per comparison.
 *
 * Judgment weight (0 for inactive judgments — repeats, malformed comparisons):
 *   ω_j = weight(rater) · 1/k_g(j) · f_unsafe(j) · f_promoted(j)
 *     k_g(j)    = members of the rater's collusion group among the comparison's raters
 *                 (a group shares one vote on each comparison it floods)
 *     f_unsafe  = weights.unsafe_preference if j prefers a flagged response over an unflagged
 *                 one, else 1
 *     f_promoted = weights.promoted_choice if j chose the side of a reported name its rater
 *                 leans to (promotion.ts), else 1
 *
 * Cleaned posterior: Dawid–Skene is refitted on the judgments with ω_j > 0 (so excluded raters
 * shape neither the truth nor anyone's confusion matrix), then each comparison's posterior is
 * tempered by the weights:
 *   log P_t(k) = log π_k + Σ_{j∈t} ω_j log Π_{w(j)}(k, l_j) + const,   p_a = P(a) + ½ P(tie)
 * A gold comparison's posterior is its gold answer.
 *
 * Comparison weight — how much the comparison should count as a training example; the
 * uncertainty of its label is in p_a, not here:
 *   weight_t = min(1, Σ_j ω_j / full_weight_mass) · 1/dup_t · f_flagged(t)
 *     dup_t     = size of its exact-duplicate cluster (policy `share`, clusters of at least
 *                 duplicate_min_cluster), else 1
 *     f_flagged = weights.aggregate_prefers_flagged if the cleaned p_a still prefers the flagged
 *                 response of a comparison with exactly one flagged response, else 1
 *   excluded_t = weight_t = 0 (malformed, or no trusted judgment left).
 */
import type { CategoricalResult } from "../aggregate/index.js";
import type { AuditConfig } from "./config.js";
import { categoricalView, fitDawidSkene } from "./consensus.js";
import { type AuditData, LABEL_A, LABEL_B, LABEL_TIE } from "./data.js";
import type { RaterDecision } from "./decision.js";
import type { RaterGroup } from "./groups.js";

export interface ComparisonOutcome {
  readonly pA: Float64Array;
  readonly pTie: Float64Array;
  readonly weight: Float64Array;
  /** Σ ω_j over the comparison's judgments. */
  readonly mass: Float64Array;
  readonly reasons: readonly (readonly string[])[];
  /** ω_j per judgment (input order). */
  readonly judgmentWeight: Float64Array;
  /** The refitted model (for reliabilities). */
  readonly fit: CategoricalResult | undefined;
  /** P(label given | cleaned posterior), per judgment (NaN for inactive ones). */
  readonly labelProbability: Float64Array;
}

export function judgmentWeights(
  data: AuditData,
  decision: RaterDecision,
  groups: readonly RaterGroup[],
  config: AuditConfig,
  promoted?: Uint8Array,
): Float64Array {
  const omega = new Float64Array(data.nJudgments);
  const groupOf = new Int32Array(data.nRaters).fill(-1);
  groups.forEach((g, gi) => {
    for (const w of g.members) groupOf[w] = gi;
  });
  const { unsafeA, unsafeB } = data.comparisons;
  const perGroup = new Map<number, number>();
  for (let c = 0; c < data.nComparisons; c++) {
    const s = data.start[c]!;
    const e = data.start[c + 1]!;
    perGroup.clear();
    for (let q = s; q < e; q++) {
      const g = groupOf[data.rater[data.order[q]!]!]!;
      if (g >= 0) perGroup.set(g, (perGroup.get(g) ?? 0) + 1);
    }
    for (let q = s; q < e; q++) {
      const j = data.order[q]!;
      const w = data.rater[j]!;
      let wt = decision.weight[w]!;
      const g = groupOf[w]!;
      if (g >= 0) wt /= perGroup.get(g)!;
      const l = data.label[j]!;
      if (unsafeA[c] !== unsafeB[c] && l !== LABEL_TIE && (l === LABEL_A) === (unsafeA[c] === 1))
        wt *= config.weights.unsafe_preference;
      if (promoted?.[j] === 1) wt *= config.weights.promoted_choice;
      omega[j] = wt;
    }
  }
  return omega;
}

function logSafe(x: number): number {
  return Math.log(Math.max(x, 1e-12));
}

export function cleanedComparisons(
  data: AuditData,
  omega: Float64Array,
  config: AuditConfig,
  triggerMatches: ReadonlyMap<number, readonly string[]>,
): ComparisonOutcome {
  const nC = data.nComparisons;
  const view = categoricalView(data, (j) => omega[j]! > 0);
  const fit = view.task.length > 0 ? fitDawidSkene(view) : undefined;
  const K = view.nClasses;
  const pA = new Float64Array(nC).fill(0.5);
  const pTie = new Float64Array(nC);
  const weight = new Float64Array(nC);
  const mass = new Float64Array(nC);
  const labelProbability = new Float64Array(data.nJudgments).fill(Number.NaN);
  const reasons: string[][] = [];
  const logPrior = new Float64Array(K);
  const logErr = fit?.errors ? Float64Array.from(fit.errors, logSafe) : undefined;
  if (fit?.priors) for (let k = 0; k < K; k++) logPrior[k] = logSafe(fit.priors[k]!);
  const post = new Float64Array(3);
  const repeats = new Map<number, number>();
  for (let j = 0; j < data.nJudgments; j++)
    if (data.repeatOf[j]! >= 0)
      repeats.set(data.comparison[j]!, (repeats.get(data.comparison[j]!) ?? 0) + 1);
  const { unsafeA, unsafeB, gold, invalid, dupSize, nearSize } = data.comparisons;
  for (let c = 0; c < nC; c++) {
    const why: string[] = [];
    const bad = invalid.get(c);
    if (bad !== undefined) {
      reasons.push([`malformed: ${bad}`]);
      continue;
    }
    const s = data.start[c]!;
    const e = data.start[c + 1]!;
    let m = 0;
    let dropped = 0;
    let flaggedPrefs = 0;
    const lp = new Float64Array(K);
    lp.set(logPrior);
    for (let q = s; q < e; q++) {
      const j = data.order[q]!;
      const o = omega[j]!;
      m += o;
      if (o === 0) dropped++;
      const l = data.label[j]!;
      if (unsafeA[c] !== unsafeB[c] && l !== LABEL_TIE && (l === LABEL_A) === (unsafeA[c] === 1))
        flaggedPrefs++;
      if (o > 0 && logErr && l < K) {
        const base = data.rater[j]! * K * K + l;
        for (let k = 0; k < K; k++) lp[k]! += o * logErr[base + k * K]!;
      }
    }
    mass[c] = m;
    post.fill(0);
    const g = gold[c]!;
    if (g >= 0 && g < 3) post[g] = 1;
    else if (m > 0) {
      let mx = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < K; k++) mx = Math.max(mx, lp[k]!);
      let z = 0;
      for (let k = 0; k < K; k++) z += Math.exp(lp[k]! - mx);
      for (let k = 0; k < K; k++) post[k] = Math.exp(lp[k]! - mx) / z;
    } else {
      post[LABEL_A] = 0.5;
      post[LABEL_B] = 0.5;
    }
    pA[c] = post[LABEL_A]! + 0.5 * post[LABEL_TIE]!;
    pTie[c] = post[LABEL_TIE]!;
    for (let q = s; q < e; q++) {
      const j = data.order[q]!;
      const l = data.label[j]!;
      labelProbability[j] = l === LABEL_TIE && K < 3 ? 0.5 : post[l]!;
    }
    const n = e - s;
    if (n === 0) {
      reasons.push(["no judgments"]);
      continue;
    }
    // Weight 0 comes from an excluded rater, or from a factor of 0 (strict's unsafe preference).
    if (dropped === n)
      why.push(`no trusted judgment: all ${n} from excluded raters or discounted to 0`);
    else if (dropped > 0)
      why.push(`${dropped} of ${n} judgments from excluded raters or discounted to 0`);
    if (flaggedPrefs > 0)
      why.push(
        `${flaggedPrefs} judgment${flaggedPrefs === 1 ? "" : "s"} preferred the response the safety baseline flags`,
      );
    let wt = Math.min(1, m / config.weights.full_weight_mass);
    if (dupSize[c]! > 1) {
      why.push(
        `exact duplicate of ${dupSize[c]! - 1} other comparison${dupSize[c]! > 2 ? "s" : ""}`,
      );
      if (
        config.weights.duplicate_comparisons === "share" &&
        dupSize[c]! >= config.weights.duplicate_min_cluster
      )
        wt /= dupSize[c]!;
    } else if (nearSize[c]! > 1) {
      why.push(
        `near duplicate of ${nearSize[c]! - 1} other comparison${nearSize[c]! > 2 ? "s" : ""} (same text up to case, spacing, punctuation)`,
      );
    }
    if (unsafeA[c] !== unsafeB[c] && m > 0) {
      const pFlagged = unsafeA[c] === 1 ? pA[c]! : 1 - pA[c]!;
      if (pFlagged > 0.5) {
        why.push("the cleaned preference still favours the flagged response");
        wt *= config.weights.aggregate_prefers_flagged;
      }
    }
    const trig = triggerMatches.get(c);
    if (trig)
      why.push(
        `prompt contains suspected trigger ${trig.map((t) => JSON.stringify(t)).join(", ")}`,
      );
    const rep = repeats.get(c);
    if (rep !== undefined)
      why.push(`${rep} repeat judgment${rep === 1 ? "" : "s"} by the same rater ignored`);
    weight[c] = wt;
    reasons.push(why);
  }
  return { pA, pTie, weight, mass, reasons, judgmentWeight: omega, fit, labelProbability };
}
