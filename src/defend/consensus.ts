/**
 * What the other raters of a comparison said, per judgment (leave-one-out), and the model
 * fits every detector shares.
 *
 * Graded agreement of two labels: g(l, l) = 1, g(side, tie) = ½, g(a, b) = 0. For judgment j of
 * rater w on comparison t with others O (the active judgments of t by other raters):
 *
 *   agree_j   = (1/|O|) Σ_{i∈O} g(l_j, l_i)                       w's agreement with the others
 *   between_j = mean over pairs {i, k} ⊂ O of g(l_i, l_k)          the others' agreement among
 *                                                                  themselves (needs |O| ≥ 2)
 *   majority_j = a if the others gave more a than b, b if more b, else none (ties ignored)
 *
 * If w rates like a typical rater of t, E[agree_j] = E[between_j]: both estimate how often two
 * raters of t agree, so their difference is free of the item's difficulty (detectors/agreement).
 *
 * The Dawid–Skene fit (aggregate/) gives the posterior over a/b/tie per comparison used to find
 * "the consensus" where a single answer is needed (trigger scan, reliability of the output).
 */
import { type CategoricalData, type CategoricalResult, dawidSkene } from "../aggregate/index.js";
import { type AuditData, LABEL_A, LABEL_B, LABEL_TIE } from "./data.js";

export interface Consensus {
  /** Agreement with the others, NaN when the judgment has no others. [n] */
  readonly agree: Float64Array;
  /** The others' agreement among themselves, NaN when fewer than two others. [n] */
  readonly between: Float64Array;
  /** The others' majority side (LABEL_A / LABEL_B) or −1. [n] */
  readonly majority: Int8Array;
}

function pairs(x: number): number {
  return (x * (x - 1)) / 2;
}

export function leaveOneOut(data: AuditData): Consensus {
  const n = data.nJudgments;
  const agree = new Float64Array(n).fill(Number.NaN);
  const between = new Float64Array(n).fill(Number.NaN);
  const majority = new Int8Array(n).fill(-1);
  const { start, order, countA, countB, countTie } = data;
  for (let c = 0; c < data.nComparisons; c++) {
    const m = start[c + 1]! - start[c]!;
    if (m < 2) continue;
    for (let q = start[c]!; q < start[c + 1]!; q++) {
      const j = order[q]!;
      const l = data.label[j]!;
      const A = countA[c]! - (l === LABEL_A ? 1 : 0);
      const B = countB[c]! - (l === LABEL_B ? 1 : 0);
      const T = countTie[c]! - (l === LABEL_TIE ? 1 : 0);
      const o = m - 1;
      const same = l === LABEL_A ? A : l === LABEL_B ? B : T;
      const half = l === LABEL_TIE ? A + B : T;
      agree[j] = (same + 0.5 * half) / o;
      if (o >= 2) between[j] = (pairs(A) + pairs(B) + pairs(T) + 0.5 * (A * T + B * T)) / pairs(o);
      majority[j] = A > B ? LABEL_A : B > A ? LABEL_B : -1;
    }
  }
  return { agree, between, majority };
}

/** The active judgments as crowd-kit's categorical table (classes a, b[, tie]). */
export function categoricalView(
  data: AuditData,
  weightOk?: (j: number) => boolean,
): CategoricalData {
  const { order } = data;
  let m = 0;
  for (let q = 0; q < order.length; q++) if (!weightOk || weightOk(order[q]!)) m++;
  const task = new Int32Array(m);
  const worker = new Int32Array(m);
  const label = new Int32Array(m);
  let hasTie = false;
  let k = 0;
  for (let q = 0; q < order.length; q++) {
    const j = order[q]!;
    if (weightOk && !weightOk(j)) continue;
    task[k] = data.comparison[j]!;
    worker[k] = data.rater[j]!;
    label[k] = data.label[j]!;
    if (label[k] === LABEL_TIE) hasTie = true;
    k++;
  }
  const gold = data.comparisons.gold;
  let anyGold = false;
  for (let c = 0; c < gold.length; c++)
    if (gold[c]! >= 0 && (hasTie || gold[c] !== LABEL_TIE)) anyGold = true;
  const goldArr = anyGold
    ? Int32Array.from(gold, (g) => (g === LABEL_TIE && !hasTie ? -1 : g))
    : undefined;
  return {
    nTasks: data.nComparisons,
    nWorkers: data.nRaters,
    nClasses: hasTie ? 3 : 2,
    task,
    worker,
    label,
    tasks: data.comparisons.ids,
    workers: data.raterIds,
    classes: hasTie ? ["a", "b", "tie"] : ["a", "b"],
    ...(goldArr ? { gold: goldArr } : {}),
  };
}

/**
 * Pseudo-judgments on the diagonal of every rater's confusion matrix in the audit's Dawid–Skene
 * (a MAP fit; see DawidSkeneOptions.diagonalPrior). The maximum-likelihood fit collapsed where
 * raters gave one judgment each (a product's users rating once): every comparison's p_a fell back
 * to the share of "a" in the data, against its unanimous raters, with weight 1.
 */
export const CONFUSION_DIAGONAL_PRIOR = 1;

/** The audit's Dawid–Skene: a MAP fit (`CONFUSION_DIAGONAL_PRIOR`). */
export function fitDawidSkene(view: CategoricalData): CategoricalResult {
  return dawidSkene(view, { maxIter: 50, tol: 1e-6, diagonalPrior: CONFUSION_DIAGONAL_PRIOR });
}

/** P(true = a), P(true = b), P(true = tie) of comparison c from a fit over classes a, b[, tie]. */
export function posteriorOf(fit: CategoricalResult, c: number): [number, number, number] {
  const K = fit.classes.length;
  if (fit.probas.length === 0) return [0.5, 0.5, 0];
  const o = c * K;
  return [fit.probas[o + LABEL_A]!, fit.probas[o + LABEL_B]!, K > 2 ? fit.probas[o + 2]! : 0];
}
