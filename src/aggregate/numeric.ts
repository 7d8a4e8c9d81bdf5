/**
 * Small numerical helpers shared by the aggregation algorithms. Probabilities that multiply
 * across many judgments are kept in log space and normalised with a max-shift
 * (log Σ exp x = m + log Σ exp(x − m), m = max x), so that a task seen by 1,000 raters does
 * not underflow to 0/0.
 */

/**
 * Probabilities are clipped to at least this (float64 machine ε) before a log, so that a
 * never-seen confusion cell cannot give log 0. crowd-kit instead clips its confusion counts at
 * 10⁻¹⁰ before normalising: the same purpose, a slightly different floor.
 */
export const EPS = 2.220446049250313e-16;

export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** log σ(x) = −softplus(−x), stable for large |x|. */
export function logSigmoid(x: number): number {
  return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
}

/** log(p) with p clipped to [EPS, 1]. */
export function safeLog(p: number): number {
  return Math.log(Math.max(p, EPS));
}

/**
 * Exact ties. A class's score is a sum over the task's judgments, added up in the order of the
 * rows, so two classes the data treat alike (a split vote, a rater and their mirror image) can
 * come out an ulp apart, and which one is larger then follows the rows. Scores within rounding
 * of a larger one are therefore set equal to it: the posteriors of a tie are exactly equal, EM
 * stays on the tie instead of running off to the side rounding favoured, and the label goes to
 * the lower class, as majority vote's integer counts give it. Ties below the best count too:
 * one-coin Dawid–Skene, with two classes tied under a third, let them drift apart by rounding
 * over the iterations until one overtook the third (a/b posterior gap 1 after 1,000 iterations).
 *
 * "Within rounding": 2⁻³⁰ of `mass` (Σ |terms| that went into the row, which bounds the sum's
 * rounding error many times over, including what the fitted parameters bring from earlier
 * iterations) plus 2⁻³⁰. A ratio of posteriors of 1 + 10⁻⁹ is no evidence for either class.
 */
export function tieTolerance(mass: number): number {
  return 2 ** -30 * (mass + 1);
}

/**
 * Below the best score by more than this, exp(score − best) is 0 in float64: the posteriors of
 * such classes are exactly 0 and need no equalising.
 */
const UNDERFLOW = 750;

/** Rows up to this wide are clustered by repeated scans (K per cluster), wider ones by a sort. */
const SCAN_WIDTH = 8;

/**
 * Equalises the scores of row [o, o + K): from the largest down, each score within `tol` of
 * the top of its cluster is set to that top, and the first one below starts the next cluster
 * (so a cluster spans at most `tol`). Scores are log-space (classes more than UNDERFLOW below
 * the best are left alone), or shares in [0, 1]. Returns the largest score.
 */
export function equaliseTies(scores: Float64Array, o: number, K: number, tol: number): number {
  let m = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < K; k++) if (scores[o + k]! > m) m = scores[o + k]!;
  if (K > SCAN_WIDTH) equaliseSorted(scores, o, K, tol, m);
  else if (mayTie(scores, o, K, tol)) equaliseScanned(scores, o, K, tol, m);
  return m;
}

/**
 * False when no two scores of row [o, o + K) lie within `tol` of each other (most rows), so
 * that equaliseTies has nothing to do. Rows wider than SCAN_WIDTH are not checked (true): the
 * check is quadratic, and equaliseTies sorts them anyway.
 */
export function mayTie(scores: Float64Array, o: number, K: number, tol: number): boolean {
  if (K > SCAN_WIDTH) return true;
  for (let a = 1; a < K; a++)
    for (let b = 0; b < a; b++) if (Math.abs(scores[o + a]! - scores[o + b]!) <= tol) return true;
  return false;
}

/** Cluster by cluster from the top, one scan of the row each. */
function equaliseScanned(scores: Float64Array, o: number, K: number, tol: number, m: number) {
  for (let top = m; top > m - UNDERFLOW; ) {
    let next = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < K; k++) {
      const v = scores[o + k]!;
      if (v > top) continue; // in a cluster above
      if (top - v <= tol) scores[o + k] = top;
      else if (v > next) next = v;
    }
    top = next;
  }
}

/** The same, in one pass over the row sorted from the top. */
function equaliseSorted(scores: Float64Array, o: number, K: number, tol: number, m: number) {
  const order = Array.from({ length: K }, (_, k) => k).sort(
    (x, y) => scores[o + y]! - scores[o + x]!,
  );
  let top = m;
  for (const k of order) {
    const v = scores[o + k]!;
    if (top - v <= tol) scores[o + k] = top;
    else if (v > m - UNDERFLOW) top = v;
    else break;
  }
}

/**
 * Turns row-wise log-weights into probabilities in place and returns Σ_rows log Σ_k exp(row),
 * the log normaliser (the log-likelihood when rows are log joint probabilities). [rows, K]
 */
export function softmaxRowsInPlace(logw: Float64Array, rows: number, K: number): number {
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * K;
    let m = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < K; k++) if (logw[o + k]! > m) m = logw[o + k]!;
    let s = 0;
    for (let k = 0; k < K; k++) {
      const e = Math.exp(logw[o + k]! - m);
      logw[o + k] = e;
      s += e;
    }
    for (let k = 0; k < K; k++) logw[o + k] = logw[o + k]! / s;
    total += m + Math.log(s);
  }
  return total;
}

/** Index of each row's maximum; ties go to the lowest index. [rows, K] → [rows] */
export function argmaxRows(p: Float64Array, rows: number, K: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * K;
    let best = 0;
    let bv = p[o]!;
    for (let k = 1; k < K; k++) {
      if (p[o + k]! > bv) {
        bv = p[o + k]!;
        best = k;
      }
    }
    out[r] = best;
  }
  return out;
}

/** Column means of a [rows, K] matrix. */
export function columnMeans(p: Float64Array, rows: number, K: number): Float64Array {
  const out = new Float64Array(K);
  for (let r = 0; r < rows; r++) for (let k = 0; k < K; k++) out[k]! += p[r * K + k]!;
  if (rows > 0) for (let k = 0; k < K; k++) out[k] = out[k]! / rows;
  return out;
}

/** ψ(x), the digamma function, for x > 0 (recurrence to x ≥ 6, then the asymptotic series). */
export function digamma(x: number): number {
  let r = 0;
  while (x < 6) {
    r -= 1 / x;
    x += 1;
  }
  const f = 1 / (x * x);
  return (
    r +
    Math.log(x) -
    0.5 / x -
    f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f / 132))))
  );
}

/** True when the objective's gain per judgment is below `tol` (an absolute, per-datum test). */
export function hasConverged(prev: number, next: number, n: number, tol: number): boolean {
  return Math.abs(next - prev) / Math.max(n, 1) < tol;
}
