/**
 * M-MSR (Matrix Mean-Subsequence-Reduced): robust rank-one completion of the worker agreement
 * matrix. If worker w is right with probability p_w and wrong uniformly over K − 1 classes,
 * then with s_w = (K p_w − 1)/(K − 1) the rescaled agreement of workers i ≠ j on their common
 * tasks satisfies
 *
 *   E[ K/(K−1) · agree_ij − 1/(K−1) ] = s_i s_j,
 *
 * so s is recovered from the observed entries C_ij by alternating updates of u, v (C ≈ u vᵀ)
 * in which each new u_i is the mean of {|C_ij| / v_j} after discarding the F largest and F
 * smallest values (the Mean-Subsequence-Reduced step, which tolerates up to F adversarial
 * workers per neighbourhood), F = ⌊d_min / 2⌋ − 1 for d_min the fewest co-workers of anyone.
 * Then |s| = u / √(‖u‖/‖v‖); signs: s_i gets the sign of Σ_j C_ij |s_j| (a worker who agrees
 * with the others beyond chance is better than chance; this replaces the paper's spectral
 * sign-determination step and assumes, as the paper does, that good workers dominate).
 * s is clipped to [−1/(K−1) + 1/√I, 1 − 1/√I], p_w = s_w (K−1)/K + 1/K, and tasks are labelled
 * by a vote weighted by the log-odds log((K−1) p_w / (1 − p_w)); with these weights the vote's
 * softmax is the one-coin model's posterior under uniform priors, which is what `probas` holds.
 *
 * Preconditions: at most 4096 workers (the agreement matrix is dense, 12 bytes per entry).
 *
 * Citation: Q. Ma and A. Olshevsky (2020), "Adversarial Crowdsourcing Through Robust Rank-One
 * Matrix Completion", Advances in Neural Information Processing Systems 33 (NeurIPS 2020),
 * arXiv:2010.12181, doi:10.48550/arXiv.2010.12181.
 */
import { KeelError } from "../../core/errors.js";
import { Rng } from "../../core/rng.js";
import { groupByTask } from "../grouping.js";
import { argmaxRows } from "../numeric.js";
import type { CategoricalData, CategoricalResult, IterOptions } from "../types.js";
import { emptyCategorical } from "./result.js";

export interface MmsrOptions extends IterOptions {
  readonly seed?: number | string;
}

export const MMSR_MAX_WORKERS = 4096;

/** Rescaled agreement matrix C and co-occurrence counts. [W, W] each */
function agreementMatrix(data: CategoricalData): { C: Float64Array; common: Int32Array } {
  const W = data.nWorkers;
  const K = data.nClasses;
  const common = new Int32Array(W * W);
  const agree = new Int32Array(W * W);
  const { start, order } = groupByTask(data);
  for (let t = 0; t < data.nTasks; t++) {
    for (let a = start[t]!; a < start[t + 1]!; a++) {
      const ja = order[a]!;
      const wa = data.worker[ja]!;
      for (let b = a + 1; b < start[t + 1]!; b++) {
        const jb = order[b]!;
        const wb = data.worker[jb]!;
        if (wa === wb) continue;
        const same = data.label[ja] === data.label[jb] ? 1 : 0;
        common[wa * W + wb]! += 1;
        common[wb * W + wa]! += 1;
        agree[wa * W + wb]! += same;
        agree[wb * W + wa]! += same;
      }
    }
  }
  const C = new Float64Array(W * W);
  for (let i = 0; i < W * W; i++) {
    if (common[i]! > 0) C[i] = (K / (K - 1)) * (agree[i]! / common[i]!) - 1 / (K - 1);
  }
  return { C, common };
}

/** Mean after dropping F below-current and F above-current extremes (crowd-kit's trimming rule). */
function trimmedMean(values: number[], F: number, current: number): number | undefined {
  values.sort((x, y) => x - y);
  let lo = 0;
  let hi = values.length;
  let below = 0;
  let above = 0;
  for (const v of values) {
    if (v < current) below++;
    if (v > current) above++;
  }
  if (below < F) while (lo < hi && values[lo]! < current) lo++;
  else lo += Math.max(F, 0);
  if (above < F) while (hi > lo && values[hi - 1]! > current) hi--;
  else hi -= Math.max(F, 0);
  if (hi <= lo) return undefined;
  let s = 0;
  for (let i = lo; i < hi; i++) s += values[i]!;
  return s / (hi - lo);
}

export function mmsr(data: CategoricalData, opts: MmsrOptions = {}): CategoricalResult {
  if (data.task.length === 0) return emptyCategorical("mmsr", data);
  const W = data.nWorkers;
  const K = data.nClasses;
  if (W > MMSR_MAX_WORKERS) {
    throw new KeelError(
      "KEEL_E_UNSUPPORTED",
      `M-MSR keeps a dense ${W}×${W} agreement matrix; at most ${MMSR_MAX_WORKERS} workers are supported`,
      {
        hint: "use dawid-skene, one-coin or glad for larger panels",
      },
    );
  }
  const maxIter = opts.maxIter ?? 100;
  const tol = opts.tol ?? 1e-10;
  const { C, common } = agreementMatrix(K > 1 ? data : { ...data, nClasses: 2 });
  let minDeg = Number.POSITIVE_INFINITY;
  for (let i = 0; i < W; i++) {
    let d = 0;
    for (let j = 0; j < W; j++) if (common[i * W + j]! > 0) d++;
    minDeg = Math.min(minDeg, d);
  }
  const F = Math.floor(minDeg / 2) - 1;
  const rng = new Rng(opts.seed ?? 0);
  const u = Float64Array.from({ length: W }, () => rng.float() + 1e-3);
  const v = Float64Array.from({ length: W }, () => rng.float() + 1e-3);
  const floor = 1 / Math.sqrt(data.nTasks);
  const history: number[] = [];
  let iterations = 0;
  let converged = false;
  const buf: number[] = [];
  const update = (target: Float64Array, other: Float64Array): void => {
    for (let i = 0; i < W; i++) {
      buf.length = 0;
      for (let j = 0; j < W; j++)
        if (common[i * W + j]! > 0) buf.push(Math.abs(C[i * W + j]!) / other[j]!);
      const m = trimmedMean(buf, F, target[i]!);
      if (m !== undefined) target[i] = m === 0 && buf.length === 1 ? floor : m;
    }
  };
  while (iterations < maxIter) {
    const u0 = u.slice();
    const v0 = v.slice();
    update(v, u);
    update(u, v);
    iterations++;
    // ‖u vᵀ − u0 v0ᵀ‖_F² from inner products, O(W).
    let uu = 0,
      vv = 0,
      uu0 = 0,
      vv0 = 0,
      u0u0 = 0,
      v0v0 = 0;
    for (let i = 0; i < W; i++) {
      uu += u[i]! * u[i]!;
      vv += v[i]! * v[i]!;
      uu0 += u[i]! * u0[i]!;
      vv0 += v[i]! * v0[i]!;
      u0u0 += u0[i]! * u0[i]!;
      v0v0 += v0[i]! * v0[i]!;
    }
    const change = Math.sqrt(Math.max(uu * vv - 2 * uu0 * vv0 + u0u0 * v0v0, 0));
    history.push(change);
    if (change < tol) {
      converged = true;
      break;
    }
  }
  let nu = 0,
    nv = 0;
  for (let i = 0; i < W; i++) {
    nu += u[i]! * u[i]!;
    nv += v[i]! * v[i]!;
  }
  const scale = Math.sqrt(Math.sqrt(nu) / Math.max(Math.sqrt(nv), 1e-300));
  const sAbs = u.map((x) => x / scale);
  const skills = new Float64Array(W);
  const reliability = new Float64Array(W);
  const weights = new Float64Array(W);
  for (let i = 0; i < W; i++) {
    let dir = 0;
    for (let j = 0; j < W; j++) if (common[i * W + j]! > 0) dir += C[i * W + j]! * sAbs[j]!;
    let s = dir < 0 ? -sAbs[i]! : sAbs[i]!;
    s = Math.min(s, 1 - floor);
    if (K > 1) s = Math.max(s, -1 / (K - 1) + floor);
    const p = K > 1 ? (s * (K - 1)) / K + 1 / K : 1;
    reliability[i] = p;
    skills[i] = s;
    weights[i] = K > 1 ? Math.log(((K - 1) * p) / Math.max(1 - p, 1e-300)) : 0;
  }
  const probas = new Float64Array(data.nTasks * K);
  for (let j = 0; j < data.task.length; j++)
    probas[data.task[j]! * K + data.label[j]!]! += weights[data.worker[j]!]!;
  for (let t = 0; t < data.nTasks; t++) {
    const o = t * K;
    let m = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < K; k++) m = Math.max(m, probas[o + k]!);
    let z = 0;
    for (let k = 0; k < K; k++) z += probas[o + k] = Math.exp(probas[o + k]! - m);
    for (let k = 0; k < K; k++) probas[o + k] = probas[o + k]! / z;
  }
  return {
    method: "mmsr",
    tasks: data.tasks,
    workers: data.workers,
    classes: data.classes,
    probas,
    labels: argmaxRows(probas, data.nTasks, K),
    skills,
    reliability,
    iterations,
    converged,
    history,
  };
}
