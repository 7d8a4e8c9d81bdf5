/**
 * The pair table shared by the Bradley–Terry fits: judgments folded into one row per unordered
 * pair {i, j} with the wins of each side (a tie counts half a win to each, the outcome y = ½ of
 * the Bernoulli likelihood y log p + (1 − y) log(1 − p)). Regularisation adds a virtual
 * reference item ("ghost") that every item beats `prior` times and loses to `prior` times;
 * this is the prior crowd-kit's NoisyBT uses, it makes every graph strongly connected and
 * shrinks scores towards the common mean.
 */
import { KeelError } from "../../core/errors.js";
import { rateTest } from "../settling.js";
import type { PairwiseData } from "../types.js";
import { LEFT_WINS, TIE } from "../types.js";
import { assertStronglyConnected, buildDigraph } from "./graph.js";

export interface PairTable {
  /** Items including the ghost (last) when regularised. */
  readonly nItems: number;
  readonly ghost: boolean;
  /** The two items of each pair, lo < hi. [m] */
  readonly lo: Int32Array;
  readonly hi: Int32Array;
  /** Wins of lo over hi and of hi over lo (ties count ½ each). [m] */
  readonly wLo: Float64Array;
  readonly wHi: Float64Array;
  /** Total wins of each item. [nItems] */
  readonly wins: Float64Array;
}

/** Folds judgments into unique pairs by sorting composite keys (pair, outcome). */
export function buildPairTable(data: PairwiseData, prior = 0): PairTable {
  const N = data.nItems;
  const n = data.left.length;
  const keys = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const l = data.left[j]!;
    const r = data.right[j]!;
    const lo = Math.min(l, r);
    const hi = Math.max(l, r);
    const o = data.outcome[j]!;
    // 0: lo wins, 1: hi wins, 2: tie.
    const code = o === TIE ? 2 : (o === LEFT_WINS) === (l === lo) ? 0 : 1;
    keys[j] = (lo * N + hi) * 3 + code;
  }
  keys.sort();
  let m = 0;
  for (let j = 0; j < n; j++)
    if (j === 0 || Math.floor(keys[j]! / 3) !== Math.floor(keys[j - 1]! / 3)) m++;
  const extra = prior > 0 ? N : 0;
  const lo = new Int32Array(m + extra);
  const hi = new Int32Array(m + extra);
  const wLo = new Float64Array(m + extra);
  const wHi = new Float64Array(m + extra);
  let p = -1;
  let prevPair = -1;
  for (let j = 0; j < n; j++) {
    const key = keys[j]!;
    const pair = Math.floor(key / 3);
    const code = key - pair * 3;
    if (pair !== prevPair) {
      p++;
      prevPair = pair;
      lo[p] = Math.floor(pair / N);
      hi[p] = pair - lo[p]! * N;
    }
    if (code === 0) wLo[p]! += 1;
    else if (code === 1) wHi[p]! += 1;
    else {
      wLo[p]! += 0.5;
      wHi[p]! += 0.5;
    }
  }
  const total = N + (prior > 0 ? 1 : 0);
  for (let e = 0; e < extra; e++) {
    lo[m + e] = e;
    hi[m + e] = N;
    wLo[m + e] = prior;
    wHi[m + e] = prior;
  }
  const wins = new Float64Array(total);
  for (let q = 0; q < lo.length; q++) {
    wins[lo[q]!]! += wLo[q]!;
    wins[hi[q]!]! += wHi[q]!;
  }
  return { nItems: total, ghost: prior > 0, lo, hi, wLo, wHi, wins };
}

/** Checks strong connectivity (loser → winner edges) and throws KEEL_E_NOT_CONNECTED if not. */
export function assertPairTableConnected(
  t: PairTable,
  names: readonly string[],
  method: string,
): void {
  const from = new Int32Array(2 * t.lo.length);
  const to = new Int32Array(2 * t.lo.length);
  let m = 0;
  for (let q = 0; q < t.lo.length; q++) {
    if (t.wLo[q]! > 0) {
      from[m] = t.hi[q]!;
      to[m++] = t.lo[q]!;
    }
    if (t.wHi[q]! > 0) {
      from[m] = t.lo[q]!;
      to[m++] = t.hi[q]!;
    }
  }
  assertStronglyConnected(buildDigraph(t.nItems, from, to, m), names, method);
}

/** log-likelihood Σ_pairs w_lo log(γ_lo/(γ_lo+γ_hi)) + w_hi log(γ_hi/(γ_lo+γ_hi)). */
export function pairLogLikelihood(t: PairTable, gamma: Float64Array): number {
  let ll = 0;
  for (let i = 0; i < t.nItems; i++) if (t.wins[i]! > 0) ll += t.wins[i]! * Math.log(gamma[i]!);
  for (let q = 0; q < t.lo.length; q++) {
    ll -= (t.wLo[q]! + t.wHi[q]!) * Math.log(gamma[t.lo[q]!]! + gamma[t.hi[q]!]!);
  }
  return ll;
}

/**
 * Watches the strengths γ between iterations and tells when the scores have settled: when the
 * distance still to go, extrapolated from the last step d = max_i |γ'_i/γ_i − 1| at the observed
 * rate ρ = d/d_prev of a linearly converging iteration (d + dρ + dρ² + … = d/(1 − ρ)), is below
 * √tol. The log-likelihood's gain alone does not show this: it is quadratic in the step near the
 * maximum, so MM, whose steps shrink only by a constant factor, gains less than 10⁻⁸ per judgment
 * while the scores are still 10⁻² away; and a rater model whose scores run off to ±∞ gains ever
 * less while they keep growing (ρ stays near 1). √tol puts the two tests on the same scale.
 * `params` (the rater models' skills and biases, probabilities) must settle too, each group by
 * its own absolute step and rate: a rater's bias leaving 0 grows slowly while the scores' steps
 * still shrink, and the scores follow it (Noisy BT stopped with a bias of 0.0003 on its way to
 * 0.091 and scores 0.03 from their limit).
 * Call it once after each update, which it reads in place.
 */
export function settlingWatch(
  gamma: Float64Array,
  params: readonly Float64Array[] = [],
): (tol: number) => boolean {
  const prev = Float64Array.from(gamma);
  const prevParams = params.map((p) => Float64Array.from(p));
  // One rate per group: a slow parameter's growing step must not hide behind the scores' shrinking ones.
  const tests = [gamma, ...params].map(() => rateTest());
  const largest = (step: number, d: number) => (d > step || Number.isNaN(d) ? d : step);
  return (tol) => {
    let step = 0;
    for (let i = 0; i < gamma.length; i++) {
      step = largest(step, Math.abs(gamma[i]! / prev[i]! - 1));
      prev[i] = gamma[i]!;
    }
    let settled = tests[0]!(step, tol);
    params.forEach((p, k) => {
      const before = prevParams[k]!;
      let d = 0;
      for (let i = 0; i < p.length; i++) {
        d = largest(d, Math.abs(p[i]! - before[i]!));
        before[i] = p[i]!;
      }
      // Every group's test is called each time: each keeps its own previous step.
      settled = tests[k + 1]!(d, tol) && settled;
    });
    return settled;
  };
}

/** Centred log-strengths of the real items (the ghost dropped). [nReal] */
export function centredLogScores(gamma: Float64Array, nReal: number): Float64Array {
  const out = new Float64Array(nReal);
  let mean = 0;
  for (let i = 0; i < nReal; i++) mean += out[i] = Math.log(gamma[i]!);
  mean /= Math.max(nReal, 1);
  for (let i = 0; i < nReal; i++) out[i] = out[i]! - mean;
  return out;
}

/**
 * Throws KEEL_E_NOT_CONNECTED when the fitted scores are not finite. The rater models (Noisy BT,
 * Crowd-BT) can read a rater's answers as random or flipped, and the graph of the comparisons
 * that are then left may not be strongly connected even though the raw one is: without a prior
 * some strengths then run off to 0 or ∞ and the scores to NaN.
 */
export function assertFiniteScores(scores: Float64Array, method: string): void {
  if (scores.every(Number.isFinite)) return;
  throw ranOffError(method);
}

/**
 * The smallest normal float64 (2⁻¹⁰²²). A strength below it has left float range for the rater
 * models: a subnormal keeps too few bits for its ratio to the last step to move, so the step
 * reads 0 and the fit "settles" on frozen scores.
 */
export const MIN_NORMAL_STRENGTH = 2 ** -1022;

/** The error of a rater model whose scores ran off to ±∞ (see assertFiniteScores). */
export function ranOffError(method: string): KeelError {
  return new KeelError(
    "KEEL_E_NOT_CONNECTED",
    `${method}: the scores ran off to ±∞: once the fitted raters' answers are discounted or turned around, some group of items never beats or ties the rest`,
    {
      hint: "ask for regularisation (--prior, e.g. 1), which adds virtual games against a reference item, or add comparisons",
    },
  );
}

/**
 * Throws KEEL_E_NUMERIC when a strength γ = e^β has left float range (0 or ∞). The scores of a
 * strongly connected graph are finite, but they can span more than the ~1,400 nats that float64
 * strengths hold: a ladder of 105 items, each beating the next 1,000 times to 1, has MLE scores
 * ±360, and the strengths, scaled to mean 1, underflowed to 0 and every score came back NaN.
 */
export function assertStrengthsInRange(gamma: Float64Array, method: string): void {
  for (let i = 0; i < gamma.length; i++) {
    if (gamma[i]! > 0 && gamma[i]! < Number.POSITIVE_INFINITY) continue;
    throw new KeelError(
      "KEEL_E_NUMERIC",
      `${method}: the scores span more than float range can hold (strengths e^β past 10^±308): some items beat others by near-certain margins along long chains`,
      {
        hint: "ask for regularisation (--prior, e.g. 1), which shrinks the scores towards their mean",
      },
    );
  }
}
