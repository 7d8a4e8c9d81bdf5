/**
 * MACE (Multi-Annotator Competence Estimation): each worker w either knows the answer or spams.
 * With probability θ_w (competence) they copy the true class; otherwise they draw a label from
 * their own spamming distribution ξ_w:
 *
 *   P(l | true k) = θ_w [l = k] + (1 − θ_w) ξ_wl,      true classes uniform a priori.
 *
 * EM over the latent class T_i and spam indicator S_j:
 *   E-step  T_ik ∝ Π_j P(l_j | k)  (log space);  for judgment j with label l on task i,
 *           r_j = P(not spam) = T_il θ_w / (θ_w + (1 − θ_w) ξ_wl)
 *   M-step  "em": θ_w = (Σ_j r_j + s) / (n_w + 2s),  ξ_wl = (Σ_{j: l} (1 − r_j) + s) / (Σ_j (1 − r_j) + K s)
 *           (s = smoothing, a symmetric pseudo-count, MACE's 0.01/K by default; the objective is
 *           the log-likelihood plus the matching Beta/Dirichlet log-prior, which never decreases);
 *           "vb": mean-field variational Bayes with Beta(a, b) and Dirichlet(γ) priors. The
 *           E-step above then takes the geometric means exp E[log ·] in place of θ_w, 1 − θ_w
 *           and ξ_wl, which are *not* renormalised (that is the mean-field update, and what
 *           MACE and crowd-kit compute; renormalising them would tilt knowing against
 *           spamming by 1/Σ_l exp E[log ξ_wl]):
 *             θ_w ↦ exp(ψ(Σ r + a) − ψ(n_w + a + b)),   1 − θ_w ↦ exp(ψ(Σ(1 − r) + b) − ψ(n_w + a + b)),
 *             ξ_wl ↦ exp(ψ(c_wl + γ) − ψ(Σ_l c_wl + Kγ)),   c_wl = Σ_{j: l} (1 − r_j).
 *           The reported competences and spamming distributions are the posterior means,
 *           θ_w = (Σ r + a)/(n_w + a + b) and ξ_wl = (c_wl + γ)/(Σ_l c_wl + Kγ).
 * Defaults are MACE's (and crowd-kit's): a = b = 0.5, γ = 10, s = 0.01/K, 10 restarts, 50
 * iterations. MACE's and crowd-kit's `alpha` is the pseudo-count of *spamming*; here `alpha` is
 * that of knowing (θ ~ Beta(alpha, beta)): the same for the symmetric default.
 * Each start stops when its objective gains less than `tol` per judgment and the posteriors,
 * θ and ξ have settled to within about √tol (see settling.ts).
 * MACE's likelihood has several optima, so the paper restarts from random points and keeps the
 * best log-likelihood. Restart 0 starts from the vote proportions (deterministic); restarts
 * 1…R−1 from random θ, ξ drawn from the seeded generator, each worker's from a stream named by
 * the seed, the restart and the worker's id: the result does not depend on the order of the
 * rows, and renaming workers changes which random starts are tried (the best is kept).
 *
 * Citation: D. Hovy, T. Berg-Kirkpatrick, A. Vaswani and E. Hovy (2013), "Learning Whom to
 * Trust with MACE", Proceedings of NAACL-HLT 2013, pp. 1120–1130 (ACL Anthology N13-1132).
 */
import { Rng } from "../../core/rng.js";
import {
  argmaxRows,
  columnMeans,
  digamma,
  equaliseTies,
  hasConverged,
  safeLog,
  tieTolerance,
} from "../numeric.js";
import type { CategoricalData, CategoricalResult, IterOptions } from "../types.js";
import { markUnjudged } from "../unjudged.js";
import { DEFAULT_TOL, voteProportions } from "./confusion-em.js";
import { checkPosteriorSize, emptyCategorical } from "./result.js";
import { settlingWatch } from "./settling.js";

export interface MaceOptions extends IterOptions {
  readonly method?: "em" | "vb";
  /** Number of starts (the first from vote proportions, the rest random). MACE's default: 10. */
  readonly restarts?: number;
  readonly seed?: number | string;
  /** EM pseudo-count; MACE's 0.01/K by default. */
  readonly smoothing?: number;
  /** VB priors: Beta(a, b) on competence, Dirichlet(γ) on spam labels (MACE: 0.5, 0.5, 10). */
  readonly alpha?: number;
  readonly beta?: number;
  readonly gamma?: number;
}

/**
 * P(l | true k) = theta[w] [l = k] + spam[w] xi[w, l]. For "em" these are probabilities
 * (spam = 1 − theta); for "vb" the subnormalised geometric means exp E[log ·].
 */
interface MaceParams {
  theta: Float64Array; // [W]
  spam: Float64Array; // [W]
  xi: Float64Array; // [W, K]
}

/**
 * E-step into `out` [nTasks, K]; returns the log-likelihood.
 *
 * A judgment with label l adds log((1 − θ_w) ξ_wl) to every class of its task and, on top, the
 * log-odds log(θ_w + (1 − θ_w) ξ_wl) − log((1 − θ_w) ξ_wl) to class l. The first part is common
 * to the task's classes: it is summed apart and enters only the likelihood (as in GLAD). Scores
 * within rounding of one another are set equal (numeric.ts, "Exact ties"): a rater and their
 * mirror twin got parameters an ulp apart, and from vote proportions EM ran off from an exact
 * tie to the side the order of the rows favoured.
 */
function maceEStep(data: CategoricalData, p: MaceParams, out: Float64Array): number {
  const K = data.nClasses;
  const { task, worker, label, nTasks } = data;
  const common = new Float64Array(nTasks);
  // Σ |log-odds| per task: the scale of each score's rounding error.
  const mass = new Float64Array(nTasks);
  out.fill(-Math.log(K));
  for (let j = 0; j < task.length; j++) {
    const w = worker[j]!;
    const l = label[j]!;
    const t = task[j]!;
    const spam = p.spam[w]! * p.xi[w * K + l]!;
    const off = safeLog(spam);
    const odds = safeLog(p.theta[w]! + spam) - off;
    common[t]! += off;
    out[t * K + l]! += odds;
    mass[t]! += Math.abs(odds);
  }
  let ll = 0;
  for (let t = 0; t < nTasks; t++) {
    const o = t * K;
    let m = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < K; k++) if (out[o + k]! > m) m = out[o + k]!;
    let z = 0;
    for (let k = 0; k < K; k++) z += Math.exp(out[o + k]! - m);
    ll += m + Math.log(z) + common[t]!;
    equaliseTies(out, o, K, tieTolerance(mass[t]! + Math.abs(m)));
    z = 0;
    for (let k = 0; k < K; k++) z += Math.exp(out[o + k]! - m);
    for (let k = 0; k < K; k++) out[o + k] = Math.exp(out[o + k]! - m) / z;
  }
  return ll;
}

interface MaceCounts {
  /** Σ_j r_j, expected labels given knowing. [W] */
  readonly known: Float64Array;
  /** n_w. [W] */
  readonly total: Float64Array;
  /** c_wl = Σ_{j: l} (1 − r_j), expected spam labels per class. [W, K] */
  readonly spamCounts: Float64Array;
}

/** Expected counts of knowing and of each spam label, from the posteriors and parameters. */
function maceCounts(data: CategoricalData, probas: Float64Array, p: MaceParams): MaceCounts {
  const K = data.nClasses;
  const W = data.nWorkers;
  const { task, worker, label } = data;
  const known = new Float64Array(W);
  const total = new Float64Array(W);
  const spamCounts = new Float64Array(W * K);
  for (let j = 0; j < task.length; j++) {
    const w = worker[j]!;
    const l = label[j]!;
    const th = p.theta[w]!;
    const denom = th + p.spam[w]! * p.xi[w * K + l]!;
    const r = denom > 0 ? (probas[task[j]! * K + l]! * th) / denom : 0;
    known[w]! += r;
    total[w]! += 1;
    spamCounts[w * K + l]! += 1 - r;
  }
  return { known, total, spamCounts };
}

type MaceHyper = Required<Pick<MaceOptions, "method" | "smoothing" | "alpha" | "beta" | "gamma">>;

/** The M-step ("em") or the variational update ("vb") of p from the posteriors. */
function maceMStep(data: CategoricalData, probas: Float64Array, p: MaceParams, o: MaceHyper): void {
  const K = data.nClasses;
  const { known, total, spamCounts } = maceCounts(data, probas, p);
  for (let w = 0; w < data.nWorkers; w++) {
    const spam = total[w]! - known[w]!;
    if (o.method === "em") {
      p.theta[w] = (known[w]! + o.smoothing) / (total[w]! + 2 * o.smoothing);
      p.spam[w] = 1 - p.theta[w]!;
      // Without smoothing a worker read as never spamming leaves ξ at 0/0: no evidence, uniform.
      const z = spam + K * o.smoothing;
      for (let l = 0; l < K; l++)
        p.xi[w * K + l] = z > 0 ? (spamCounts[w * K + l]! + o.smoothing) / z : 1 / K;
    } else {
      const dAll = digamma(total[w]! + o.alpha + o.beta);
      p.theta[w] = Math.exp(digamma(known[w]! + o.alpha) - dAll);
      p.spam[w] = Math.exp(digamma(spam + o.beta) - dAll);
      const dXi = digamma(spam + K * o.gamma);
      for (let l = 0; l < K; l++)
        p.xi[w * K + l] = Math.exp(digamma(spamCounts[w * K + l]! + o.gamma) - dXi);
    }
  }
}

/** VB's reported parameters: the posterior means of θ and ξ under q. */
function posteriorMeans(
  data: CategoricalData,
  probas: Float64Array,
  p: MaceParams,
  o: MaceHyper,
): { theta: Float64Array; xi: Float64Array } {
  const K = data.nClasses;
  const { known, total, spamCounts } = maceCounts(data, probas, p);
  const theta = new Float64Array(data.nWorkers);
  const xi = new Float64Array(data.nWorkers * K);
  for (let w = 0; w < data.nWorkers; w++) {
    theta[w] = (known[w]! + o.alpha) / (total[w]! + o.alpha + o.beta);
    const z = total[w]! - known[w]! + K * o.gamma;
    for (let l = 0; l < K; l++) xi[w * K + l] = (spamCounts[w * K + l]! + o.gamma) / z;
  }
  return { theta, xi };
}

/** Log of the Beta(1+s,1+s)/Dirichlet(1+s) prior that the "em" smoothing corresponds to. */
function smoothingLogPrior(p: MaceParams, s: number): number {
  if (s === 0) return 0;
  let lp = 0;
  for (let w = 0; w < p.theta.length; w++)
    lp += s * (safeLog(p.theta[w]!) + safeLog(1 - p.theta[w]!));
  for (let i = 0; i < p.xi.length; i++) lp += s * safeLog(p.xi[i]!);
  return lp;
}

export function mace(data: CategoricalData, opts: MaceOptions = {}): CategoricalResult {
  if (data.task.length === 0) return emptyCategorical("mace", data);
  checkPosteriorSize("mace", data);
  const K = data.nClasses;
  const W = data.nWorkers;
  const o = {
    method: opts.method ?? "vb",
    smoothing: opts.smoothing ?? 0.01 / K,
    alpha: opts.alpha ?? 0.5,
    beta: opts.beta ?? 0.5,
    gamma: opts.gamma ?? 10,
  };
  const maxIter = opts.maxIter ?? 50;
  const tol = opts.tol ?? DEFAULT_TOL;
  const restarts = Math.max(1, opts.restarts ?? 10);
  const rng = new Rng(opts.seed ?? 0);
  const n = data.task.length;
  let best:
    | {
        probas: Float64Array;
        p: MaceParams;
        obj: number;
        it: number;
        conv: boolean;
        hist: number[];
      }
    | undefined;
  for (let r = 0; r < restarts; r++) {
    const p: MaceParams = {
      theta: new Float64Array(W),
      spam: new Float64Array(W),
      xi: new Float64Array(W * K),
    };
    let probas: Float64Array = new Float64Array(data.nTasks * K);
    if (r === 0) {
      p.theta.fill(0.5);
      p.spam.fill(0.5);
      p.xi.fill(1 / K);
      probas = voteProportions(data);
      maceMStep(data, probas, p, o);
    } else {
      const g = rng.fork(`restart-${r}`);
      for (let w = 0; w < W; w++) {
        // Drawn from the worker's name, not its place: workers are numbered in order of first
        // appearance, and a start that followed that order made the kept restart (and labels)
        // depend on the order of the rows.
        const gw = g.fork(data.workers[w]!);
        p.theta[w] = gw.float();
        p.spam[w] = 1 - p.theta[w]!;
        let z = 0;
        for (let l = 0; l < K; l++) z += p.xi[w * K + l] = gw.float() + 1e-3;
        for (let l = 0; l < K; l++) p.xi[w * K + l] = p.xi[w * K + l]! / z;
      }
    }
    const hist: number[] = [];
    let obj =
      maceEStep(data, p, probas) + (o.method === "em" ? smoothingLogPrior(p, o.smoothing) : 0);
    let it = 0;
    let conv = false;
    const settled = settlingWatch([probas, p.theta, p.spam, p.xi]);
    while (it < maxIter) {
      maceMStep(data, probas, p, o);
      const next =
        maceEStep(data, p, probas) + (o.method === "em" ? smoothingLogPrior(p, o.smoothing) : 0);
      it++;
      hist.push(next);
      const done = settled([probas, p.theta, p.spam, p.xi], tol) && hasConverged(obj, next, n, tol);
      obj = next;
      if (done) {
        conv = true;
        break;
      }
    }
    if (!best || obj > best.obj) best = { probas, p, obj, it, conv, hist };
  }
  const { probas } = best!;
  const p = o.method === "vb" ? posteriorMeans(data, probas, best!.p, o) : best!.p;
  const prevalence = columnMeans(probas, data.nTasks, K);
  const reliability = new Float64Array(W);
  for (let w = 0; w < W; w++) {
    let chance = 0;
    for (let k = 0; k < K; k++) chance += prevalence[k]! * p.xi[w * K + k]!;
    reliability[w] = p.theta[w]! + (1 - p.theta[w]!) * chance;
  }
  // θ of a worker without judgments is its prior (VB) or smoothing (EM) value, ½: no estimate.
  markUnjudged(data.worker, data.nWorkers, p.theta, reliability);
  return {
    method: "mace",
    tasks: data.tasks,
    workers: data.workers,
    classes: data.classes,
    probas,
    labels: argmaxRows(probas, data.nTasks, K),
    priors: prevalence,
    skills: p.theta,
    reliability,
    iterations: best!.it,
    converged: best!.conv,
    history: best!.hist,
    logLikelihood: best!.obj,
  };
}
