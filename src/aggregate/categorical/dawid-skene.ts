/**
 * Dawid–Skene: each worker w has a full confusion matrix π^(w), π^(w)_kl = P(w says l | true k);
 * tasks' true classes are drawn from priors p. Fitted by EM exactly as in the paper:
 *
 *   initialise  T_ik = share of task i's labels that are k            (vote proportions, §3)
 *   M-step      p_k = (1/I) Σ_i T_ik
 *               π^(w)_kl = Σ_i T_ik n_il^(w) / Σ_l' Σ_i T_ik n_il'^(w)
 *   E-step      T_ik ∝ p_k Π_w Π_l (π^(w)_kl)^(n_il^(w))              (in log space, max-shift)
 *
 * until the log-likelihood per judgment gains less than `tol` and the posteriors and confusion
 * matrices have settled to within about √tol (see settling.ts). A worker may label a task more
 * than once (the paper's observer 1 did three times). Known gold classes, when given, fix their
 * tasks' T rows throughout (crowd-kit's `true_labels`). Probabilities are clipped at ε before
 * the log, so a never-seen confusion cell cannot produce log 0 (crowd-kit clips the counts at
 * 10⁻¹⁰ instead), and a true class a worker has no evidence for gets a uniform row.
 *
 * Preconditions: none beyond encoded data; EM finds a local maximum of the likelihood.
 * Each iteration is O(n·K) over the judgments plus O(W·K²).
 *
 * Example: three workers label a task "x","x","y"; T⁰ = (⅔, ⅓); the worker who said "y" is
 * estimated to confuse x with y, and the task's posterior for "x" rises above ⅔.
 *
 * Citation: A. P. Dawid and A. M. Skene (1979), "Maximum Likelihood Estimation of Observer
 * Error-Rates Using the EM Algorithm", Journal of the Royal Statistical Society C (Applied
 * Statistics) 28(1):20–28, doi:10.2307/2346806.
 */

import { KeelError } from "../../core/errors.js";
import type { CategoricalData, CategoricalResult, IterOptions } from "../types.js";
import { markUnjudged } from "../unjudged.js";
import { confusionReliability, runConfusionEM } from "./confusion-em.js";
import { checkConfusionSize, emptyCategorical } from "./result.js";

export interface DawidSkeneOptions extends IterOptions {
  /**
   * Pseudo-judgments added to the diagonal of every worker's confusion matrix: a Dirichlet prior
   * that a worker's label tends to be the true class, making the fit MAP instead of maximum
   * likelihood. Default 0 (the paper's and crowd-kit's fit). Without it, where workers gave one
   * label each, after one EM step a lone label l has π_kl = 1 for every class k with posterior
   * mass: it tells nothing, and every task's posterior falls back to the class priors. With 1 a
   * lone label stays informative and a worker with n labels moves by about 1/(n + 1).
   */
  readonly diagonalPrior?: number;
}

/** M-step for full confusion matrices. errors: [nWorkers, K(true), K(observed)] */
export function dawidSkeneMStep(
  data: CategoricalData,
  probas: Float64Array,
  errors: Float64Array,
  diagonalPrior = 0,
): void {
  const K = data.nClasses;
  const KK = K * K;
  const { task, worker, label } = data;
  errors.fill(0);
  for (let j = 0; j < task.length; j++) {
    const o = task[j]! * K;
    const e = worker[j]! * KK + label[j]!;
    for (let k = 0; k < K; k++) errors[e + k * K]! += probas[o + k]!;
  }
  for (let r = 0; r < data.nWorkers * K; r++) {
    const o = r * K;
    // Row r is worker ⌊r/K⌋'s true class r mod K: its diagonal cell is o + r mod K.
    if (diagonalPrior > 0) errors[o + (r % K)]! += diagonalPrior;
    let s = 0;
    for (let l = 0; l < K; l++) s += errors[o + l]!;
    if (s > 0) for (let l = 0; l < K; l++) errors[o + l] = errors[o + l]! / s;
    else for (let l = 0; l < K; l++) errors[o + l] = 1 / K; // no evidence for this true class
  }
}

export function dawidSkene(data: CategoricalData, opts: DawidSkeneOptions = {}): CategoricalResult {
  if (data.task.length === 0) return emptyCategorical("dawid-skene", data);
  checkConfusionSize("dawid-skene", data);
  const prior = opts.diagonalPrior ?? 0;
  if (!(prior >= 0) || !Number.isFinite(prior))
    throw new KeelError(
      "KEEL_E_CONFIG",
      `diagonalPrior must be a finite number ≥ 0, got ${prior}`,
      {
        where: { field: "diagonalPrior" },
      },
    );
  const fit = runConfusionEM(data, opts, (d, p, e) => dawidSkeneMStep(d, p, e, prior));
  const reliability = confusionReliability(fit.priors, fit.errors, data.nWorkers, data.nClasses);
  // A worker without judgments keeps uniform confusion rows in `errors`, but has no reliability.
  markUnjudged(data.worker, data.nWorkers, reliability);
  return {
    method: "dawid-skene",
    tasks: data.tasks,
    workers: data.workers,
    classes: data.classes,
    probas: fit.probas,
    labels: fit.labels,
    priors: fit.priors,
    errors: fit.errors,
    reliability,
    iterations: fit.iterations,
    converged: fit.converged,
    history: fit.history,
    logLikelihood: fit.logLikelihood,
  };
}
