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
 * compare against a fresh forward pass.
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

/** log softmax(logits)[token]. */
export function tokenLogprob(logits: ArrayLike<number>, token: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  return logits[token]! - max - Math.log(sum);
}

function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

/** Draws one token id from `logits` (length V). */
export function sampleToken(logits: ArrayLike<number>, o: SamplingOptions, rng: Rng): number {
  const t = o.temperature ?? 1;
  if (t === 0) return argmax(logits);
  const V = logits.length;
  const topK = o.topK && o.topK < V ? o.topK : V;
  const topP = o.topP ?? 1;
  let ids: number[];
  if (topK < V || topP < 1) {
    ids = Array.from({ length: V }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]! || a - b);
    ids.length = topK;
  } else {
    ids = Array.from({ length: V }, (_, i) => i);
  }
  let max = -Infinity;
  for (const i of ids) max = Math.max(max, logits[i]!);
  const w = ids.map((i) => Math.exp((logits[i]! - max) / t));
  let total = w.reduce((a, b) => a + b, 0);
  if (topP < 1) {
    let mass = 0;
    let keep = 0;
    while (keep < w.length && mass < topP * total) mass += w[keep++]!;
    ids.length = keep;
    w.length = keep;
    total = mass;
  }
  let u = rng.float() * total;
  for (let k = 0; k < ids.length; k++) {
    u -= w[k]!;
    if (u < 0) return ids[k]!;
  }
  return ids[ids.length - 1]!;
}
