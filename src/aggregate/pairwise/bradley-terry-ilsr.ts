/**
 * Bradley–Terry by I-LSR (Iterative Luce Spectral Ranking). The maximum-likelihood strengths π
 * are the stationary distribution of a Markov chain in which, for every comparison that i won
 * against j, probability flows from loser j to winner i at rate 1/(π_i + π_j), evaluated at the
 * solution itself. I-LSR iterates: freeze c_ij = 1/(π_i + π_j) at the current π, solve the
 * balance equations of the chain
 *
 *   π_i Σ_j w_ji c_ij = Σ_j π_j w_ij c_ij          (w_ij = wins of i over j; ties ½ each)
 *
 * for the new π, repeat. Its fixed point is the MLE (the balance equations are then the
 * likelihood equations W_i = Σ_j n_ij π_i/(π_i+π_j)), and it typically needs far fewer outer
 * iterations than MM. The inner linear system is solved by Gauss–Seidel sweeps over the sparse
 * pair graph (the paper uses a dense solver, O(N³), which would not scale to many items).
 *
 * Preconditions and `prior`: as Bradley–Terry MM (strongly connected graph, or a prior).
 *
 * Citation: L. Maystre and M. Grossglauser (2015), "Fast and Accurate Inference of
 * Plackett–Luce Models", Advances in Neural Information Processing Systems 28 (NIPS 2015),
 * pp. 172–180, arXiv:1502.03997 (no DOI was issued for NIPS 2015 papers).
 */
import { hasConverged } from "../numeric.js";
import type { PairwiseData, PairwiseResult } from "../types.js";
import { type BradleyTerryOptions, BT_DEFAULT_TOL, emptyPairwise } from "./bradley-terry.js";
import {
  assertPairTableConnected,
  assertStrengthsInRange,
  buildPairTable,
  centredLogScores,
  type PairTable,
  pairLogLikelihood,
  settlingWatch,
} from "./pairs.js";

export interface IlsrOptions extends BradleyTerryOptions {
  /** Gauss–Seidel sweeps per outer iteration at most. */
  readonly innerIters?: number;
}

/** Per-item adjacency over the pair table: neighbour, wins of self over it, wins of it over self. */
function adjacency(t: PairTable) {
  const N = t.nItems;
  const m = t.lo.length;
  const start = new Int32Array(N + 1);
  for (let q = 0; q < m; q++) {
    start[t.lo[q]! + 1]! += 1;
    start[t.hi[q]! + 1]! += 1;
  }
  for (let i = 0; i < N; i++) start[i + 1]! += start[i]!;
  const fill = start.slice(0, N);
  const nb = new Int32Array(2 * m);
  const won = new Float64Array(2 * m);
  const lost = new Float64Array(2 * m);
  for (let q = 0; q < m; q++) {
    const a = t.lo[q]!;
    const b = t.hi[q]!;
    let e = fill[a]!++;
    nb[e] = b;
    won[e] = t.wLo[q]!;
    lost[e] = t.wHi[q]!;
    e = fill[b]!++;
    nb[e] = a;
    won[e] = t.wHi[q]!;
    lost[e] = t.wLo[q]!;
  }
  return { start, nb, won, lost };
}

export function bradleyTerryIlsr(data: PairwiseData, opts: IlsrOptions = {}): PairwiseResult {
  if (data.left.length === 0) return emptyPairwise("bradley-terry-ilsr", data);
  const prior = opts.prior ?? 0;
  const t = buildPairTable(data, prior);
  if (prior <= 0) assertPairTableConnected(t, data.items, "bradley-terry-ilsr");
  const maxIter = opts.maxIter ?? 100;
  const tol = opts.tol ?? BT_DEFAULT_TOL;
  const inner = opts.innerIters ?? 200;
  const N = t.nItems;
  const { start, nb, won, lost } = adjacency(t);
  const rate = new Float64Array(nb.length);
  const pi = new Float64Array(N).fill(1);
  const history: number[] = [];
  let ll = pairLogLikelihood(t, pi);
  const settled = settlingWatch(pi);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIter) {
    for (let i = 0; i < N; i++) {
      for (let e = start[i]!; e < start[i + 1]!; e++) rate[e] = 1 / (pi[i]! + pi[nb[e]!]!);
    }
    for (let sweep = 0; sweep < inner; sweep++) {
      let change = 0;
      let sum = 0;
      for (let i = 0; i < N; i++) {
        let inflow = 0;
        let out = 0;
        for (let e = start[i]!; e < start[i + 1]!; e++) {
          inflow += pi[nb[e]!]! * won[e]! * rate[e]!;
          out += lost[e]! * rate[e]!;
        }
        if (out > 0 && inflow > 0) {
          const v = inflow / out;
          change = Math.max(change, Math.abs(Math.log(v / pi[i]!)));
          pi[i] = v;
        }
        sum += pi[i]!;
      }
      const scale = N / sum;
      for (let i = 0; i < N; i++) pi[i] = pi[i]! * scale;
      if (change < 1e-12) break;
    }
    iterations++;
    assertStrengthsInRange(pi, "bradley-terry-ilsr");
    const next = pairLogLikelihood(t, pi);
    history.push(next);
    const done = settled(tol) && hasConverged(ll, next, data.left.length, tol);
    ll = next;
    if (done) {
      converged = true;
      break;
    }
  }
  return {
    method: "bradley-terry-ilsr",
    items: data.items,
    workers: data.workers,
    scores: centredLogScores(pi, data.nItems),
    iterations,
    converged,
    history,
    logLikelihood: ll,
  };
}
