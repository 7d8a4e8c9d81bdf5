/**
 * Preference posteriors per comparison — what the reward model trains on.
 *
 * From a categorical method over {a, b, tie} (the judgments' choices):
 *   p_a   = P(a) + ½ P(tie)       (the probability that A is better, a tie counting half)
 *   p_tie = P(tie)
 *   weight = 1 − H(P) / log K      (certainty of the posterior over the K classes in use:
 *                                   1 for a certain a, b *or tie*, 0 for a uniform posterior)
 * A confident tie therefore has p_a = ½ and a high weight: it teaches the reward model that the
 * two responses are equally good, which a soft label alone could not say.
 *
 * From a pairwise method (items = responses): p_a = σ(β_a − β_b), p_tie = 0 (Bradley–Terry has no
 * tie state; ties entered the fit as half wins), weight = 1 − H₂(p_a)/log 2.
 */

import type { ComparisonItems } from "./judgments.js";
import { sigmoid } from "./numeric.js";
import type { CategoricalResult, PairwiseResult } from "./types.js";

export interface ComparisonPosteriors {
  /** comparison ids (the categorical tasks). [m] */
  readonly ids: readonly string[];
  readonly pA: Float64Array;
  readonly pTie: Float64Array;
  readonly weight: Float64Array;
}

export interface ChoiceNames {
  readonly a: string;
  readonly b: string;
  readonly tie: string;
}

const DEFAULT_NAMES: ChoiceNames = { a: "a", b: "b", tie: "tie" };

function certainty(p: Float64Array, o: number, K: number): number {
  if (K < 2) return 1;
  let h = 0;
  for (let k = 0; k < K; k++) {
    const v = p[o + k]!;
    if (v > 0) h -= v * Math.log(v);
  }
  return Math.max(0, 1 - h / Math.log(K));
}

export function posteriorsFromCategorical(
  result: CategoricalResult,
  names: ChoiceNames = DEFAULT_NAMES,
): ComparisonPosteriors {
  const K = result.classes.length;
  const ia = result.classes.indexOf(names.a);
  const ib = result.classes.indexOf(names.b);
  const it = result.classes.indexOf(names.tie);
  const m = result.tasks.length;
  const pA = new Float64Array(m);
  const pTie = new Float64Array(m);
  const weight = new Float64Array(m);
  if (result.probas.length === 0) return { ids: [], pA, pTie, weight };
  for (let t = 0; t < m; t++) {
    const o = t * K;
    const a = ia >= 0 ? result.probas[o + ia]! : 0;
    const b = ib >= 0 ? result.probas[o + ib]! : 0;
    const tie = it >= 0 ? result.probas[o + it]! : 0;
    const known = a + b + tie;
    // Mass on labels other than a/b/tie (not produced from judgments) is left out, renormalised.
    pA[t] = known > 0 ? (a + 0.5 * tie) / known : 0.5;
    pTie[t] = known > 0 ? tie / known : 0;
    weight[t] = certainty(result.probas, o, K);
  }
  return { ids: result.tasks, pA, pTie, weight };
}

export function posteriorsFromPairwise(
  result: PairwiseResult,
  ids: readonly string[],
  items: ComparisonItems,
): ComparisonPosteriors {
  const m = ids.length;
  const pA = new Float64Array(m);
  const pTie = new Float64Array(m);
  const weight = new Float64Array(m);
  for (let t = 0; t < m; t++) {
    const a = items.a[t]!;
    const b = items.b[t]!;
    const p = a >= 0 && b >= 0 ? sigmoid(result.scores[a]! - result.scores[b]!) : 0.5;
    pA[t] = p;
    let h = 0;
    if (p > 0 && p < 1) h = -(p * Math.log(p) + (1 - p) * Math.log(1 - p));
    // Rounding can put h a hair above log 2 near p = ½ (−2·10⁻¹⁶): a weight is never negative.
    weight[t] = Math.max(0, 1 - h / Math.LN2);
  }
  return { ids, pA, pTie, weight };
}
