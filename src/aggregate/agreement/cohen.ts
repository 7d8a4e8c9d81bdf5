/**
 * Cohen's kappa for every pair of raters who share tasks. For raters a and b, over their common
 * tasks (each rater's first label on a task), with p_o the share of equal labels and p_a(k),
 * p_b(k) each rater's class shares on those tasks,
 *
 *   p_e = Σ_k p_a(k) p_b(k),      κ = (p_o − p_e) / (1 − p_e),
 *
 * null when p_e = 1 (both raters used one and the same class throughout).
 *
 * Cost: O(Σ_t m_t²) time over tasks with m_t raters and O(pairs · K²) memory; `minCommon`
 * drops pairs with few shared tasks from the output (not from the work).
 *
 * Citation: J. Cohen (1960), "A Coefficient of Agreement for Nominal Scales", Educational and
 * Psychological Measurement 20(1):37–46, doi:10.1177/001316446002000104.
 */
import { groupByTask } from "../grouping.js";
import type { CategoricalData } from "../types.js";

export interface CohenPair {
  /** Worker indices, a < b. */
  readonly a: number;
  readonly b: number;
  readonly common: number;
  readonly observed: number;
  readonly expected: number;
  readonly kappa: number | null;
}

export function cohenKappaPairs(
  data: CategoricalData,
  opts: { minCommon?: number } = {},
): CohenPair[] {
  const K = data.nClasses;
  const W = data.nWorkers;
  const tables = new Map<number, Float64Array>();
  const { start, order } = groupByTask(data);
  const seen = new Int32Array(W).fill(-1);
  const firstLabel = new Int32Array(W);
  const present: number[] = [];
  for (let t = 0; t < data.nTasks; t++) {
    present.length = 0;
    for (let q = start[t]!; q < start[t + 1]!; q++) {
      const j = order[q]!;
      const w = data.worker[j]!;
      if (seen[w] === t) continue;
      seen[w] = t;
      firstLabel[w] = data.label[j]!;
      present.push(w);
    }
    present.sort((x, y) => x - y);
    for (let x = 0; x < present.length; x++) {
      for (let y = x + 1; y < present.length; y++) {
        const a = present[x]!;
        const b = present[y]!;
        const key = a * W + b;
        let tab = tables.get(key);
        if (!tab) {
          tab = new Float64Array(K * K);
          tables.set(key, tab);
        }
        tab[firstLabel[a]! * K + firstLabel[b]!]! += 1;
      }
    }
  }
  const out: CohenPair[] = [];
  const minCommon = opts.minCommon ?? 1;
  for (const [key, tab] of tables) {
    const a = Math.floor(key / W);
    const b = key - a * W;
    let n = 0;
    let agree = 0;
    const ra = new Float64Array(K);
    const rb = new Float64Array(K);
    for (let i = 0; i < K; i++) {
      for (let k = 0; k < K; k++) {
        const v = tab[i * K + k]!;
        n += v;
        ra[i]! += v;
        rb[k]! += v;
        if (i === k) agree += v;
      }
    }
    if (n < minCommon) continue;
    let pe = 0;
    for (let k = 0; k < K; k++) pe += (ra[k]! / n) * (rb[k]! / n);
    const po = agree / n;
    out.push({
      a,
      b,
      common: n,
      observed: po,
      expected: pe,
      kappa: pe < 1 ? (po - pe) / (1 - pe) : null,
    });
  }
  out.sort((x, y) => x.a - y.a || x.b - y.b);
  return out;
}
