/**
 * One-coin Dawid–Skene: each worker w has one accuracy s_w; a wrong label is uniform over the
 * other K − 1 classes, so π^(w)_kl = s_w if l = k, else (1 − s_w)/(K − 1). EM as Dawid–Skene
 * (vote-proportion start, log-space E-step, optional gold), with the M-step
 *
 *   p_k = (1/I) Σ_i T_ik,      s_w = (1/n_w) Σ_{judgments j of w} T_{i(j), l(j)}
 *
 * which maximises the expected complete log-likelihood exactly (it is A log s + (n−A) log(1−s)).
 * Far fewer parameters than full confusion matrices: better with few labels per worker, unable
 * to represent class-specific confusions.
 *
 * Preconditions: K ≥ 2 for the wrong-label term (with K = 1 every label is right).
 *
 * Citation: the one-coin special case of A. P. Dawid and A. M. Skene (1979), JRSS C 28(1):20–28,
 * doi:10.2307/2346806; as used by Zhang, Chen, Zhou and Jordan (2014), "Spectral Methods Meet
 * EM", NeurIPS, and crowd-kit's OneCoinDawidSkene.
 */
import type { CategoricalData, CategoricalResult, IterOptions } from "../types.js";
import { markUnjudged } from "../unjudged.js";
import { runConfusionEM } from "./confusion-em.js";
import { checkConfusionSize, emptyCategorical } from "./result.js";

export type OneCoinOptions = IterOptions;

/** Worker accuracies s_w from posteriors. [nWorkers] */
export function oneCoinSkills(data: CategoricalData, probas: Float64Array): Float64Array {
  const K = data.nClasses;
  const hits = new Float64Array(data.nWorkers);
  const counts = new Float64Array(data.nWorkers);
  const { task, worker, label } = data;
  for (let j = 0; j < task.length; j++) {
    const w = worker[j]!;
    hits[w]! += probas[task[j]! * K + label[j]!]!;
    counts[w]! += 1;
  }
  for (let w = 0; w < data.nWorkers; w++) hits[w] = counts[w]! > 0 ? hits[w]! / counts[w]! : 1 / K;
  return hits;
}

function fillOneCoinErrors(skills: Float64Array, K: number, errors: Float64Array): void {
  for (let w = 0; w < skills.length; w++) {
    const s = skills[w]!;
    const off = K > 1 ? (1 - s) / (K - 1) : 0;
    for (let k = 0; k < K; k++) {
      for (let l = 0; l < K; l++) errors[w * K * K + k * K + l] = k === l ? s : off;
    }
  }
}

export function oneCoinDawidSkene(
  data: CategoricalData,
  opts: OneCoinOptions = {},
): CategoricalResult {
  if (data.task.length === 0) return emptyCategorical("one-coin", data);
  checkConfusionSize("one-coin", data);
  const K = data.nClasses;
  let skills: Float64Array = new Float64Array(data.nWorkers);
  const fit = runConfusionEM(data, opts, (d, probas, errors) => {
    skills = oneCoinSkills(d, probas);
    fillOneCoinErrors(skills, K, errors);
  });
  // Inside the fit a worker without judgments had chance accuracy 1/K (a uniform confusion row).
  markUnjudged(data.worker, data.nWorkers, skills);
  return {
    method: "one-coin",
    tasks: data.tasks,
    workers: data.workers,
    classes: data.classes,
    probas: fit.probas,
    labels: fit.labels,
    priors: fit.priors,
    errors: fit.errors,
    skills,
    reliability: skills,
    iterations: fit.iterations,
    converged: fit.converged,
    history: fit.history,
    logLikelihood: fit.logLikelihood,
  };
}
