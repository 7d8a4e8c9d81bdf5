/**
 * The evaluation split every trainer uses: a given eval set as is; otherwise, with
 * `eval_fraction` > 0, a seeded held-out share of the training examples
 * (`Rng(seed).fork("eval-split")` shuffles the indices; the first `heldOutCount` are held out).
 */
import { KeelError } from "../../core/errors.js";
import { Rng, type Seed } from "../../core/rng.js";

/** How many of `n` training examples a fraction holds out for evaluation. */
export function heldOutCount(n: number, evalFraction: number): number {
  return Math.round(n * evalFraction);
}

export function splitEval<T>(
  train: readonly T[],
  evalSet: readonly T[] | undefined,
  evalFraction: number,
  seed: Seed,
): { train: T[]; eval: T[] } {
  if (evalSet || evalFraction === 0) return { train: [...train], eval: [...(evalSet ?? [])] };
  const idx = new Rng(seed).fork("eval-split").shuffle(train.map((_, i) => i));
  const held = new Set(idx.slice(0, heldOutCount(idx.length, evalFraction)));
  return {
    train: train.filter((_, i) => !held.has(i)),
    eval: train.filter((_, i) => held.has(i)),
  };
}

/**
 * Throws unless the split left something to train on: `given` examples came in, and an
 * eval_fraction that held out every one of them (one example at 0.5 rounds to one held out) is
 * named as the cause rather than the data.
 */
export function requireTraining(
  train: readonly unknown[],
  given: number,
  evalFraction: number,
  what: string,
  items: string,
): void {
  if (train.length > 0) return;
  if (given > 0)
    throw new KeelError(
      "KEEL_E_CONFIG",
      `${what}: eval_fraction ${evalFraction} holds out all ${given} training ${items}`,
      {
        where: { field: "train.eval_fraction" },
        hint: "lower eval_fraction, give an eval set (data.eval), or add training data",
      },
    );
  throw new KeelError("KEEL_E_USAGE", `${what}: no training ${items}`, {
    where: { field: "data.train" },
  });
}
