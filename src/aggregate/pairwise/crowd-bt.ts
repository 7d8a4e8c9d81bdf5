/**
 * Crowd-BT: each rater w tells the truth with probability η_w and reports the opposite
 * preference otherwise, so that adversarial raters (η_w < ½) are recognised and their answers
 * turned around rather than merely discounted:
 *
 *   P(w prefers l over r) = η_w σ(β_l − β_r) + (1 − η_w) σ(β_r − β_l).
 *
 * A tie counts as half an observation each way. Fitted by EM over the latent "truthful"
 * indicator (the paper updates online with moment matching; this is the batch MLE):
 *   E-step  r_j = η_w p_j / (η_w p_j + (1 − η_w)(1 − p_j)),  p_j = BT probability of the answer
 *   M-step  η_w = mean r_j;  β: one MM step on Bradley–Terry where judgment j is a win for the
 *           chosen item with weight r_j and for the other with weight 1 − r_j.
 * Generalised EM: the log-likelihood never falls. Start: β = 0, η = 0.9 (η = ½ everywhere is a
 * stationary point). Like every flip model it is identified only up to swapping all preferences
 * and all η ↦ 1 − η; the start from η > ½ selects the reading in which most raters are honest.
 * Stops as MM does (log-likelihood gain and settled scores and η, see settlingWatch); a strength
 * that falls out of float range (below 2⁻¹⁰²²) means the scores ran off (KEEL_E_NOT_CONNECTED).
 *
 * Preconditions: as Bradley–Terry (strongly connected graph, or `prior` > 0).
 *
 * Citation: X. Chen, P. N. Bennett, K. Collins-Thompson and E. Horvitz (2013), "Pairwise
 * Ranking Aggregation in a Crowdsourced Setting", Proceedings of WSDM 2013, pp. 193–202,
 * doi:10.1145/2433396.2433420.
 */
import { hasConverged } from "../numeric.js";
import type { PairwiseData, PairwiseResult } from "../types.js";
import { LEFT_WINS, RIGHT_WINS } from "../types.js";
import { markUnjudged } from "../unjudged.js";
import {
  type BradleyTerryOptions,
  BT_DEFAULT_MAX_ITER,
  BT_DEFAULT_TOL,
  emptyPairwise,
} from "./bradley-terry.js";
import {
  assertFiniteScores,
  assertPairTableConnected,
  buildPairTable,
  centredLogScores,
  MIN_NORMAL_STRENGTH,
  ranOffError,
  settlingWatch,
} from "./pairs.js";

export type CrowdBtOptions = BradleyTerryOptions;

export function crowdBradleyTerry(data: PairwiseData, opts: CrowdBtOptions = {}): PairwiseResult {
  if (data.left.length === 0)
    return {
      ...emptyPairwise("crowd-bt", data),
      skills: new Float64Array(data.nWorkers).fill(Number.NaN),
      reliability: new Float64Array(data.nWorkers).fill(Number.NaN),
    };
  const prior = opts.prior ?? 0;
  if (prior <= 0) assertPairTableConnected(buildPairTable(data, 0), data.items, "crowd-bt");
  const maxIter = opts.maxIter ?? BT_DEFAULT_MAX_ITER;
  const tol = opts.tol ?? BT_DEFAULT_TOL;
  const R = data.nItems;
  const N = R + (prior > 0 ? 1 : 0);
  const W = data.nWorkers;
  const gamma = new Float64Array(N).fill(1);
  const eta = new Float64Array(W).fill(0.9);
  const wins = new Float64Array(N);
  const den = new Float64Array(N);
  const num = new Float64Array(W);
  const tot = new Float64Array(W);
  const { worker, left, right, outcome } = data;
  const n = left.length;

  const pass = (): number => {
    wins.fill(0);
    den.fill(0);
    num.fill(0);
    tot.fill(0);
    let ll = 0;
    for (let j = 0; j < n; j++) {
      const w = worker[j]!;
      const l = left[j]!;
      const r = right[j]!;
      const s = gamma[l]! + gamma[r]!;
      // Each side's probability as its own ratio, never as 1 − p: when a strength runs off
      // towards 0, 1 − p and 1 − resp cancel to rounding noise, the runaway strength stopped
      // shrinking, and the fit reported converged on frozen scores (one at −28.8, heading to −∞).
      const pL = gamma[l]! / s;
      const pR = gamma[r]! / s;
      const e = eta[w]!;
      const o = outcome[j]!;
      const half = o === LEFT_WINS || o === RIGHT_WINS ? 1 : 0.5;
      for (let y = 1; y >= 0; y--) {
        if ((y === 1 && o === RIGHT_WINS) || (y === 0 && o === LEFT_WINS)) continue;
        const p = y === 1 ? pL : pR;
        const q = y === 1 ? pR : pL;
        const mix = e * p + (1 - e) * q;
        const resp = (e * p) / mix;
        const flipped = ((1 - e) * q) / mix;
        ll += half * Math.log(mix);
        num[w]! += half * resp;
        tot[w]! += half;
        wins[y === 1 ? l : r]! += half * resp;
        wins[y === 1 ? r : l]! += half * flipped;
        const g = half / s;
        den[l]! += g;
        den[r]! += g;
      }
    }
    if (prior > 0) {
      for (let i = 0; i < R; i++) {
        const s = gamma[i]! + gamma[R]!;
        ll += prior * (Math.log(gamma[i]! / s) + Math.log(gamma[R]! / s));
        wins[i]! += prior;
        wins[R]! += prior;
        den[i]! += (2 * prior) / s;
        den[R]! += (2 * prior) / s;
      }
    }
    return ll;
  };

  const history: number[] = [];
  let ll = pass();
  const settled = settlingWatch(gamma, [eta]);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIter) {
    for (let w = 0; w < W; w++)
      if (tot[w]! > 0) eta[w] = Math.min(Math.max(num[w]! / tot[w]!, 1e-6), 1 - 1e-6);
    let sum = 0;
    let ranOff = false;
    for (let i = 0; i < N; i++) {
      // Weighted wins that vanish (underflow included) mean γ_i → 0: the scores ran off.
      if (den[i]! > 0) gamma[i] = wins[i]! / den[i]!;
      ranOff ||= !(gamma[i]! >= MIN_NORMAL_STRENGTH);
      sum += gamma[i]!;
    }
    for (let i = 0; i < N; i++) gamma[i] = (gamma[i]! * N) / sum;
    iterations++;
    if (ranOff) throw ranOffError("crowd-bt");
    const next = pass();
    history.push(next);
    const done = settled(tol) && hasConverged(ll, next, n, tol);
    ll = next;
    if (done) {
      converged = true;
      break;
    }
  }
  const scores = centredLogScores(gamma, R);
  assertFiniteScores(scores, "crowd-bt");
  // A worker without judgments kept the start η = 0.9: no estimate (unjudged.ts).
  markUnjudged(worker, W, eta);
  return {
    method: "crowd-bt",
    items: data.items,
    workers: data.workers,
    scores,
    skills: eta,
    reliability: eta,
    iterations,
    converged,
    history,
    logLikelihood: ll,
  };
}
