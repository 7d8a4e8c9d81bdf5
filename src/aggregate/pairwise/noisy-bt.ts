/**
 * Noisy Bradley–Terry: each rater w answers by the Bradley–Terry model with probability
 * a_w = σ(γ_w) (their skill) and otherwise picks the left item with probability c_w = σ(q_w)
 * (their position bias; ½ means none):
 *
 *   P(w prefers left l over right r) = a_w σ(β_l − β_r) + (1 − a_w) c_w.
 *
 * A tie counts as half an observation each way. Fitted by EM over the latent "answered by the
 * model" indicator (crowd-kit maximises the same likelihood with L-BFGS):
 *   E-step  r_j = a_w p_j / (a_w p_j + (1 − a_w) c_w(y_j)),  p_j = BT probability of the answer,
 *           c_w(y) = c_w if left was chosen else 1 − c_w
 *   M-step  a_w = mean r_j over w's judgments;  c_w = share of "left" among the 1 − r_j mass;
 *           β: one MM step (Hunter 2004) on the Bradley–Terry likelihood with judgment weights r_j.
 * Every step raises the expected complete log-likelihood, so the log-likelihood never falls
 * (a generalised EM). Start: β = 0, a = 0.9, c = ½. Stops as MM does (log-likelihood gain and
 * settled scores and rater parameters, see settlingWatch); a strength that falls out of float
 * range (below 2⁻¹⁰²²) means the scores ran off (KEEL_E_NOT_CONNECTED).
 *
 * Preconditions: as Bradley–Terry (strongly connected graph, or `prior` > 0, which adds virtual
 * games of every item against a reference item answered by a perfect rater — crowd-kit's
 * regularisation for this model).
 *
 * Citation: A. Bugakova, V. Malykh, A. Drutsa et al. (2019), "Aggregation of pairwise
 * comparisons with reduction of biases", NeurIPS 2019 Workshop on Crowdsourcing and Machine
 * Learning, arXiv:1906.03711, doi:10.48550/arXiv.1906.03711; Bradley & Terry (1952),
 * doi:10.2307/2334029.
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

export type NoisyBtOptions = BradleyTerryOptions;

const CLAMP = 1e-6;
const clamp01 = (x: number): number => Math.min(Math.max(x, CLAMP), 1 - CLAMP);

export function noisyBradleyTerry(data: PairwiseData, opts: NoisyBtOptions = {}): PairwiseResult {
  if (data.left.length === 0)
    return {
      ...emptyPairwise("noisy-bt", data),
      skills: new Float64Array(data.nWorkers).fill(Number.NaN),
      biases: new Float64Array(data.nWorkers).fill(Number.NaN),
      reliability: new Float64Array(data.nWorkers).fill(Number.NaN),
    };
  const prior = opts.prior ?? 0;
  if (prior <= 0) assertPairTableConnected(buildPairTable(data, 0), data.items, "noisy-bt");
  const maxIter = opts.maxIter ?? BT_DEFAULT_MAX_ITER;
  const tol = opts.tol ?? BT_DEFAULT_TOL;
  const R = data.nItems;
  const N = R + (prior > 0 ? 1 : 0);
  const W = data.nWorkers;
  const gamma = new Float64Array(N).fill(1);
  const skill = new Float64Array(W).fill(0.9);
  const bias = new Float64Array(W).fill(0.5);
  const wins = new Float64Array(N);
  const den = new Float64Array(N);
  const sNum = new Float64Array(W);
  const tot = new Float64Array(W);
  const leftNum = new Float64Array(W);
  const randTot = new Float64Array(W);
  const { worker, left, right, outcome } = data;
  const n = left.length;

  /** E-step and sufficient statistics at the current parameters; returns their log-likelihood. */
  const pass = (): number => {
    wins.fill(0);
    den.fill(0);
    sNum.fill(0);
    tot.fill(0);
    leftNum.fill(0);
    randTot.fill(0);
    let ll = 0;
    for (let j = 0; j < n; j++) {
      const w = worker[j]!;
      const l = left[j]!;
      const r = right[j]!;
      const s = gamma[l]! + gamma[r]!;
      const a = skill[w]!;
      const c = bias[w]!;
      const o = outcome[j]!;
      const half = o === LEFT_WINS || o === RIGHT_WINS ? 1 : 0.5;
      for (let y = 1; y >= 0; y--) {
        if ((y === 1 && o === RIGHT_WINS) || (y === 0 && o === LEFT_WINS)) continue;
        // The chosen side's probability as its own ratio, never as 1 − p: when a strength runs
        // off towards 0, 1 − p cancels to rounding noise, the runaway strength stopped
        // shrinking, and the fit reported converged on frozen scores (as Crowd-BT did).
        const pbt = gamma[y === 1 ? l : r]! / s;
        const random = (1 - a) * (y === 1 ? c : 1 - c);
        const mix = a * pbt + random;
        const resp = (a * pbt) / mix;
        const notModel = random / mix;
        ll += half * Math.log(mix);
        sNum[w]! += half * resp;
        tot[w]! += half;
        leftNum[w]! += half * notModel * y;
        randTot[w]! += half * notModel;
        wins[y === 1 ? l : r]! += half * resp;
        const g = (half * resp) / s;
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
  const settled = settlingWatch(gamma, [skill, bias]);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIter) {
    for (let w = 0; w < W; w++) {
      if (tot[w]! > 0) skill[w] = clamp01(sNum[w]! / tot[w]!);
      if (randTot[w]! > 1e-12) bias[w] = clamp01(leftNum[w]! / randTot[w]!);
    }
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
    if (ranOff) throw ranOffError("noisy-bt");
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
  assertFiniteScores(scores, "noisy-bt");
  // A worker without judgments kept the start (a = 0.9, c = ½): no estimate (unjudged.ts).
  markUnjudged(worker, W, skill, bias);
  return {
    method: "noisy-bt",
    items: data.items,
    workers: data.workers,
    scores,
    skills: skill,
    biases: bias,
    reliability: skill,
    iterations,
    converged,
    history,
    logLikelihood: ll,
  };
}
