/**
 * Majority vote, optionally skill-weighted: a task's score for class k is the sum of the weights
 * of the workers who said k (weight 1 each by default),
 *
 *   score_ik = Σ_{judgments j on i with label k} weight_{w(j)},   probas_ik = score_ik / Σ_k' score_ik',
 *
 * and its label is the arg-max (ties go to the lower class index; classes are sorted by name).
 * A task whose weights sum to 0 gets uniform probabilities. Each worker's skill is afterwards
 * the share of their labels that equal the aggregate label (crowd-kit's MajorityVote.skills_;
 * a label among k tied top classes counts 1/k).
 *
 * Preconditions: weights, when given, are finite and ≥ 0 (negative weights are an error of the
 * caller; use reliabilities, not log-odds that can go negative). The weight of a worker without
 * judgments is never read, so it may be NaN, which is what every method reports for them
 * (unjudged.ts).
 *
 * Example: labels x, x, y → probas (⅔, ⅓), label x; skills 1, 1, 0.
 *
 * Citation: the plurality rule; crowd-kit's MajorityVote (Ustalov et al. 2021, "Learning from
 * Crowds with Crowd-Kit", arXiv:2109.08584, doi:10.48550/arXiv.2109.08584).
 */
import { KeelError } from "../../core/errors.js";
import { argmaxRows } from "../numeric.js";
import type { CategoricalData, CategoricalResult } from "../types.js";
import { judgmentCounts } from "../unjudged.js";
import { voteProportions } from "./confusion-em.js";
import { agreementWithLabels, checkPosteriorSize, emptyCategorical } from "./result.js";

export interface MajorityVoteOptions {
  /** One non-negative weight per worker (index as in data.workers). [nWorkers] */
  readonly weights?: Float64Array;
}

export function majorityVote(
  data: CategoricalData,
  opts: MajorityVoteOptions = {},
): CategoricalResult {
  const { weights } = opts;
  if (weights) {
    if (weights.length !== data.nWorkers) {
      throw new KeelError(
        "KEEL_E_SHAPE",
        `majority vote needs one weight per worker (${data.nWorkers}), got ${weights.length}`,
      );
    }
    const counts = judgmentCounts(data.worker, data.nWorkers);
    for (let w = 0; w < weights.length; w++) {
      if (counts[w] === 0) continue;
      if (!(weights[w]! >= 0) || !Number.isFinite(weights[w]!)) {
        throw new KeelError(
          "KEEL_E_CONFIG",
          `worker weight must be finite and ≥ 0, got ${weights[w]}`,
          {
            where: { id: data.workers[w]! },
          },
        );
      }
    }
  }
  const method = weights ? "weighted-majority-vote" : "majority-vote";
  if (data.task.length === 0) return emptyCategorical(method, data);
  checkPosteriorSize(method, data);
  const probas = voteProportions(data, weights);
  const labels = argmaxRows(probas, data.nTasks, data.nClasses);
  const skills = agreementWithLabels(data, probas);
  return {
    method,
    tasks: data.tasks,
    workers: data.workers,
    classes: data.classes,
    probas,
    labels,
    skills,
    reliability: skills,
    iterations: 0,
    converged: true,
    history: [],
  };
}
