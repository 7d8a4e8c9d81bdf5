/**
 * Results → DESIGN.md's "Aggregate JSON". Categorical:
 *   {method, labels: {task: label}, probas: {task: {label: p}}, priors?: {label: p},
 *    errors?: {worker: {true_label: {observed_label: p}}}, skills?: {worker: number},
 *    iterations, converged, log_likelihood?}
 * Pairwise: {method, scores: {item: β}, skills?, biases?, iterations, converged,
 *    log_likelihood?, comparisons?: [{comparison_id, p_a, p_tie, weight}]} — scores are centred
 *    log-strengths (crowd-kit's BradleyTerry reports exp(β)/Σ exp(β) instead).
 * Non-finite numbers (which JSON cannot hold) become null. The maps keyed by task, worker,
 * class or item name have no prototype, so that a name such as `__proto__` (a valid id) is an
 * ordinary key rather than a prototype assignment that would drop it from the output.
 */
import type { ComparisonPosteriors } from "./posteriors.js";
import type { CategoricalResult, PairwiseResult } from "./types.js";

const num = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** An empty map for names from the data. */
const byName = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

function perName(
  names: readonly string[],
  values: ArrayLike<number>,
): Record<string, number | null> {
  const out = byName<number | null>();
  names.forEach((n, i) => {
    out[n] = num(values[i]!);
  });
  return out;
}

export function categoricalToJson(r: CategoricalResult): Record<string, unknown> {
  const K = r.classes.length;
  const labels = byName<string>();
  const probas = byName<Record<string, number | null>>();
  if (r.probas.length > 0) {
    r.tasks.forEach((task, t) => {
      labels[task] = r.classes[r.labels[t]!]!;
      probas[task] = perName(r.classes, r.probas.subarray(t * K, (t + 1) * K));
    });
  }
  const out: Record<string, unknown> = { method: r.method, labels, probas };
  if (r.priors) out.priors = perName(r.classes, r.priors);
  if (r.errors && r.probas.length > 0) {
    const errors = byName<Record<string, Record<string, number | null>>>();
    r.workers.forEach((w, wi) => {
      const m = byName<Record<string, number | null>>();
      r.classes.forEach((k, ki) => {
        m[k] = perName(r.classes, r.errors!.subarray((wi * K + ki) * K, (wi * K + ki + 1) * K));
      });
      errors[w] = m;
    });
    out.errors = errors;
  }
  if (r.skills && r.probas.length > 0) out.skills = perName(r.workers, r.skills);
  out.iterations = r.iterations;
  out.converged = r.converged;
  if (r.logLikelihood !== undefined) out.log_likelihood = num(r.logLikelihood);
  return out;
}

export function pairwiseToJson(
  r: PairwiseResult,
  posteriors?: ComparisonPosteriors,
): Record<string, unknown> {
  const out: Record<string, unknown> = { method: r.method, scores: perName(r.items, r.scores) };
  if (r.skills) out.skills = perName(r.workers, r.skills);
  if (r.biases) out.biases = perName(r.workers, r.biases);
  out.iterations = r.iterations;
  out.converged = r.converged;
  if (r.logLikelihood !== undefined) out.log_likelihood = num(r.logLikelihood);
  if (posteriors) {
    out.comparisons = posteriors.ids.map((id, t) => ({
      comparison_id: id,
      p_a: posteriors.pA[t]!,
      p_tie: posteriors.pTie[t]!,
      weight: posteriors.weight[t]!,
    }));
  }
  return out;
}
