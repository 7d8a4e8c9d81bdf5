/**
 * Sampling one token from a row of logits: temperature, top-k and nucleus (top-p) truncation
 * (Holtzman et al., "The Curious Case of Neural Text Degeneration", ICLR 2020,
 * arXiv:1904.09751), by inverse-CDF with a seeded `Rng`.
 *
 *   temperature 0      argmax (greedy; ties to the lowest id)
 *   otherwise          p ∝ exp(logit / temperature) over the kept set, where top-k keeps the
 *                      k largest and top-p the smallest prefix (by probability) whose mass
 *                      reaches p; both may apply, top-k first
 * Numerics: softmax is max-shifted. The log-probability returned alongside is the model's own,
 * log softmax(logits)[token] at temperature 1 with no truncation — the quantity PPO and DPO
 * compare against a fresh forward pass. A logit of −∞ masks its token; NaN or +∞ (a diverged
 * model) is refused with KEEL_E_NUMERIC: every weight after it would be NaN and every draw would
 * silently fall to the last id. Options are checked on every draw (`validateSampling`): these
 * functions are exported, and top-p 0 drew `undefined`, a negative temperature the least likely
 * token.
 */
import { KeelError } from "../core/errors.js";
import type { Rng } from "../core/rng.js";

export interface SamplingOptions {
  /** 0 = greedy; default 1. */
  readonly temperature?: number;
  /** Keep the k most likely tokens (0 or undefined: all). */
  readonly topK?: number;
  /** Keep the smallest set with probability mass ≥ p (1 or undefined: all). */
  readonly topP?: number;
}

export function validateSampling(o: SamplingOptions): void {
  const t = o.temperature ?? 1;
  if (!(t >= 0) || !Number.isFinite(t))
    throw new KeelError("KEEL_E_CONFIG", `temperature must be ≥ 0, got ${t}`);
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 0)) {
    throw new KeelError("KEEL_E_CONFIG", `topK must be a non-negative integer, got ${o.topK}`);
  }
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) {
    throw new KeelError("KEEL_E_CONFIG", `topP must be in (0, 1], got ${o.topP}`);
  }
}

/**
 * log softmax(logits)[token]; −∞ for a masked (−∞) token. NaN, +∞ and an all-−∞ row are refused
 * as `sample` refuses them: the log-prob was NaN, which `generate` reported for a token drawn
 * below `textVocab` when a logit above it had diverged.
 */
export function tokenLogprob(logits: ArrayLike<number>, token: number): number {
  // an id outside the row read `undefined`: a NaN log-prob, silently
  if (!(Number.isInteger(token) && token >= 0 && token < logits.length))
    throw new KeelError(
      "KEEL_E_SHAPE",
      `token id ${token} is outside the row of ${logits.length} logits`,
    );
  const max = maxLogit(logits);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  return logits[token]! - max - Math.log(sum);
}

/** max(logits); throws if one is NaN or +∞, or if every one is −∞ (nothing can be drawn). */
function maxLogit(logits: ArrayLike<number>): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) {
    const l = logits[i]!;
    if (!(l < Number.POSITIVE_INFINITY)) {
      throw new KeelError("KEEL_E_NUMERIC", `logit of token id ${i} is ${l}`, {
        // a checkpoint's weights are checked finite at load, but large ones can still overflow
        hint: "the model diverged (its outputs overflow float32, or its weights are not finite); use a checkpoint from before it diverged",
      });
    }
    if (l > max) max = l;
  }
  if (max === Number.NEGATIVE_INFINITY) {
    throw new KeelError(
      "KEEL_E_NUMERIC",
      `all ${logits.length} logits are −∞: no token can be drawn`,
    );
  }
  return max;
}

function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

/** Ids sorted by logit, descending (ties: lower id first), cut to the top-k and top-p set. */
function truncated(
  logits: ArrayLike<number>,
  t: number,
  topK: number,
  topP: number,
): { ids: Int32Array; w: Float64Array } {
  const ids = Int32Array.from({ length: logits.length }, (_, i) => i).sort(
    (a, b) => logits[b]! - logits[a]! || a - b,
  );
  const k = Math.min(topK, ids.length);
  const max = logits[ids[0]!]!;
  const w = new Float64Array(k);
  let total = 0;
  for (let j = 0; j < k; j++) {
    w[j] = Math.exp((logits[ids[j]!]! - max) / t);
    total += w[j]!;
  }
  let keep = k;
  if (topP < 1) {
    let mass = 0;
    keep = 0;
    while (keep < k && mass < topP * total) mass += w[keep++]!;
  }
  return { ids: ids.subarray(0, keep), w: w.subarray(0, keep) };
}

/**
 * Draws one token id from `logits` (length V) and returns it with its model log-prob
 * (temperature 1, untruncated). Without truncation this is two passes over the logits with
 * one exp per entry and no allocation; `scratch` (length ≥ V) holds the weights.
 */
export function sample(
  logits: ArrayLike<number>,
  o: SamplingOptions,
  rng: Rng,
  scratch: Float64Array = new Float64Array(logits.length),
): { token: number; logprob: number } {
  validateSampling(o);
  const V = logits.length;
  // a short scratch drops the weights past its end: they read back as undefined, NaN in the sums
  if (scratch.length < V)
    throw new KeelError(
      "KEEL_E_SHAPE",
      `scratch has ${scratch.length} entries for ${V} logits; it needs at least ${V}`,
    );
  const max = maxLogit(logits);
  const t = o.temperature ?? 1;
  const topK = o.topK && o.topK < V ? o.topK : V;
  const topP = o.topP ?? 1;
  let token: number;
  let z1: number; // Σ exp(logit − max) at temperature 1
  if (t === 0 || topK < V || topP < 1) {
    token = sampleToken(logits, o, rng);
    z1 = 0;
    for (let i = 0; i < V; i++) z1 += Math.exp(logits[i]! - max);
  } else {
    const inv = 1 / t;
    let total = 0;
    for (let i = 0; i < V; i++) {
      const w = Math.exp(tempered(logits[i]! - max, inv, t));
      scratch[i] = w;
      total += w;
    }
    token = inverseCdf(scratch, V, rng.float() * total);
    z1 = total;
    if (t !== 1) {
      z1 = 0;
      for (let i = 0; i < V; i++) z1 += Math.exp(logits[i]! - max);
    }
  }
  return { token, logprob: logits[token]! - max - Math.log(z1) };
}

/** Draws one token id from `logits` (length V). */
export function sampleToken(logits: ArrayLike<number>, o: SamplingOptions, rng: Rng): number {
  validateSampling(o);
  const max = maxLogit(logits);
  const t = o.temperature ?? 1;
  if (t === 0) return argmax(logits);
  const V = logits.length;
  const topK = o.topK && o.topK < V ? o.topK : V;
  const topP = o.topP ?? 1;
  const { ids, w } =
    topK < V || topP < 1
      ? truncated(logits, t, topK, topP)
      : { ids: null, w: softWeights(logits, max, t) };
  let total = 0;
  for (let j = 0; j < w.length; j++) total += w[j]!;
  const j = inverseCdf(w, w.length, rng.float() * total);
  return ids ? ids[j]! : j;
}

/**
 * The first j < n at which u − w[0] − … − w[j] < 0. Rounding can leave u ≥ 0 after the last
 * subtraction (u drawn just below the rounded total); the draw then goes to the last id of
 * positive weight, never to a trailing one of weight 0 (a −∞ logit, or one underflowed at a
 * small temperature), which is what falling to the last id did.
 */
function inverseCdf(w: ArrayLike<number>, n: number, u: number): number {
  let last = 0;
  for (let j = 0; j < n; j++) {
    u -= w[j]!;
    if (u < 0) return j;
    if (w[j]! > 0) last = j;
  }
  return last;
}

function softWeights(logits: ArrayLike<number>, max: number, t: number): Float64Array {
  const inv = 1 / t;
  return Float64Array.from({ length: logits.length }, (_, i) =>
    Math.exp(tempered(logits[i]! - max, inv, t)),
  );
}

/**
 * (logit − max) / t, as a product with inv = 1/t where that is finite. Below t ≈ 5.6e-309, 1/t
 * overflows to ∞ and 0·∞ would make the top token's weight NaN (every draw then fell to the
 * last id); the quotient gives the top tokens weight 1 and the rest 0, greedy in effect.
 */
function tempered(shifted: number, inv: number, t: number): number {
  return Number.isFinite(inv) ? shifted * inv : shifted / t;
}
