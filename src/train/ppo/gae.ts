/**
 * Generalised advantage estimation (Schulman et al. 2016, "High-Dimensional Continuous Control
 * Using Generalized Advantage Estimation", ICLR, arXiv:1506.02438) over a batch of token
 * episodes laid out row-major [B, T], the actions of each row contiguous where mask = 1:
 *
 *   δ_t = r_t + γ V_{t+1} − V_t          (V past the row's last action = 0: the episode ends)
 *   A_t = δ_t + γλ A_{t+1}               R_t = A_t + V_t (the value target)
 *
 * and masked advantage whitening, A ← (A − mean) / (std + 1e-8) over all actions of the batch,
 * std the population one (as OpenAI baselines). TRL's `masked_whiten` divides by
 * √(var + 1e-8) with the Bessel-corrected variance instead: √(n/(n − 1)) larger, so its
 * advantages are smaller by that factor (0.1% at a thousand tokens), and it is undefined at
 * n = 1, where this gives 0. Pure; O(B·T).
 * Example: one row, rewards [0, 1], values [0.5, 0.5], γ = λ = 1 → A = [0.5, 0.5], R = [1, 1].
 */
import { sameLength, type Vec } from "../losses/types.js";

export interface GaeResult {
  readonly advantages: Float64Array;
  readonly returns: Float64Array;
}

export function gae(
  rewards: Vec,
  values: Vec,
  mask: Vec,
  shape: { batch: number; length: number },
  gamma: number,
  lambda: number,
): GaeResult {
  const { batch: B, length: T } = shape;
  sameLength(B * T, { rewards, values, mask });
  const advantages = new Float64Array(B * T);
  const returns = new Float64Array(B * T);
  for (let b = 0; b < B; b++) {
    let next = 0;
    let nextValue = 0;
    for (let t = T - 1; t >= 0; t--) {
      const i = b * T + t;
      if (mask[i] === 0) {
        next = 0;
        nextValue = 0;
        continue;
      }
      const v = values[i]!;
      const delta = rewards[i]! + gamma * nextValue - v;
      next = delta + gamma * lambda * next;
      advantages[i] = next;
      returns[i] = next + v;
      nextValue = v;
    }
  }
  return { advantages, returns };
}

/** Masked mean and (population) standard deviation; entries where mask = 0 are never read. */
export function maskedMoments(x: Vec, mask: Vec): { mean: number; std: number; n: number } {
  let n = 0;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    if (mask[i] === 0) continue;
    n += mask[i]!;
    s += mask[i]! * x[i]!;
  }
  if (n === 0) return { mean: 0, std: 0, n };
  const mean = s / n;
  let v = 0;
  for (let i = 0; i < x.length; i++) if (mask[i] !== 0) v += mask[i]! * (x[i]! - mean) ** 2;
  return { mean, std: Math.sqrt(v / n), n };
}

/** (x − mean)/(std + 1e-8) on masked entries, 0 elsewhere. */
export function whiten(x: Vec, mask: Vec): Float64Array {
  const { mean, std } = maskedMoments(x, mask);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) if (mask[i] !== 0) out[i] = (x[i]! - mean) / (std + 1e-8);
  return out;
}
