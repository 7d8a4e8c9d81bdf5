/**
 * Wawa (Worker Agreement With Aggregate): a majority vote, then each worker's skill is the share
 * of their labels that agree with it, then a majority vote weighted by those skills:
 *
 *   ŷ⁰ = MV(labels);   s_w = (1/n_w) Σ_j [l_j = ŷ⁰_{i(j)}];   probas = weighted-MV(labels; s)
 *
 * Workers who always disagree with the crowd get weight 0. Skills are those of the first vote.
 * The weighted vote is summed in row order; shares within rounding of one another are made
 * equal (voteProportions), so an exact tie stays exact and goes to the lower class.
 *
 * Example: on x, x, y the "y" worker agrees with nothing, weight 0 → probas (1, 0).
 *
 * Citation: Appen's "Worker Agreement With Aggregate" metric, as implemented by crowd-kit's
 * Wawa (Ustalov et al. 2021, arXiv:2109.08584, doi:10.48550/arXiv.2109.08584).
 */
import type { CategoricalData, CategoricalResult } from "../types.js";
import { majorityVote } from "./majority-vote.js";
import { checkPosteriorSize, emptyCategorical } from "./result.js";

export function wawa(data: CategoricalData): CategoricalResult {
  if (data.task.length === 0) return emptyCategorical("wawa", data);
  checkPosteriorSize("wawa", data);
  const first = majorityVote(data);
  const skills = first.skills!;
  const second = majorityVote(data, { weights: skills });
  return { ...second, method: "wawa", skills, reliability: skills };
}
