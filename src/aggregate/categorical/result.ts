/** Helpers shared by the categorical methods' results. */
import { KeelError } from "../../core/errors.js";
import type { CategoricalData, CategoricalResult } from "../types.js";

/**
 * Most entries in one dense matrix a categorical method keeps: the posteriors [nTasks, K], and
 * for Dawid–Skene and one-coin the confusion matrices [nWorkers, K, K]; 256 MiB of float64
 * each, two of each at a time. Labels that are free text (a class per label) make K grow with
 * the data: 6,000 rows of distinct labels asked Dawid–Skene for 21.6·10⁹ confusion cells
 * (a RangeError) and the others for a 460 MB result.
 */
export const MAX_DENSE_ENTRIES = 2 ** 25;

function checkDense(method: string, entries: number, shape: string, hint: string): void {
  if (entries <= MAX_DENSE_ENTRIES) return;
  throw new KeelError(
    "KEEL_E_UNSUPPORTED",
    `${method} would keep ${shape} = ${entries.toExponential(2)} numbers; at most ${MAX_DENSE_ENTRIES} are supported`,
    { hint },
  );
}

/** Refuses data whose posteriors [nTasks, K] would not fit (see MAX_DENSE_ENTRIES). */
export function checkPosteriorSize(method: string, data: CategoricalData): void {
  checkDense(
    method,
    data.nTasks * data.nClasses,
    `${data.nTasks} tasks × ${data.nClasses} classes`,
    "every task gets a probability for every class: are the labels free text? Map them to a few classes first",
  );
}

/** Refuses data whose confusion matrices [nWorkers, K, K] would not fit (see MAX_DENSE_ENTRIES). */
export function checkConfusionSize(method: string, data: CategoricalData): void {
  checkPosteriorSize(method, data);
  checkDense(
    method,
    data.nWorkers * data.nClasses * data.nClasses,
    `${data.nWorkers} workers × ${data.nClasses}² classes`,
    "use glad or mace, whose worker parameters do not grow with the square of the classes",
  );
}

/**
 * The well-formed result for data without judgments: no tasks, no iterations, and no estimate
 * (NaN) for any worker the data names (unjudged.ts).
 */
export function emptyCategorical(method: string, data: CategoricalData): CategoricalResult {
  return {
    method,
    tasks: data.tasks,
    workers: data.workers,
    classes: data.classes,
    probas: new Float64Array(0),
    labels: new Int32Array(0),
    reliability: new Float64Array(data.nWorkers).fill(Number.NaN),
    iterations: 0,
    converged: true,
    history: [],
  };
}

/**
 * Share of each worker's labels that equal the aggregate label (crowd-kit's majority-vote
 * skill). Where several classes tie for the top probability, a label in the tie earns 1/|tie|,
 * so that skills do not depend on how classes happen to be ordered. Workers without judgments
 * get NaN, no estimate (unjudged.ts). [nWorkers]
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
  for (let w = 0; w < data.nWorkers; w++)
    hits[w] = counts[w]! > 0 ? hits[w]! / counts[w]! : Number.NaN;
  return hits;
}
