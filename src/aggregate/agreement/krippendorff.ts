/**
 * Krippendorff's alpha for nominal data. Units are tasks, values are labels; units with fewer
 * than two values are not pairable and are dropped. With n_uc the number of values c in unit u
 * and m_u = Σ_c n_uc, the coincidence matrix is
 *
 *   o_ck = Σ_u n_uc (n_uk − [c = k]) / (m_u − 1),    n_c = Σ_k o_ck,   n = Σ_c n_c,
 *
 * and α = 1 − D_o / D_e with D_o = Σ_{c≠k} o_ck (observed disagreement) and
 * D_e = Σ_{c≠k} n_c n_k / (n − 1) (expected by chance). α = 1 is perfect agreement, 0 chance.
 * When every pairable value is the same (D_e = 0) α is undefined and `alpha` is null.
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
  const K = data.nClasses;
  const counts = taskClassCounts(data);
  const o = new Float64Array(K * K);
  for (let t = 0; t < data.nTasks; t++) {
    let m = 0;
    for (let c = 0; c < K; c++) m += counts[t * K + c]!;
    if (m < 2) continue;
    for (let c = 0; c < K; c++) {
      const nc = counts[t * K + c]!;
      if (nc === 0) continue;
      for (let k = 0; k < K; k++) {
        const nk = counts[t * K + k]!;
        o[c * K + k]! += (nc * (nk - (c === k ? 1 : 0))) / (m - 1);
      }
    }
  }
  const nc = new Float64Array(K);
  let n = 0;
  let disagree = 0;
  for (let c = 0; c < K; c++) {
    for (let k = 0; k < K; k++) {
      nc[c]! += o[c * K + k]!;
      if (c !== k) disagree += o[c * K + k]!;
    }
    n += nc[c]!;
  }
  let expected = 0;
  for (let c = 0; c < K; c++) for (let k = 0; k < K; k++) if (c !== k) expected += nc[c]! * nc[k]!;
  expected = n > 1 ? expected / (n - 1) : 0;
  return {
    alpha: expected > 0 ? 1 - disagree / expected : null,
    observedDisagreement: n > 0 ? disagree / n : 0,
    expectedDisagreement: n > 0 ? expected / n : 0,
    pairable: n,
  };
}
