/** Helpers shared by the categorical methods' results. */
import type { CategoricalData, CategoricalResult } from "../types.js";

/** The well-formed result for data without judgments: no tasks, no iterations. */
export function emptyCategorical(method: string, data: CategoricalData): CategoricalResult {
  return {
    method,
    tasks: data.tasks,
    workers: data.workers,
    classes: data.classes,
    probas: new Float64Array(0),
    labels: new Int32Array(0),
    reliability: new Float64Array(data.nWorkers),
    iterations: 0,
    converged: true,
    history: [],
  };
}

/**
 * Share of each worker's labels that equal the aggregate label (crowd-kit's majority-vote
 * skill). Where several classes tie for the top probability, a label in the tie earns 1/|tie|,
 * so that skills do not depend on how classes happen to be ordered. Workers without judgments
 * get 0. [nWorkers]
 */
export function agreementWithLabels(data: CategoricalData, probas: Float64Array): Float64Array {
  const K = data.nClasses;
  const hits = new Float64Array(data.nWorkers);
  const counts = new Float64Array(data.nWorkers);
  const { task, worker, label } = data;
  for (let j = 0; j < task.length; j++) {
    const w = worker[j]!;
    counts[w]! += 1;
    const o = task[j]! * K;
    let top = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < K; k++) top = Math.max(top, probas[o + k]!);
    if (probas[o + label[j]!] !== top) continue;
    let ties = 0;
    for (let k = 0; k < K; k++) if (probas[o + k] === top) ties++;
    hits[w]! += 1 / ties;
  }
  for (let w = 0; w < data.nWorkers; w++) hits[w] = counts[w]! > 0 ? hits[w]! / counts[w]! : 0;
  return hits;
}
