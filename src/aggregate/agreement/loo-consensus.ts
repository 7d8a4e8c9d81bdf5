/**
 * Each rater's agreement with the leave-one-out consensus: for every label a rater gave, the
 * consensus is the plurality of the *other* raters' labels on that task (all of this rater's
 * labels on it left out). A label earns 1 if it is the unique plurality class and 1/|S| if it is
 * one of |S| tied plurality classes, else 0; labels on tasks nobody else labelled are skipped.
 *
 *   agreement_w = (1/n_w) Σ_{labels j of w with others present} credit_j
 *
 * Leaving the rater out matters: with few raters per task a rater's own vote would otherwise
 * make up much of the consensus they are compared with, flattering careless and adversarial
 * raters alike. Cost O(n·K): the other raters' counts are the task's counts minus the rater's
 * own, so a task that thousands of raters labelled (a shared check item) costs no more than
 * thousands of small ones.
 *
 * Citation: the "agreement with the other annotators" reliability screen, e.g. R. Snow,
 * B. O'Connor, D. Jurafsky and A. Ng (2008), "Cheap and Fast — But is it Good?", Proceedings
 * of EMNLP 2008, pp. 254–263, doi:10.3115/1613715.1613751.
 */
import { groupByTask } from "../grouping.js";
import type { CategoricalData } from "../types.js";

export interface LooConsensusResult {
  /** Mean credit per worker; NaN when no label of theirs had others to compare with. [nWorkers] */
  readonly agreement: Float64Array;
  /** Labels that counted. [nWorkers] */
  readonly n: Int32Array;
}

export function looConsensusAgreement(data: CategoricalData): LooConsensusResult {
  const K = data.nClasses;
  const W = data.nWorkers;
  const credit = new Float64Array(W);
  const n = new Int32Array(W);
  const { start, order } = groupByTask(data);
  const counts = new Float64Array(K);
  const others = new Float64Array(K);
  // Each worker's own label counts on the current task, cleared after the task. [W, K]
  const own = new Float64Array(W * K);
  for (let t = 0; t < data.nTasks; t++) {
    counts.fill(0);
    for (let q = start[t]!; q < start[t + 1]!; q++) {
      const j = order[q]!;
      counts[data.label[j]!]! += 1;
      own[data.worker[j]! * K + data.label[j]!]! += 1;
    }
    for (let q = start[t]!; q < start[t + 1]!; q++) {
      const j = order[q]!;
      const w = data.worker[j]!;
      for (let k = 0; k < K; k++) others[k] = counts[k]! - own[w * K + k]!;
      let top = 0;
      for (let k = 0; k < K; k++) top = Math.max(top, others[k]!);
      if (top <= 0) continue;
      let ties = 0;
      for (let k = 0; k < K; k++) if (others[k] === top) ties++;
      n[w]! += 1;
      if (others[data.label[j]!] === top) credit[w]! += 1 / ties;
    }
    for (let q = start[t]!; q < start[t + 1]!; q++) {
      const j = order[q]!;
      own[data.worker[j]! * K + data.label[j]!] = 0;
    }
  }
  const agreement = new Float64Array(W);
  for (let w = 0; w < W; w++) agreement[w] = n[w]! > 0 ? credit[w]! / n[w]! : Number.NaN;
  return { agreement, n };
}
