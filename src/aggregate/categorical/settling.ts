/**
 * The second half of the categorical EM methods' stopping rule: the fitted values (posteriors
 * and worker parameters) must have settled, not only the objective.
 *
 * EM converges linearly, often slowly (the rate is the fraction of information that is
 * missing), and its objective is flat near the maximum: on seeded crowds the log-likelihood
 * gained less than 10⁻⁵ per judgment while posteriors were still up to 0.9 from their limit and
 * labels still to flip. So, as the pairwise methods do, the distance still to go, extrapolated
 * from the last step d = max |x' − x| over the watched values (rateTest), must be below √tol.
 * The values are probabilities or O(1) parameters, so the step is absolute.
 */

import { rateTest } from "../settling.js";

export type SettledTest = (values: readonly Float64Array[], tol: number) => boolean;

/**
 * Returns a test to call once after each iteration with the current values (the same arrays,
 * in the same order, each time; they may be different buffers holding them). The first call
 * compares with `initial`.
 */
export function settlingWatch(initial: readonly Float64Array[]): SettledTest {
  const prev = initial.map((a) => Float64Array.from(a));
  const settled = rateTest();
  return (values, tol) => {
    let step = 0;
    values.forEach((a, v) => {
      const p = prev[v]!;
      for (let i = 0; i < a.length; i++) {
        const d = Math.abs(a[i]! - p[i]!);
        step = d > step || Number.isNaN(d) ? d : step;
      }
      p.set(a);
    });
    return settled(step, tol);
  };
}
