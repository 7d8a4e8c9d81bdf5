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
 * Cost Σ_t m_t²/2 index updates. A comparison with more than `maxRaters` raters counts a sample
 * of `maxRaters` of them (m_t = maxRaters above), chosen by a hash of rater and comparison id —
 * not skipped: a team with more accounts than the cap on the comparisons it floods would
 * otherwise never co-rate anything, and a sample of a flooded comparison is mostly the team.
 */

import { compareText } from "../core/canonical.js";
import { Column } from "../core/column.js";
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

/**
 * Pair (i, j), i < j, → its row. Dense (one Int32 per rater pair, −1 = none) while that is at
 * most 64 MB — 4,096 raters — else a Map. At a million judgments by 2,000 raters the dense index
 * takes 16 MB where a Map of the ~1.1M pairs took ~100 MB more at the audit's peak.
 */
const DENSE_CELLS = 1 << 24;

function pairIndex(W: number): { get(key: number): number; set(key: number, p: number): void } {
  if (W * W <= DENSE_CELLS) {
    const dense = new Int32Array(W * W).fill(-1);
    return {
      get: (key) => dense[key]!,
      set: (key, p) => {
        dense[key] = p;
      },
    };
  }
  const map = new Map<number, number>();
  return {
    get: (key) => map.get(key) ?? -1,
    set: (key, p) => {
      map.set(key, p);
    },
  };
}

/** FNV-1a of a string, continued from `h`. */
function fnv(text: string, h = 0x811c9dc5): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The `k` judgments of `order[s..e)` whose raters hash lowest with this comparison, in their
 * original order: the same raters whatever the input order (rater indices are first-seen).
 */
function sample(data: AuditData, c: number, s: number, e: number, k: number): Int32Array {
  const salt = fnv(data.comparisons.ids[c]!);
  const hashes = new Float64Array(e - s);
  const idx: number[] = [];
  for (let q = s; q < e; q++) {
    hashes[q - s] = fnv(data.raterIds[data.rater[data.order[q]!]!]!, salt);
    idx.push(q);
  }
  // A rater id is unique per comparison (repeats are inactive), so ties need the id itself only
  // for hash collisions.
  idx.sort((x, y) => {
    const d = hashes[x - s]! - hashes[y - s]!;
    if (d !== 0) return d;
    return compareText(
      data.raterIds[data.rater[data.order[x]!]!]!,
      data.raterIds[data.rater[data.order[y]!]!]!,
    );
  });
  return Int32Array.from(
    idx.slice(0, k).sort((x, y) => x - y),
    (q) => data.order[q]!,
  );
}

export function pairTable(data: AuditData, maxRaters: number): PairTable {
  const W = data.nRaters;
  const index = pairIndex(W);
  const first = new Column(Int32Array);
  const second = new Column(Int32Array);
  const co = new Column(Float64Array);
  const agree = new Column(Float64Array);
  const judged = new Float64Array(W);
  let M = 0;
  let S = 0;
  const { start, order } = data;
  for (let c = 0; c < data.nComparisons; c++) {
    const s = start[c]!;
    const e = start[c + 1]!;
    if (e - s < 2) continue;
    // The judgments counted: all of them, or a flooded comparison's sample.
    const sel = e - s > maxRaters ? sample(data, c, s, e, maxRaters) : order.subarray(s, e);
    const m = sel.length;
    M += m;
    S += m * (m - 1);
    for (let x = 0; x < m; x++) judged[data.rater[sel[x]!]!]! += 1;
    for (let x = 0; x < m; x++) {
      const jq = sel[x]!;
      const wq = data.rater[jq]!;
      const lq = data.label[jq]!;
      for (let y = x + 1; y < m; y++) {
        const jr = sel[y]!;
        const wr = data.rater[jr]!;
        const i = Math.min(wq, wr);
        const k = Math.max(wq, wr);
        const key = i * W + k;
        let p = index.get(key);
        if (p < 0) {
          p = first.length;
          index.set(key, p);
          first.push(i);
          second.push(k);
          co.push(0);
          agree.push(0);
        }
        co.add(p, 1);
        agree.add(p, GRADED[lq]![data.label[jr]!]!);
      }
    }
  }
  const P = first.length;
  const [firstOf, secondOf] = [first.finish(), second.finish()];
  const expectedCo = new Float64Array(P);
  const scale = M > 0 ? S / (M * M) : 0;
  for (let p = 0; p < P; p++) expectedCo[p] = judged[firstOf[p]!]! * judged[secondOf[p]!]! * scale;
  return {
    nRaters: W,
    first: firstOf,
    second: secondOf,
    co: co.finish(),
    agree: agree.finish(),
    expectedCo,
    judged,
    indexOf(i: number, j: number): number {
      const a = Math.min(i, j);
      const b = Math.max(i, j);
      return index.get(a * W + b);
    },
  };
}
