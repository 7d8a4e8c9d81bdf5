/**
 * Pair statistics for collusion detection: for every two raters who judged a common
 * comparison, how many comparisons they shared and how much they agreed (graded: ties ½).
 *
 *   co_ij    = #comparisons judged by both i and j
 *   agree_ij = Σ_{shared t} g(l_it, l_jt)
 *   E[co_ij] = n_i n_j S / M²,   M = Σ_t m_t,  S = Σ_t m_t(m_t − 1)
 *
 * E[co_ij] is what independent assignment would give: rater i is on comparison t with
 * probability ≈ m_t n_i / M, so both are with probability ≈ m_t(m_t − 1) n_i n_j / M². Sybil
 * accounts that take the same comparisons on purpose co-rate far above it.
 * Cost Σ_t m_t²/2 map updates; comparisons with more than `maxRaters` raters are skipped.
 */
import type { AuditData } from "./data.js";

export interface PairTable {
  readonly nRaters: number;
  /** Rater indices of each pair, i < j. */
  readonly first: Int32Array;
  readonly second: Int32Array;
  readonly co: Float64Array;
  readonly agree: Float64Array;
  readonly expectedCo: Float64Array;
  /** Judgments per rater on the comparisons counted. */
  readonly judged: Float64Array;
  /** Index of the pair (i, j), or −1. */
  indexOf(i: number, j: number): number;
}

const GRADED = [
  [1, 0, 0.5],
  [0, 1, 0.5],
  [0.5, 0.5, 1],
];

export function pairTable(data: AuditData, maxRaters: number): PairTable {
  const W = data.nRaters;
  const index = new Map<number, number>();
  const first: number[] = [];
  const second: number[] = [];
  const co: number[] = [];
  const agree: number[] = [];
  const judged = new Float64Array(W);
  let M = 0;
  let S = 0;
  const { start, order } = data;
  for (let c = 0; c < data.nComparisons; c++) {
    const s = start[c]!;
    const e = start[c + 1]!;
    const m = e - s;
    if (m < 2 || m > maxRaters) continue;
    M += m;
    S += m * (m - 1);
    for (let q = s; q < e; q++) judged[data.rater[order[q]!]!]! += 1;
    for (let q = s; q < e; q++) {
      const jq = order[q]!;
      const wq = data.rater[jq]!;
      const lq = data.label[jq]!;
      for (let r = q + 1; r < e; r++) {
        const jr = order[r]!;
        const wr = data.rater[jr]!;
        const i = Math.min(wq, wr);
        const k = Math.max(wq, wr);
        const key = i * W + k;
        let p = index.get(key);
        if (p === undefined) {
          p = first.length;
          index.set(key, p);
          first.push(i);
          second.push(k);
          co.push(0);
          agree.push(0);
        }
        co[p]! += 1;
        agree[p]! += GRADED[lq]![data.label[jr]!]!;
      }
    }
  }
  const P = first.length;
  const expectedCo = new Float64Array(P);
  const scale = M > 0 ? S / (M * M) : 0;
  for (let p = 0; p < P; p++) expectedCo[p] = judged[first[p]!]! * judged[second[p]!]! * scale;
  return {
    nRaters: W,
    first: Int32Array.from(first),
    second: Int32Array.from(second),
    co: Float64Array.from(co),
    agree: Float64Array.from(agree),
    expectedCo,
    judged,
    indexOf(i: number, j: number): number {
      const a = Math.min(i, j);
      const b = Math.max(i, j);
      return index.get(a * W + b) ?? -1;
    },
  };
}
