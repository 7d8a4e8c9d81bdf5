/**
 * Bradley–Terry by Hunter's MM algorithm. Item i has strength γ_i > 0 (score β_i = log γ_i) and
 *
 *   P(i beats j) = γ_i / (γ_i + γ_j) = σ(β_i − β_j);   a tie is half a win for each side.
 *
 * With W_i the wins of i and n_ij the comparisons of i and j, the minorise–maximise update
 *
 *   γ_i ← W_i / Σ_j n_ij / (γ_i + γ_j),      then γ rescaled to mean 1,
 *
 * increases the log-likelihood ℓ(γ) = Σ_i W_i log γ_i − Σ_{i<j} n_ij log(γ_i + γ_j) at every
 * step (Hunter 2004, §3). Judgments are first folded into one row per pair, so an iteration is
 * O(pairs). `prior` > 0 adds virtual games against a reference item (see pairs.ts).
 *
 * MM converges linearly, often slowly (each step shrinks by a factor ρ close to 1 on large
 * sparse graphs): it stops when the log-likelihood gains less than `tol` per judgment and the
 * scores are within √tol of their limit (settlingWatch in pairs.ts); I-LSR needs far fewer
 * iterations.
 *
 * Preconditions: without a prior the comparison graph must be strongly connected (every group
 * of items beats or ties some item outside it); otherwise KEEL_E_NOT_CONNECTED names the
 * components. Example: a 3-cycle a > b > c > a gives equal scores.
 *
 * Citations: R. A. Bradley and M. E. Terry (1952), "Rank Analysis of Incomplete Block Designs:
 * I. The Method of Paired Comparisons", Biometrika 39(3/4):324–345, doi:10.2307/2334029;
 * D. R. Hunter (2004), "MM algorithms for generalized Bradley–Terry models", Annals of
 * Statistics 32(1):384–406, doi:10.1214/aos/1079120141.
 */
import { hasConverged } from "../numeric.js";
import type { IterOptions, PairwiseData, PairwiseResult } from "../types.js";
import {
  assertPairTableConnected,
  assertStrengthsInRange,
  buildPairTable,
  centredLogScores,
  type PairTable,
  pairLogLikelihood,
  settlingWatch,
} from "./pairs.js";

export interface BradleyTerryOptions extends IterOptions {
  /** Virtual wins and losses of each item against a reference item (0 = none). */
  readonly prior?: number;
}

export const BT_DEFAULT_MAX_ITER = 500;
export const BT_DEFAULT_TOL = 1e-8;

export function emptyPairwise(method: string, data: PairwiseData): PairwiseResult {
  return {
    method,
    items: data.items,
    workers: data.workers,
    scores: new Float64Array(data.nItems),
    iterations: 0,
    converged: true,
    history: [],
  };
}

/** One MM pass: fills den and returns ℓ(γ) of the γ it read. */
function mmPass(t: PairTable, gamma: Float64Array, den: Float64Array): number {
  den.fill(0);
  let ll = 0;
  for (let i = 0; i < t.nItems; i++) if (t.wins[i]! > 0) ll += t.wins[i]! * Math.log(gamma[i]!);
  const { lo, hi, wLo, wHi } = t;
  // Most pairs were compared once: their log(s) terms are summed as the log of a running
  // product, flushed before it can leave float range, which saves a log per pair.
  let prod = 1;
  for (let q = 0; q < lo.length; q++) {
    const a = lo[q]!;
    const b = hi[q]!;
    const s = gamma[a]! + gamma[b]!;
    const nq = wLo[q]! + wHi[q]!;
    const c = nq / s;
    den[a]! += c;
    den[b]! += c;
    if (nq === 1 && s > 1e-100 && s < 1e100) {
      prod *= s;
      if (prod > 1e100 || prod < 1e-100) {
        ll -= Math.log(prod);
        prod = 1;
      }
    } else ll -= nq * Math.log(s);
  }
  return ll - Math.log(prod);
}

/** Runs MM on a prepared pair table; returns γ (mean 1) and the trace. */
export function bradleyTerryMM(t: PairTable, opts: IterOptions, nJudgments: number) {
  const maxIter = opts.maxIter ?? BT_DEFAULT_MAX_ITER;
  const tol = opts.tol ?? BT_DEFAULT_TOL;
  const N = t.nItems;
  const gamma = new Float64Array(N).fill(1);
  const den = new Float64Array(N);
  const history: number[] = [];
  let iterations = 0;
  let converged = false;
  let ll = mmPass(t, gamma, den);
  const settled = settlingWatch(gamma);
  while (iterations < maxIter) {
    let sum = 0;
    for (let i = 0; i < N; i++) {
      gamma[i] = den[i]! > 0 ? t.wins[i]! / den[i]! : gamma[i]!;
      sum += gamma[i]!;
    }
    const scale = N / sum;
    for (let i = 0; i < N; i++) gamma[i] = gamma[i]! * scale;
    iterations++;
    assertStrengthsInRange(gamma, "bradley-terry");
    const next = mmPass(t, gamma, den);
    history.push(next);
    const done = settled(tol) && hasConverged(ll, next, nJudgments, tol);
    ll = next;
    if (done) {
      converged = true;
      break;
    }
  }
  return { gamma, iterations, converged, history, logLikelihood: ll };
}

export function bradleyTerry(data: PairwiseData, opts: BradleyTerryOptions = {}): PairwiseResult {
  if (data.left.length === 0) return emptyPairwise("bradley-terry", data);
  const prior = opts.prior ?? 0;
  const t = buildPairTable(data, prior);
  if (prior <= 0) assertPairTableConnected(t, data.items, "bradley-terry");
  const fit = bradleyTerryMM(t, opts, data.left.length);
  return {
    method: "bradley-terry",
    items: data.items,
    workers: data.workers,
    scores: centredLogScores(fit.gamma, data.nItems),
    iterations: fit.iterations,
    converged: fit.converged,
    history: fit.history,
    logLikelihood: fit.logLikelihood,
  };
}

export { pairLogLikelihood };
