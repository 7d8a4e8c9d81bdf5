/**
 * GLAD (Generative model of Labels, Abilities and Difficulties): worker w has ability α_w ∈ ℝ,
 * task i has inverse difficulty β_i = exp(b_i) > 0, and
 *
 *   P(l_iw = z_i) = σ(α_w β_i),   a wrong label is uniform over the other K − 1 classes.
 *
 * Priors as in the paper and crowd-kit: α_w ~ N(1, 1), b_i ~ N(1, 1); class priors fixed
 * (uniform unless given). Fitted by (generalised) EM on the log-posterior:
 *
 *   E-step  T_ik ∝ p_k Π_w [σ(α_w β_i)]^[l=k] [(1 − σ(α_w β_i))/(K − 1)]^[l≠k]     (log space)
 *   M-step  increase Q(α, b) = Σ_j a_j log σ(x_j) + (1 − a_j)(log(1 − σ(x_j)) − log(K − 1))
 *                             − ½ Σ_w (α_w − 1)² − ½ Σ_i (b_i − 1)²,
 *           x_j = α_w β_i, a_j = T_{i, l_j}. ∂Q/∂x_j = a_j − σ(x_j), so
 *           ∂Q/∂α_w = Σ_j (a_j − σ_j) β_i − (α_w − 1),   ∂Q/∂b_i = Σ_j (a_j − σ_j) α_w β_i − (b_i − 1).
 *           Each inner step is a diagonal Fisher-scoring step (information Σ σ(1−σ)·(∂x)² + 1,
 *           always positive) with step halving until Q rises: a monotone M-step, so the
 *           log-posterior never decreases across iterations (crowd-kit runs scipy's CG here).
 *
 * Stops when the log-posterior gains less than `tol` per judgment and the posteriors, α and b
 * have settled to within about √tol (see settling.ts).
 *
 * log σ and log(1 − σ) = log σ(x) − x come from one softplus, stable for large |x|.
 * Start: α = 1, b = 1 (all workers equal, so the first E-step is a smoothed majority vote).
 *
 * Preconditions: K ≥ 2 classes for the wrong-label term to matter.
 *
 * Citation: J. Whitehill, P. Ruvolo, T. Wu, J. Bergsma and J. Movellan (2009), "Whose Vote
 * Should Count More: Optimal Integration of Labels from Labelers of Unknown Expertise",
 * Advances in Neural Information Processing Systems 22 (NIPS 2009), pp. 2035–2043
 * (proceedings.neurips.cc; NIPS 2009 papers carry no DOI).
 *
 * Known gold classes fix their tasks' posteriors; the likelihood then uses the known class.
 */
import { KeelError } from "../../core/errors.js";
import {
  argmaxRows,
  equaliseTies,
  hasConverged,
  logSigmoid,
  sigmoid,
  tieTolerance,
} from "../numeric.js";
import type { CategoricalData, CategoricalResult, IterOptions } from "../types.js";
import { markUnjudged } from "../unjudged.js";
import { DEFAULT_MAX_ITER, DEFAULT_TOL } from "./confusion-em.js";
import { checkPosteriorSize, emptyCategorical } from "./result.js";
import { settlingWatch } from "./settling.js";

export interface GladOptions extends IterOptions {
  /** Fixed class priors [K]; uniform by default. */
  readonly priors?: Float64Array;
  /** Prior means of α and of b = log β (1 and 1, as in the paper). */
  readonly alphaPriorMean?: number;
  readonly betaPriorMean?: number;
  /** Fisher-scoring steps per M-step. */
  readonly mStepIters?: number;
}

export interface GladResult extends CategoricalResult {
  /** Worker abilities α. [nWorkers] */
  readonly alphas: Float64Array;
  /** Task inverse difficulties β = exp(b). [nTasks] */
  readonly betas: Float64Array;
}

interface GladState {
  readonly data: CategoricalData;
  readonly K: number;
  readonly logPriors: Float64Array;
  readonly alpha: Float64Array;
  readonly b: Float64Array;
  readonly muA: number;
  readonly muB: number;
  readonly logKm1: number;
}

function logPrior(s: GladState, alpha: Float64Array, b: Float64Array): number {
  let lp = 0;
  for (let w = 0; w < alpha.length; w++) lp -= 0.5 * (alpha[w]! - s.muA) ** 2;
  for (let t = 0; t < b.length; t++) lp -= 0.5 * (b[t]! - s.muB) ** 2;
  return lp;
}

/**
 * E-step into `out` [nTasks, K]; returns log-likelihood + log-prior of (α, b).
 *
 * Every judgment adds log((1 − σ)/(K − 1)) to all K classes of its task and, on top, the
 * log-odds log σ − log((1 − σ)/(K − 1)) = x + log(K − 1) to its own label's class. The first
 * part is common to the task's classes: it is summed apart (`common`) and enters only the
 * likelihood, so each class's score is its log prior plus the log-odds of the labels it got.
 * Adding the common part to each class instead, interleaved in row order, rounded the classes of
 * an exact split differently (P = 0.4999999999999999 against 0.5000000000000001), and the label
 * followed the rows. Scores within rounding of one another are set equal (numeric.ts,
 * "Exact ties"), so that an exact tie stays exact through EM and goes to the lower class.
 */
function gladEStep(s: GladState, out: Float64Array): number {
  const { data, K, logKm1, alpha, b } = s;
  const { task, worker, label, nTasks } = data;
  const beta = b.map(Math.exp);
  const common = new Float64Array(nTasks);
  // Σ |terms| per task: the scale of each score's rounding error.
  const mass = new Float64Array(nTasks);
  for (let t = 0; t < nTasks; t++) out.set(s.logPriors, t * K);
  for (let j = 0; j < task.length; j++) {
    const t = task[j]!;
    const x = alpha[worker[j]!]! * beta[t]!;
    common[t]! += logSigmoid(x) - x - logKm1; // log((1 − σ)/(K − 1))
    const odds = x + logKm1;
    out[t * K + label[j]!]! += odds;
    mass[t]! += Math.abs(odds);
  }
  let ll = 0;
  const gold = data.gold;
  for (let t = 0; t < nTasks; t++) {
    const o = t * K;
    const g = gold ? gold[t]! : -1;
    if (g >= 0) {
      ll += out[o + g]! + common[t]!;
      for (let k = 0; k < K; k++) out[o + k] = k === g ? 1 : 0;
      continue;
    }
    let m = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < K; k++) if (out[o + k]! > m) m = out[o + k]!;
    let z = 0;
    for (let k = 0; k < K; k++) z += Math.exp(out[o + k]! - m);
    // The likelihood from the scores as computed; the posteriors with ties made exact.
    ll += m + Math.log(z) + common[t]!;
    equaliseTies(out, o, K, tieTolerance(mass[t]! + Math.abs(m)));
    z = 0;
    for (let k = 0; k < K; k++) z += Math.exp(out[o + k]! - m);
    for (let k = 0; k < K; k++) out[o + k] = Math.exp(out[o + k]! - m) / z;
  }
  return ll + logPrior(s, alpha, b);
}

/**
 * One pass over the judgments at (α, b): returns Q and fills the gradient g and Fisher
 * information h (prior terms included) for α [W] and b [T]. σ and log σ share one exp.
 */
function qAndGradient(
  s: GladState,
  probas: Float64Array,
  alpha: Float64Array,
  b: Float64Array,
  beta: Float64Array,
  g: { gA: Float64Array; hA: Float64Array; gB: Float64Array; hB: Float64Array },
): number {
  const { task, worker, label } = s.data;
  const K = s.K;
  const { gA, hA, gB, hB } = g;
  for (let t = 0; t < b.length; t++) beta[t] = Math.exp(b[t]!);
  let q = logPrior(s, alpha, b);
  for (let w = 0; w < alpha.length; w++) {
    gA[w] = -(alpha[w]! - s.muA);
    hA[w] = 1;
  }
  for (let t = 0; t < b.length; t++) {
    gB[t] = -(b[t]! - s.muB);
    hB[t] = 1;
  }
  for (let j = 0; j < task.length; j++) {
    const t = task[j]!;
    const w = worker[j]!;
    const bt = beta[t]!;
    const x = alpha[w]! * bt;
    const e = Math.exp(-Math.abs(x));
    const sg = x >= 0 ? 1 / (1 + e) : e / (1 + e);
    const ls = -Math.log1p(e) - (x < 0 ? -x : 0);
    const a = probas[t * K + label[j]!]!;
    q += a * ls + (1 - a) * (ls - x - s.logKm1);
    const r = a - sg;
    const v = sg * (1 - sg);
    gA[w]! += r * bt;
    hA[w]! += v * bt * bt;
    gB[t]! += r * x;
    hB[t]! += v * x * x;
  }
  return q;
}

/**
 * Fisher-scoring M-step with step halving; updates s.alpha and s.b in place. The pass that
 * scores a trial point also yields its gradient, so an accepted step costs one pass.
 */
function gladMStep(s: GladState, probas: Float64Array, iters: number): void {
  const { alpha, b } = s;
  const W = alpha.length;
  const T = b.length;
  const beta = new Float64Array(T);
  let cur = {
    gA: new Float64Array(W),
    hA: new Float64Array(W),
    gB: new Float64Array(T),
    hB: new Float64Array(T),
  };
  let nxt = {
    gA: new Float64Array(W),
    hA: new Float64Array(W),
    gB: new Float64Array(T),
    hB: new Float64Array(T),
  };
  const tryA = new Float64Array(W);
  const tryB = new Float64Array(T);
  let q = qAndGradient(s, probas, alpha, b, beta, cur);
  for (let it = 0; it < iters; it++) {
    let step = 1;
    let accepted = false;
    for (let h = 0; h < 30; h++) {
      for (let w = 0; w < W; w++) tryA[w] = alpha[w]! + (step * cur.gA[w]!) / cur.hA[w]!;
      for (let t = 0; t < T; t++) tryB[t] = b[t]! + (step * cur.gB[t]!) / cur.hB[t]!;
      const qn = qAndGradient(s, probas, tryA, tryB, beta, nxt);
      if (qn >= q) {
        alpha.set(tryA);
        b.set(tryB);
        // A gain below 1e-6 nats per judgment is not worth another pass.
        accepted = qn - q > 1e-6 * Math.max(1, s.data.task.length);
        q = qn;
        [cur, nxt] = [nxt, cur];
        break;
      }
      step /= 2;
    }
    if (!accepted) break;
  }
}

/**
 * Fixed class priors must be one finite, non-negative weight per class with some mass: a short
 * array left the E-step reading the previous task's row, and all zeros made every posterior NaN.
 */
function checkPriors(priors: Float64Array, K: number): void {
  if (priors.length !== K) {
    throw new KeelError(
      "KEEL_E_SHAPE",
      `glad needs one prior per class (${K}), got ${priors.length}`,
    );
  }
  let sum = 0;
  for (const p of priors) {
    if (!(p >= 0) || !Number.isFinite(p)) {
      throw new KeelError("KEEL_E_CONFIG", `glad: class priors must be finite and ≥ 0, got ${p}`, {
        where: { field: "priors" },
      });
    }
    sum += p;
  }
  if (sum === 0) {
    throw new KeelError("KEEL_E_CONFIG", "glad: class priors are all 0", {
      where: { field: "priors" },
    });
  }
}

export function glad(data: CategoricalData, opts: GladOptions = {}): GladResult {
  const K = data.nClasses;
  if (data.task.length === 0) {
    return {
      ...emptyCategorical("glad", data),
      alphas: new Float64Array(data.nWorkers),
      betas: new Float64Array(0),
    };
  }
  checkPosteriorSize("glad", data);
  const maxIter = opts.maxIter ?? DEFAULT_MAX_ITER;
  const tol = opts.tol ?? DEFAULT_TOL;
  const priors = opts.priors ?? new Float64Array(K).fill(1 / K);
  checkPriors(priors, K);
  const muA = opts.alphaPriorMean ?? 1;
  const muB = opts.betaPriorMean ?? 1;
  const s: GladState = {
    data,
    K,
    logPriors: priors.map((p) => Math.log(p)),
    alpha: new Float64Array(data.nWorkers).fill(muA),
    b: new Float64Array(data.nTasks).fill(muB),
    muA,
    muB,
    logKm1: K > 1 ? Math.log(K - 1) : 0,
  };
  const n = data.task.length;
  const probas = new Float64Array(data.nTasks * K);
  let obj = gladEStep(s, probas);
  const history: number[] = [];
  let converged = false;
  let iterations = 0;
  const settled = settlingWatch([probas, s.alpha, s.b]);
  while (iterations < maxIter) {
    gladMStep(s, probas, opts.mStepIters ?? 5);
    const next = gladEStep(s, probas);
    iterations++;
    history.push(next);
    const done = settled([probas, s.alpha, s.b], tol) && hasConverged(obj, next, n, tol);
    obj = next;
    if (done) {
      converged = true;
      break;
    }
  }
  const reliability = new Float64Array(data.nWorkers);
  const counts = new Float64Array(data.nWorkers);
  for (let j = 0; j < n; j++) {
    const w = data.worker[j]!;
    reliability[w]! += sigmoid(s.alpha[w]! * Math.exp(s.b[data.task[j]!]!));
    counts[w]! += 1;
  }
  for (let w = 0; w < data.nWorkers; w++)
    reliability[w] = counts[w]! > 0 ? reliability[w]! / counts[w]! : Number.NaN;
  // α of a worker without judgments is still its prior mean: no estimate (unjudged.ts).
  markUnjudged(data.worker, data.nWorkers, s.alpha);
  return {
    method: "glad",
    tasks: data.tasks,
    workers: data.workers,
    classes: data.classes,
    probas,
    labels: argmaxRows(probas, data.nTasks, K),
    priors,
    skills: s.alpha,
    reliability,
    alphas: s.alpha,
    betas: s.b.map((x) => Math.exp(x)),
    iterations,
    converged,
    history,
    logLikelihood: obj,
  };
}
