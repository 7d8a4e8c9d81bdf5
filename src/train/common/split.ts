/**
 * The evaluation split every trainer uses: a given eval set as is; otherwise, with
 * `eval_fraction` > 0, a seeded held-out share of the training examples
 * (`Rng(seed).fork("eval-split")` shuffles the indices; the first `heldOutCount` are held out).
 * With `groupOf`, examples of one group (the reward model's and DPO's pairs: one prompt) are
 * held out together — whole groups in the shuffled order of their first examples, until
 * `heldOutCount` examples are out — so that no evaluated pair has its prompt, or its very
 * comparison judged by another rater, among the training pairs. With every group of one example
 * this is the plain split, example for example.
 */
import { KeelError } from "../../core/errors.js";
import { Rng, type Seed } from "../../core/rng.js";
import type { Content } from "../../core/types.js";

/** A pair's group for the split: its prompt. */
export function promptKey(p: { readonly prompt: Content }): string {
  return typeof p.prompt === "string" ? `s:${p.prompt}` : `c:${JSON.stringify(p.prompt)}`;
}

/**
 * How many of `n` training examples a fraction holds out for evaluation: at least one when the
 * fraction is above 0 (4 pairs at 0.1 rounded to none, and the run reported no evaluation
 * without a word), so that asking for an evaluation gives one.
 */
export function heldOutCount(n: number, evalFraction: number): number {
  if (evalFraction <= 0 || n === 0) return 0;
  return Math.max(1, Math.round(n * evalFraction));
}

export function splitEval<T>(
  train: readonly T[],
  evalSet: readonly T[] | undefined,
  evalFraction: number,
  seed: Seed,
  groupOf?: (example: T) => string,
): { train: T[]; eval: T[] } {
  if (evalSet || evalFraction === 0) return { train: [...train], eval: [...(evalSet ?? [])] };
  const idx = new Rng(seed).fork("eval-split").shuffle(train.map((_, i) => i));
  const want = heldOutCount(idx.length, evalFraction);
  const held = new Set<number>();
  if (groupOf === undefined) for (const i of idx.slice(0, want)) held.add(i);
  else {
    const members = new Map<string, number[]>();
    train.forEach((x, i) => {
      const g = groupOf(x);
      const m = members.get(g);
      if (m) m.push(i);
      else members.set(g, [i]);
    });
    const taken = new Set<string>();
    for (const i of idx) {
      if (held.size >= want) break;
      const g = groupOf(train[i]!);
      if (taken.has(g)) continue;
      taken.add(g);
      for (const j of members.get(g)!) held.add(j);
    }
  }
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
