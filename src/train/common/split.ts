/**
 * The evaluation split every trainer uses: a given eval set as is; otherwise, with
 * `eval_fraction` > 0, a seeded held-out share of the training examples
 * (`Rng(seed).fork("eval-split")` shuffles the indices; the first `heldOutCount` are held out).
 */
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
