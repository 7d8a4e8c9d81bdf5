/**
 * Shared shapes and numerics of the training losses. Every loss is a pure function: arrays in,
 * `{ loss, grads, metrics }` out, with `grads[name]` = ∂loss/∂inputs[name] for each
 * differentiable input, so a trainer feeds them back through `Gpt.backward` and the test suite
 * checks each against central finite differences (test/train/losses.test.ts).
 */
import { KeelError } from "../../core/errors.js";

export type Vec = ArrayLike<number>;

export interface LossResult {
  /** The scalar objective minimised. */
  readonly loss: number;
  /** ∂loss/∂input for each differentiable input, same length as the input. */
  readonly grads: Readonly<Record<string, Float64Array>>;
  /** Diagnostics (no gradient): accuracy, clip fraction, ... */
  readonly metrics: Readonly<Record<string, number>>;
}

/** log σ(x) = −softplus(−x), stable for large |x|. */
export function logSigmoid(x: number): number {
  return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
}

/** σ(x), stable for large |x|. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** Σ w (or the count when `w` is undefined). */
export function weightSum(n: number, w: Vec | undefined): number {
  if (!w) return n;
  let s = 0;
  for (let i = 0; i < n; i++) s += w[i]!;
  return s;
}

/** Checks that every named array has length `n`; a loss given ragged inputs is a bug. */
export function sameLength(n: number, arrays: Record<string, Vec | undefined>): void {
  for (const [name, a] of Object.entries(arrays)) {
    if (a !== undefined && a.length !== n)
      throw new KeelError(
        "KEEL_E_SHAPE",
        `loss input ${name} has ${a.length} entries, expected ${n}`,
      );
  }
}
