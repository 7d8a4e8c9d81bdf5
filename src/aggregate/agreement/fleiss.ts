/**
 * Fleiss' kappa: chance-corrected agreement of many raters on nominal labels. For task i with
 * m_i ≥ 2 labels of which n_ik are class k,
 *
 *   P_i = Σ_k n_ik (n_ik − 1) / (m_i (m_i − 1)),   P̄ = mean_i P_i,
 *   p_k = Σ_i n_ik / Σ_i m_i,                      P̄_e = Σ_k p_k²,
 *   κ = (P̄ − P̄_e) / (1 − P̄_e).
 *
 * Fleiss assumed the same number of raters per task; with unequal m_i each task's P_i is still
 * the share of agreeing rater pairs, and tasks with one label are skipped. κ is null when
 * P̄_e = 1 (a single class in use).
 *
 * Example: Fleiss (1971)'s 30 patients × 6 diagnoses: P̄ = 0.5556, P̄_e = 0.2201, κ = 0.430.
 *
 * Citation: J. L. Fleiss (1971), "Measuring nominal scale agreement among many raters",
 * Psychological Bulletin 76(5):378–382, doi:10.1037/h0031619.
 */
import type { CategoricalData } from "../types.js";
import { taskClassCounts } from "./counts.js";

export interface FleissResult {
  readonly kappa: number | null;
  /** P̄ */
  readonly observed: number;
  /** P̄_e */
  readonly expected: number;
  /** Tasks with at least two labels. */
  readonly tasks: number;
}

export function fleissKappa(data: CategoricalData): FleissResult {
  const K = data.nClasses;
  const { start, cls, count } = taskClassCounts(data);
  const p = new Float64Array(K);
  let total = 0;
  let sumP = 0;
  let used = 0;
  for (let t = 0; t < data.nTasks; t++) {
    let m = 0;
    for (let e = start[t]!; e < start[t + 1]!; e++) m += count[e]!;
    if (m < 2) continue;
    let agree = 0;
    for (let e = start[t]!; e < start[t + 1]!; e++) {
      const c = count[e]!;
      agree += c * (c - 1);
      p[cls[e]!]! += c;
    }
    sumP += agree / (m * (m - 1));
    total += m;
    used++;
  }
  if (used === 0) return { kappa: null, observed: 0, expected: 0, tasks: 0 };
  let pe = 0;
  for (let k = 0; k < K; k++) pe += (p[k]! / total) ** 2;
  const pbar = sumP / used;
  return {
    kappa: pe < 1 ? (pbar - pe) / (1 - pe) : null,
    observed: pbar,
    expected: pe,
    tasks: used,
  };
}
