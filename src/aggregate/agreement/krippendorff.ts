/**
 * Krippendorff's alpha for nominal data. Units are tasks, values are labels; units with fewer
 * than two values are not pairable and are dropped. With n_uc the number of values c in unit u
 * and m_u = Σ_c n_uc, the coincidence matrix is
 *
 *   o_ck = Σ_u n_uc (n_uk − [c = k]) / (m_u − 1),    n_c = Σ_k o_ck,   n = Σ_c n_c,
 *
 * and α = 1 − D_o / D_e with D_o = Σ_{c≠k} o_ck (observed disagreement) and
 * D_e = Σ_{c≠k} n_c n_k / (n − 1) (expected by chance). α = 1 is perfect agreement, 0 chance.
 * When every pairable value is the same (D_e = 0) α is undefined and `alpha` is null. The
 * coincidences are summed from each unit's own values (o_ck = 0 for classes the unit lacks), so
 * the cost is O(n) in time and O(n + K) in memory, however many classes there are.
 *
 * Example: Krippendorff (2011)'s 4 coders × 12 units with missing values gives α = 0.743.
 *
 * Citation: K. Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", Annenberg
 * School for Communication, University of Pennsylvania, Departmental Papers 43
 * (repository.upenn.edu/asc_papers/43); K. Krippendorff (1970), "Estimating the Reliability,
 * Systematic Error and Random Error of Interval Data", Educational and Psychological
 * Measurement 30(1):61–70, doi:10.1177/001316447003000105.
 */

import type { CategoricalData } from "../types.js";
import { taskClassCounts } from "./counts.js";

export interface KrippendorffResult {
  readonly alpha: number | null;
  readonly observedDisagreement: number;
  readonly expectedDisagreement: number;
  /** Pairable values (n). */
  readonly pairable: number;
}

export function krippendorffAlpha(data: CategoricalData): KrippendorffResult {
  const { start, cls, count } = taskClassCounts(data);
  // n_c = Σ_k o_ck = Σ_u n_uc over pairable units; D_o = Σ_u Σ_c n_uc (m_u − n_uc) / (m_u − 1).
  const nc = new Float64Array(data.nClasses);
  let disagree = 0;
  for (let t = 0; t < data.nTasks; t++) {
    let m = 0;
    for (let e = start[t]!; e < start[t + 1]!; e++) m += count[e]!;
    if (m < 2) continue;
    for (let e = start[t]!; e < start[t + 1]!; e++) {
      const x = count[e]!;
      nc[cls[e]!]! += x;
      disagree += (x * (m - x)) / (m - 1);
    }
  }
  let n = 0;
  for (let c = 0; c < nc.length; c++) n += nc[c]!;
  // Σ_{c≠k} n_c n_k = Σ_c n_c (n − n_c): integers, exact.
  let expected = 0;
  for (let c = 0; c < nc.length; c++) expected += nc[c]! * (n - nc[c]!);
  expected = n > 1 ? expected / (n - 1) : 0;
  return {
    alpha: expected > 0 ? 1 - disagree / expected : null,
    observedDisagreement: n > 0 ? disagree / n : 0,
    expectedDisagreement: n > 0 ? expected / n : 0,
    pairable: n,
  };
}
