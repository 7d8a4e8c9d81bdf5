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
 * raters alike. Cost O(Σ_t m_t²).
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
  for (let t = 0; t < data.nTasks; t++) {
    counts.fill(0);
    for (let q = start[t]!; q < start[t + 1]!; q++) counts[data.label[order[q]!]!]! += 1;
    for (let q = start[t]!; q < start[t + 1]!; q++) {
      const j = order[q]!;
      const w = data.worker[j]!;
      others.set(counts);
      for (let r = start[t]!; r < start[t + 1]!; r++) {
        const i = order[r]!;
        if (data.worker[i] === w) others[data.label[i]!]! -= 1;
      }
      let top = 0;
      for (let k = 0; k < K; k++) top = Math.max(top, others[k]!);
      if (top <= 0) continue;
      let ties = 0;
      for (let k = 0; k < K; k++) if (others[k] === top) ties++;
      n[w]! += 1;
      if (others[data.label[j]!] === top) credit[w]! += 1 / ties;
    }
  }
  const agreement = new Float64Array(W);
  for (let w = 0; w < W; w++) agreement[w] = n[w]! > 0 ? credit[w]! / n[w]! : Number.NaN;
  return { agreement, n };
}
