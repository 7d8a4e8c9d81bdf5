/**
 * Workers without judgments. Data can name a worker that has no judgment in it: a defense's
 * filtered view (the audit refits Dawid–Skene on the judgments it keeps, over every rater), or
 * data built by hand. Nothing was observed of such a worker, so no method has an estimate: each
 * reports NaN for their skill, reliability and bias ("no estimate"; the aggregate JSON and the
 * server's rater table write null, the audit leaves the model's figure out of the evidence).
 * Before, each method reported its own start or prior — 0 (majority vote, Wawa, GLAD's
 * reliability), 1/K (Dawid–Skene, one-coin, M-MSR), ½ (MACE's competence), 0.9 (Noisy BT,
 * Crowd-BT) — which read as a measured reliability that differed by method.
 *
 * Only the reported arrays are marked, after the fit: inside, a worker without judgments keeps a
 * finite start (it enters no likelihood term), so the fits and the judged workers' values are
 * unchanged. A worker with judgments keeps the method's own value even where the method cannot
 * tell much (M-MSR's 0 for a worker who shares no task with anyone).
 */

/** How many judgments each worker gave. [nWorkers] */
export function judgmentCounts(worker: Int32Array, nWorkers: number): Int32Array {
  const counts = new Int32Array(nWorkers);
  for (let j = 0; j < worker.length; j++) counts[worker[j]!]!++;
  return counts;
}

/** Sets NaN, in each array [nWorkers], at every worker without judgments. */
export function markUnjudged(
  worker: Int32Array,
  nWorkers: number,
  ...arrays: readonly (Float64Array | undefined)[]
): void {
  const counts = judgmentCounts(worker, nWorkers);
  for (let w = 0; w < nWorkers; w++) {
    if (counts[w]! > 0) continue;
    for (const a of arrays) if (a) a[w] = Number.NaN;
  }
}
