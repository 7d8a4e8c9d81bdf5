/**
 * Leave-one-out agreement, adjusted for how hard each comparison is.
 *
 * For each judgment j of rater w with at least two other raters (consensus.ts):
 *   r_j = agree_j − between_j      (w's agreement with the others − the others' agreement
 *                                   among themselves; E[r_j] = 0 when w rates like them)
 *   d̂_w = mean_j r_j,  s²_w = max(sample variance of r_j, ½ · pooled variance, ¼ · 4/(n_w + 4)) / n_w
 * Shrunk towards 0 by a N(0, 0.15²) prior on the rater's true excess d_w:
 *   d_w | data ~ N(m, v),  v = 1/(1/0.15² + 1/s²_w),  m = v · d̂_w / s²_w
 *   score_w = P(d_w < −tolerance) = Φ((−tolerance − m)/√v)
 *
 * Subtracting the others' mutual agreement is what keeps this from firing on a rater who only
 * saw hard items: there the others disagree among themselves as much as with w. An honest but
 * strict rater who departs from the crowd on a minority of items stays within the tolerance
 * (default 0.2: a fifth of its judgments more disagreeable than a typical rater's). Sleepers
 * and careless raters do not; sleepers are caught here without any gold. A colluding majority
 * agrees with itself and is invisible to this detector (see groups.ts).
 *
 * Reported alongside: the plain leave-one-out agreement rate (mean agree_j), as
 * aggregate/agreement/loo-consensus.ts computes it with ties credited half.
 * Citation: Snow et al. (2008), doi:10.3115/1613715.1613751, for agreement with the others as a
 * rater-quality screen.
 */
import {
  emptySignal,
  pct,
  type RaterSignal,
  type SignalContext,
  type Stats,
  shrunkExceedance,
  smallSampleVariance,
} from "./signal.js";

export function agreementSignal(ctx: SignalContext): RaterSignal {
  const { data, loo, config } = ctx;
  const cfg = config.signals.agreement;
  const W = data.nRaters;
  if (!cfg.enabled) return emptySignal("agreement", W);
  const n = new Float64Array(W);
  const sum = new Float64Array(W);
  const sumSq = new Float64Array(W);
  const agreeSum = new Float64Array(W);
  const betweenSum = new Float64Array(W);
  let pooledN = 0;
  let pooledSum = 0;
  let pooledSq = 0;
  for (let q = 0; q < data.order.length; q++) {
    const j = data.order[q]!;
    const b = loo.between[j]!;
    if (Number.isNaN(b)) continue;
    const w = data.rater[j]!;
    const r = loo.agree[j]! - b;
    n[w]! += 1;
    sum[w]! += r;
    sumSq[w]! += r * r;
    agreeSum[w]! += loo.agree[j]!;
    betweenSum[w]! += b;
    pooledN++;
    pooledSum += r;
    pooledSq += r * r;
  }
  if (pooledN === 0) return emptySignal("agreement", W);
  const pooledVar = Math.max(1e-3, pooledSq / pooledN - (pooledSum / pooledN) ** 2);
  const score = new Float64Array(W);
  const stats: (Stats | undefined)[] = new Array(W).fill(undefined);
  for (let w = 0; w < W; w++) {
    const k = n[w]!;
    if (k === 0) continue;
    const mean = sum[w]! / k;
    const sampleVar = k > 1 ? Math.max(0, (sumSq[w]! - k * mean * mean) / (k - 1)) : pooledVar;
    const s2 = Math.max(sampleVar, 0.5 * pooledVar, smallSampleVariance(k)) / k;
    score[w] = shrunkExceedance(-mean, s2, cfg.tolerance); // P(d_w < −tolerance)
    stats[w] = {
      agreement_n: k,
      agreement: agreeSum[w]! / k,
      others_agreement: betweenSum[w]! / k,
      agreement_excess: mean,
    };
  }
  return {
    key: "agreement",
    score,
    stats,
    reason: (w) => {
      const s = stats[w]!;
      return `agrees with the other raters of the same comparisons ${pct(s.agreement!)} of the time, while they agree with each other ${pct(s.others_agreement!)} (${s.agreement_n} comparisons)`;
    },
  };
}
