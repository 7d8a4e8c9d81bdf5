/**
 * The EM loop shared by the confusion-matrix models (Dawid–Skene and one-coin Dawid–Skene):
 * initialisation from each task's vote proportions, the log-space E-step, gold clamping and
 * the convergence test. Each model supplies only its M-step (how worker parameters follow from
 * the task posteriors).
 *
 * E-step, for task i and class k (n_il^(w) = times worker w gave label l to task i):
 *   log T_ik = log p_k + Σ_w Σ_l n_il^(w) log π^(w)_kl + const,   T_i· = softmax(log T_i·)
 * and the observed-data log-likelihood is Σ_i log Σ_k exp(log T_ik before normalising).
 * A gold task's posterior is its known class (one-hot), and its likelihood term is the joint
 * probability of that class and its labels.
 *
 * Data with two equally likely readings (a task whose two labels are exchangeable under the
 * model, as when every rater has a mirror twin) start EM on a saddle. The class scores are sums
 * in row order, so they came out an ulp apart and EM ran off to the side rounding favoured
 * (one-coin's label followed the order of the rows); scores within rounding of one another are
 * therefore set equal (numeric.ts, "Exact ties"), and such a tie stays exact through EM and
 * goes to the lower class. Data whose readings are equally likely only in their objective,
 * not class by class, can still reach either optimum.
 */
import {
  argmaxRows,
  columnMeans,
  equaliseTies,
  hasConverged,
  mayTie,
  safeLog,
  tieTolerance,
} from "../numeric.js";
import type { CategoricalData, IterOptions } from "../types.js";
import { settlingWatch } from "./settling.js";

export const DEFAULT_MAX_ITER = 100;
export const DEFAULT_TOL = 1e-5;

/**
 * Each task's vote proportions: T_ik = (votes for k on i) / (votes on i), the initialisation
 * of Dawid & Skene (1979, §3) and crowd-kit's majority-vote probabilities. [nTasks, K]
 *
 * Weighted votes are sums of weights in row order: a rater and a mirror twin with the same
 * weight up to an ulp (Wawa's skills are such sums too) left the two classes an ulp apart, and
 * the label followed the rows. Weighted shares within 2⁻³⁰ of a larger one (numeric.ts, "Exact
 * ties"; the shares of a task add up to 1, so this is relative to its total weight, whatever
 * unit the weights come in) are set equal to it, and the row is normalised again. Unweighted
 * counts are integers and exact.
 */
export function voteProportions(data: CategoricalData, weights?: Float64Array): Float64Array {
  const K = data.nClasses;
  const out = new Float64Array(data.nTasks * K);
  const { task, worker, label } = data;
  for (let j = 0; j < task.length; j++) {
    out[task[j]! * K + label[j]!]! += weights ? weights[worker[j]!]! : 1;
  }
  for (let t = 0; t < data.nTasks; t++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += out[t * K + k]!;
    if (weights && s > 0) {
      for (let k = 0; k < K; k++) out[t * K + k] = out[t * K + k]! / s;
      equaliseTies(out, t * K, K, 2 ** -30);
      s = 0;
      for (let k = 0; k < K; k++) s += out[t * K + k]!;
    }
    if (s > 0) for (let k = 0; k < K; k++) out[t * K + k] = out[t * K + k]! / s;
    else for (let k = 0; k < K; k++) out[t * K + k] = 1 / K;
  }
  return out;
}

/** Sets gold tasks' rows to their known class. [nTasks, K] in place */
export function clampGold(probas: Float64Array, data: CategoricalData): void {
  const { gold } = data;
  if (!gold) return;
  const K = data.nClasses;
  for (let t = 0; t < gold.length; t++) {
    const g = gold[t]!;
    if (g < 0) continue;
    for (let k = 0; k < K; k++) probas[t * K + k] = k === g ? 1 : 0;
  }
}

/**
 * E-step: posteriors into `out` from log priors [K] and log confusion matrices
 * [nWorkers, K, K]; returns the log-likelihood of those parameters (from the scores as summed;
 * the posteriors have exact ties made exact).
 */
export function confusionEStep(
  data: CategoricalData,
  logPriors: Float64Array,
  logErrors: Float64Array,
  out: Float64Array,
): number {
  const K = data.nClasses;
  const KK = K * K;
  const { task, worker, label, nTasks, gold } = data;
  for (let t = 0; t < nTasks; t++) out.set(logPriors, t * K);
  for (let j = 0; j < task.length; j++) {
    const o = task[j]! * K;
    const e = worker[j]! * KK + label[j]!;
    for (let k = 0; k < K; k++) out[o + k]! += logErrors[e + k * K]!;
  }
  let ll = 0;
  for (let t = 0; t < nTasks; t++) {
    const o = t * K;
    const g = gold ? gold[t]! : -1;
    if (g >= 0) {
      ll += out[o + g]!;
      for (let k = 0; k < K; k++) out[o + k] = k === g ? 1 : 0;
      continue;
    }
    let m = Number.NEGATIVE_INFINITY;
    // Every term is a log-probability (≤ 0), so a class's |score| is the Σ |terms| that went
    // into it, and the row's lowest score bounds the rounding of all of them.
    let lo = 0;
    for (let k = 0; k < K; k++) {
      if (out[o + k]! > m) m = out[o + k]!;
      if (out[o + k]! < lo) lo = out[o + k]!;
    }
    const tol = tieTolerance(-lo);
    // The likelihood from the scores as summed; the posteriors with ties made exact.
    const tied = mayTie(out, o, K, tol);
    if (tied) {
      let z = 0;
      for (let k = 0; k < K; k++) z += Math.exp(out[o + k]! - m);
      ll += m + Math.log(z);
      equaliseTies(out, o, K, tol);
    }
    let s = 0;
    for (let k = 0; k < K; k++) {
      const e = Math.exp(out[o + k]! - m);
      out[o + k] = e;
      s += e;
    }
    for (let k = 0; k < K; k++) out[o + k] = out[o + k]! / s;
    if (!tied) ll += m + Math.log(s);
  }
  return ll;
}

/** log of class priors, clipped at ε. */
export function logOf(p: Float64Array): Float64Array {
  const out = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) out[i] = safeLog(p[i]!);
  return out;
}

/** An M-step: fills `errors` [nWorkers, K, K] from the posteriors. */
export type ConfusionMStep = (
  data: CategoricalData,
  probas: Float64Array,
  errors: Float64Array,
) => void;

export interface ConfusionFit {
  readonly probas: Float64Array;
  readonly labels: Int32Array;
  readonly priors: Float64Array;
  readonly errors: Float64Array;
  readonly iterations: number;
  readonly converged: boolean;
  readonly history: number[];
  readonly logLikelihood: number;
}

/**
 * Runs EM: T⁰ = vote proportions (gold clamped); then repeatedly M-step (p, π from T) and
 * E-step (T from p, π), until the log-likelihood gains less than `tol` per judgment and the
 * posteriors and confusion matrices have settled to within about √tol (see settling.ts). The
 * reported parameters are the last M-step's and the posteriors and log-likelihood are those of
 * exactly these parameters.
 */
export function runConfusionEM(
  data: CategoricalData,
  opts: IterOptions,
  mStep: ConfusionMStep,
): ConfusionFit {
  const K = data.nClasses;
  const maxIter = opts.maxIter ?? DEFAULT_MAX_ITER;
  const tol = opts.tol ?? DEFAULT_TOL;
  const n = data.task.length;
  let probas: Float64Array = voteProportions(data);
  clampGold(probas, data);
  let next: Float64Array = new Float64Array(probas.length);
  const errors = new Float64Array(data.nWorkers * K * K);
  const logErrors = new Float64Array(errors.length);
  let priors: Float64Array = columnMeans(probas, data.nTasks, K);
  const history: number[] = [];
  let converged = false;
  let iterations = 0;

  const mAndLog = (p: Float64Array): Float64Array => {
    priors = columnMeans(p, data.nTasks, K);
    mStep(data, p, errors);
    for (let i = 0; i < errors.length; i++) logErrors[i] = safeLog(errors[i]!);
    return logOf(priors);
  };

  if (maxIter === 0) {
    const lp = mAndLog(probas);
    const ll = confusionEStep(data, lp, logErrors, next);
    return {
      probas,
      labels: argmaxRows(probas, data.nTasks, K),
      priors,
      errors,
      iterations,
      converged,
      history,
      logLikelihood: ll,
    };
  }
  let prev = Number.NEGATIVE_INFINITY;
  let ll = prev;
  const settled = settlingWatch([probas, errors]);
  while (iterations < maxIter) {
    const lp = mAndLog(probas);
    ll = confusionEStep(data, lp, logErrors, next);
    [probas, next] = [next, probas];
    iterations++;
    history.push(ll);
    if (settled([probas, errors], tol) && hasConverged(prev, ll, n, tol)) {
      converged = true;
      break;
    }
    prev = ll;
  }
  return {
    probas,
    labels: argmaxRows(probas, data.nTasks, K),
    priors,
    errors,
    iterations,
    converged,
    history,
    logLikelihood: ll,
  };
}

/** Σ_k p_k π^(w)_kk: the chance a worker's label is right, under the fitted model. [nWorkers] */
export function confusionReliability(
  priors: Float64Array,
  errors: Float64Array,
  nWorkers: number,
  K: number,
): Float64Array {
  const out = new Float64Array(nWorkers);
  for (let w = 0; w < nWorkers; w++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += priors[k]! * errors[w * K * K + k * K + k]!;
    out[w] = s;
  }
  return out;
}
