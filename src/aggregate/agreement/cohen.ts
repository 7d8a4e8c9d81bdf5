/**
 * Cohen's kappa for every pair of raters who share tasks. For raters a and b, over their common
 * tasks (each rater's first label on a task), with p_o the share of equal labels and p_a(k),
 * p_b(k) each rater's class shares on those tasks,
 *
 *   p_e = Σ_k p_a(k) p_b(k),      κ = (p_o − p_e) / (1 − p_e),
 *
 * null when p_e = 1 (both raters used one and the same class throughout).
 *
 * Cost: O(Σ_t m_t²) time over tasks with m_t raters, and per pair of raters who share a task
 * their agreements and each one's class counts (8(2K + 1) bytes, plus the index): p_e needs
 * only the margins, not the K×K table. `minCommon` drops pairs with few shared tasks from the
 * output (not from the work). The number of pairs is quadratic in the raters of a task that
 * many share (a check item shown to everyone), so past `maxPairs` pairs (default 1,000,000,
 * fewer with many classes: at most 2²⁴ cells, 128 MiB) the function refuses with
 * KEEL_E_UNSUPPORTED instead of exhausting memory.
 *
 * Citation: J. Cohen (1960), "A Coefficient of Agreement for Nominal Scales", Educational and
 * Psychological Measurement 20(1):37–46, doi:10.1177/001316446002000104.
 */
import { KeelError } from "../../core/errors.js";
import { groupByTask } from "../grouping.js";
import type { CategoricalData } from "../types.js";

export const COHEN_MAX_PAIRS = 1_000_000;
const COHEN_MAX_CELLS = 2 ** 24;

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
  opts: { minCommon?: number; maxPairs?: number } = {},
): CohenPair[] {
  const K = data.nClasses;
  // Slot s holds [agreements, a's class counts (K), b's class counts (K)] at tables[s·stride ..].
  const stride = 2 * K + 1;
  const maxPairs = opts.maxPairs ?? Math.min(COHEN_MAX_PAIRS, Math.floor(COHEN_MAX_CELLS / stride));
  const W = data.nWorkers;
  // Pair a·W + b → slot.
  const slotOf = new Map<number, number>();
  let tables = new Float64Array(stride * Math.min(64, maxPairs));
  const keys: number[] = [];
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
        let slot = slotOf.get(key);
        if (slot === undefined) {
          slot = keys.length;
          if (slot === maxPairs) {
            throw new KeelError(
              "KEEL_E_UNSUPPORTED",
              `Cohen's kappa per rater pair: more than ${maxPairs} pairs of raters share a task (task ${JSON.stringify(data.tasks[t])} alone has ${present.length} raters${maxPairs < COHEN_MAX_PAIRS ? `; with ${K} classes a pair's counts take ${stride} cells of at most ${COHEN_MAX_CELLS}` : ""})`,
              {
                hint: "Krippendorff's alpha, Fleiss' kappa and the leave-one-out agreement have no such limit",
              },
            );
          }
          slotOf.set(key, slot);
          keys.push(key);
          if ((slot + 1) * stride > tables.length) {
            const grown = new Float64Array(Math.min(tables.length * 2, maxPairs * stride));
            grown.set(tables);
            tables = grown;
          }
        }
        const o = slot * stride;
        const la = firstLabel[a]!;
        const lb = firstLabel[b]!;
        if (la === lb) tables[o]! += 1;
        tables[o + 1 + la]! += 1;
        tables[o + 1 + K + lb]! += 1;
      }
    }
  }
  const out: CohenPair[] = [];
  const minCommon = opts.minCommon ?? 1;
  for (let slot = 0; slot < keys.length; slot++) {
    const key = keys[slot]!;
    const o = slot * stride;
    const a = Math.floor(key / W);
    const b = key - a * W;
    let n = 0;
    for (let k = 0; k < K; k++) n += tables[o + 1 + k]!;
    if (n < minCommon) continue;
    let pe = 0;
    for (let k = 0; k < K; k++) pe += (tables[o + 1 + k]! / n) * (tables[o + 1 + K + k]! / n);
    const po = tables[o]! / n;
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
