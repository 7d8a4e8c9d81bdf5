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
 * workers per neighbourhood), F = ⌊d_min / 2⌋ − 1 for d_min the fewest co-workers of anyone
 * who has any.
 *
 * Start: u = v = 1 for every worker (crowd-kit starts from a seeded random positive vector).
 * The fixed point does not depend on the start when the completion is identifiable, i.e. when
 * the graph of workers who share tasks has no bipartite component (Ma, Olshevsky, Szepesvári
 * and Saligrama 2018, ICML, PMLR 80:3335); when it has one (two workers, or two groups who
 * only ever meet each other), one side's |s| can be scaled up and the other's down without
 * changing any fitted entry, and the start picks the answer. A random start drawn in worker
 * order made that pick follow the workers' ids: two raters who always disagree got
 * reliabilities 0.25 and 0.44 and a 0.3/0.7 posterior, swapped when their ids were. From the
 * all-ones start the iteration treats every worker alike, so the result is a function of the
 * data alone: renaming workers or reordering rows renames the result (within rounding).
 *
 * Then |s| = u / √(‖u‖/‖v‖); signs: s_i gets the sign of Σ_j C_ij |s_j| (workers who agree
 * beyond chance share a sign; this replaces the paper's spectral sign-determination step), and
 * all signs are flipped if more are negative than positive: as the paper and crowd-kit assume,
 * most workers are better than chance (the sum's own orientation let a few strong adversaries
 * turn a panel of weaker honest workers worse than chance). A worker
 * who shares no task with anyone, or whose agreement cancels out exactly (Σ_j C_ij |s_j| = 0,
 * up to rounding: numeric.ts, "Exact ties"), gets s = 0: chance, weight 0; a task that only
 * such workers labelled keeps its plain vote shares.
 * s is clipped to [−1/(K−1) + 1/√I, 1 − 1/√I], p_w = s_w (K−1)/K + 1/K, and tasks are labelled
 * by a vote weighted by the log-odds log((K−1) p_w / (1 − p_w)); with these weights the vote's
 * softmax is the one-coin model's posterior under uniform priors, which is what `probas` holds.
 *
 * Preconditions: at most 4096 workers (the agreement matrix is dense, 16 bytes per entry).
 *
 * Citation: Q. Ma and A. Olshevsky (2020), "Adversarial Crowdsourcing Through Robust Rank-One
 * Matrix Completion", Advances in Neural Information Processing Systems 33 (NeurIPS 2020),
 * arXiv:2010.12181, doi:10.48550/arXiv.2010.12181.
 */
import { KeelError } from "../../core/errors.js";
import { groupByTask } from "../grouping.js";
import { argmaxRows, equaliseTies, tieTolerance } from "../numeric.js";
import type { CategoricalData, CategoricalResult, IterOptions } from "../types.js";
import { markUnjudged } from "../unjudged.js";
import { voteProportions } from "./confusion-em.js";
import { checkPosteriorSize, emptyCategorical } from "./result.js";

export interface MmsrOptions extends IterOptions {
  /**
   * Accepted and ignored: the start is deterministic (all ones, see above). Kept so that
   * configs and `keel aggregate --seed` written for the earlier random start still run.
   */
  readonly seed?: number | string;
}

export const MMSR_MAX_WORKERS = 4096;

/**
 * Rescaled agreement matrix C and co-occurrence counts. [W, W] each
 *
 * Every pair of labels two workers gave one task counts once. Per task the labels are grouped
 * by worker, so a pair of workers adds n_a n_b co-occurrences and Σ_k n_ak n_bk agreements
 * in O(n_a + n_b): a worker who labels one task many times costs linear time, not quadratic.
 */
function agreementMatrix(data: CategoricalData): { C: Float64Array; common: Float64Array } {
  const W = data.nWorkers;
  const K = data.nClasses;
  // C holds the agreement counts until the end; Float64 counts stay exact past 2³¹.
  const C = new Float64Array(W * W);
  const common = new Float64Array(W * W);
  const { start, order } = groupByTask(data);
  const slot = new Int32Array(W).fill(-1);
  const present: number[] = [];
  const labelsOf: number[][] = [];
  const byClass = new Float64Array(K);
  for (let t = 0; t < data.nTasks; t++) {
    present.length = 0;
    for (let q = start[t]!; q < start[t + 1]!; q++) {
      const j = order[q]!;
      const w = data.worker[j]!;
      if (slot[w]! < 0) {
        slot[w] = present.length;
        if (labelsOf.length === present.length) labelsOf.push([]);
        labelsOf[present.length]!.length = 0;
        present.push(w);
      }
      labelsOf[slot[w]!]!.push(data.label[j]!);
    }
    for (let b = 0; b < present.length; b++) {
      const lb = labelsOf[b]!;
      const wb = present[b]!;
      for (const l of lb) byClass[l]! += 1;
      for (let a = 0; a < b; a++) {
        const la = labelsOf[a]!;
        const wa = present[a]!;
        let same = 0;
        for (const l of la) same += byClass[l]!;
        const pairs = la.length * lb.length;
        common[wa * W + wb]! += pairs;
        common[wb * W + wa]! += pairs;
        C[wa * W + wb]! += same;
        C[wb * W + wa]! += same;
      }
      for (const l of lb) byClass[l] = 0;
    }
    for (const w of present) slot[w] = -1;
  }
  for (let i = 0; i < W * W; i++) {
    if (common[i]! > 0) C[i] = (K / (K - 1)) * (C[i]! / common[i]!) - 1 / (K - 1);
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
  checkPosteriorSize("mmsr", data);
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
  // Workers who share no task with anyone take no part in the completion: they would set
  // d_min = 0 (no trimming for anybody) and their never-updated start u_i would set the scale.
  const degree = new Int32Array(W);
  let minDeg = Number.POSITIVE_INFINITY;
  for (let i = 0; i < W; i++) {
    for (let j = 0; j < W; j++) if (common[i * W + j]! > 0) degree[i]! += 1;
    if (degree[i]! > 0) minDeg = Math.min(minDeg, degree[i]!);
  }
  const F = Number.isFinite(minDeg) ? Math.floor(minDeg / 2) - 1 : -1;
  const u = new Float64Array(W).fill(1);
  const v = new Float64Array(W).fill(1);
  const floor = 1 / Math.sqrt(data.nTasks);
  const history: number[] = [];
  let iterations = 0;
  let converged = false;
  const buf: number[] = [];
  const update = (target: Float64Array, other: Float64Array): void => {
    for (let i = 0; i < W; i++) {
      buf.length = 0;
      // A co-worker whose factor is 0 (agreement exactly at chance with everyone) says nothing
      // about this one's, and |C_ij| / 0 would be NaN or ∞ and spread to every worker.
      for (let j = 0; j < W; j++)
        if (common[i * W + j]! > 0 && other[j]! !== 0)
          buf.push(Math.abs(C[i * W + j]!) / other[j]!);
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
    // ‖u vᵀ − u0 v0ᵀ‖_F in O(W), over the workers who take part: the start values of one who
    // shares no task with anyone would count their co-workers' moves again, so a worker without
    // judgments changed everyone's number of iterations. Written with the steps du = u − u0,
    // dv = v − v0, u vᵀ − u0 v0ᵀ = du vᵀ + u0 dvᵀ, so every term is on the scale of the change:
    // expanded as ‖u‖²‖v‖² − 2(u·u0)(v·v0) + ‖u0‖²‖v0‖², terms of size W² cancelled to a rounding
    // noise of about 10⁻¹⁵, which hid any change below 3·10⁻⁸ and stopped the iteration with
    // change 0 the first time the noise came out negative (tol is 10⁻¹⁰).
    let dudu = 0,
      dvdv = 0,
      vv = 0,
      u0u0 = 0,
      duu0 = 0,
      dvv = 0;
    for (let i = 0; i < W; i++) {
      if (degree[i] === 0) continue;
      const du = u[i]! - u0[i]!;
      const dv = v[i]! - v0[i]!;
      dudu += du * du;
      dvdv += dv * dv;
      vv += v[i]! * v[i]!;
      u0u0 += u0[i]! * u0[i]!;
      duu0 += du * u0[i]!;
      dvv += dv * v[i]!;
    }
    // ≥ 0 up to rounding (Cauchy–Schwarz: |2(du·u0)(dv·v)| ≤ ‖du‖²‖v‖² + ‖u0‖²‖dv‖²).
    const change = Math.sqrt(Math.max(dudu * vv + 2 * duu0 * dvv + u0u0 * dvdv, 0));
    if (!Number.isFinite(change) || !u.every(Number.isFinite) || !v.every(Number.isFinite)) {
      // The iterates are running off (tiny factors divide): keep the last finite pair and
      // report no convergence rather than let ∞ and NaN into every skill.
      u.set(u0);
      v.set(v0);
      iterations--;
      break;
    }
    history.push(change);
    if (change < tol) {
      converged = true;
      break;
    }
  }
  let nu = 0,
    nv = 0;
  for (let i = 0; i < W; i++) {
    if (degree[i] === 0) continue;
    nu += u[i]! * u[i]!;
    nv += v[i]! * v[i]!;
  }
  const scale = Math.sqrt(Math.sqrt(nu) / Math.max(Math.sqrt(nv), 1e-300));
  const sAbs = u.map((x) => x / scale);
  const skills = new Float64Array(W);
  const reliability = new Float64Array(W);
  const weights = new Float64Array(W);
  const sign = new Int8Array(W);
  for (let i = 0; i < W; i++) {
    let dir = 0;
    let dirMass = 0;
    for (let j = 0; j < W; j++) {
      if (common[i * W + j]! === 0) continue;
      const term = C[i * W + j]! * sAbs[j]!;
      dir += term;
      dirMass += Math.abs(term);
    }
    // No co-worker (or agreement exactly at chance): nothing tells the sign, and u_i is still
    // its start; s = 0 (chance), as crowd-kit's sign step gives such workers. Agreement that
    // cancels out exactly (a rater who agrees with one co-worker as much as they disagree with
    // that co-worker's mirror twin) sums in worker order to ±an ulp, and that sign followed the
    // order of the rows; a sum within 2⁻³⁰ of its Σ |terms| is exactly at chance (numeric.ts).
    if (Math.abs(dir) <= 2 ** -30 * dirMass) dir = 0;
    sign[i] = Math.sign(dir);
  }
  // The completion fits s and −s alike; the signs above are consistent with each other but take
  // their orientation from Σ_j s_j |s_j|, in which a few perfect flippers can outweigh more,
  // weaker honest workers and turn the whole panel, honest workers included, worse than chance
  // (three flippers against seven honest workers and two spammers in
  // test/aggregate/categorical-python-reference.test.ts).
  // Orient them as the paper and crowd-kit do instead: most workers are better than chance
  // (more positive signs than negative; an even count keeps the orientation above).
  let balance = 0;
  for (let i = 0; i < W; i++) balance += sign[i]!;
  if (balance < 0) for (let i = 0; i < W; i++) sign[i] = -sign[i]!;
  for (let i = 0; i < W; i++) {
    // (|s| is ∞ when no worker shares a task: the scale divides by 0, and so 0·|s| would be NaN)
    let s = sign[i] === 0 ? 0 : sign[i]! * sAbs[i]!;
    s = Math.min(s, 1 - floor);
    if (K > 1) s = Math.max(s, -1 / (K - 1) + floor);
    const p = K > 1 ? (s * (K - 1)) / K + 1 / K : 1;
    reliability[i] = p;
    skills[i] = s;
    weights[i] = K > 1 ? Math.log(((K - 1) * p) / Math.max(1 - p, 1e-300)) : 0;
  }
  // A worker without judgments has no estimate (unjudged.ts); one who shares no task keeps s = 0.
  markUnjudged(data.worker, data.nWorkers, skills, reliability);
  const probas = new Float64Array(data.nTasks * K);
  // Tasks whose labellers all have weight 0 (workers who share no task with anyone) take the
  // plain vote shares instead of a uniform row, so their labels are not thrown away.
  const weighed = new Uint8Array(data.nTasks);
  const mass = new Float64Array(data.nTasks);
  for (let j = 0; j < data.task.length; j++) {
    const wj = weights[data.worker[j]!]!;
    probas[data.task[j]! * K + data.label[j]!]! += wj;
    mass[data.task[j]!]! += Math.abs(wj);
    if (wj !== 0) weighed[data.task[j]!] = 1;
  }
  const shares = voteProportions(data);
  for (let t = 0; t < data.nTasks; t++) {
    const o = t * K;
    if (!weighed[t]) {
      probas.set(shares.subarray(o, o + K), o);
      continue;
    }
    // Weights summed in row order: a split vote must stay an exact tie (numeric.ts).
    const m = equaliseTies(probas, o, K, tieTolerance(mass[t]!));
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
