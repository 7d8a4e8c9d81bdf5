/**
 * Reliability from the aggregation model: leave-one-out agreement in which each other rater
 * counts as much as Dawid–Skene (aggregate/categorical/dawid-skene.ts) trusts them.
 *
 * With ρ_i = max(0.01, 2·rel_i − 1) from the model's per-rater reliability rel_i (the probability
 * its label is the true class; 2·rel − 1 is 0 for a coin), for judgment j of rater w on a
 * comparison with others O (graded agreement g, ties ½):
 *
 *   o_j = Σ_{i∈O} ρ_i g(l_j, l_i) / Σ_{i∈O} ρ_i                       w against the others
 *   e_j = Σ_{i<k∈O} ρ_i ρ_k g(l_i, l_k) / Σ_{i<k∈O} ρ_i ρ_k           the others among themselves
 *
 * If w rates like the others, E[o_j] ≈ E[e_j] whatever the item's difficulty — the reason a rater
 * who saw only hard items is not blamed for them (a plain Dawid–Skene reliability, which assumes
 * every item is equally hard, would blame it). With d̂_w = mean(o_j − e_j) and, as in
 * agreement.ts, a N(0, 0.15²) prior on the true d_w:
 *
 *   score_w = P(d_w < −tolerance)                       (the agreement detector's tolerance)
 *
 * What the model adds over plain agreement: careless and adversarial co-raters count for little,
 * so an honest rater who happens to share comparisons with them is not made to look bad. The
 * model's own reliability rel_w is reported. Like every agreement-based model, Dawid–Skene takes
 * a colluding majority for the truth (groups.ts is the detector for that).
 */
import type { CategoricalResult } from "../../aggregate/index.js";
import { LABEL_A, LABEL_B } from "../data.js";
import {
  emptySignal,
  pct,
  type RaterSignal,
  type SignalContext,
  type Stats,
  shrunkExceedance,
  smallSampleVariance,
} from "./signal.js";

/** g(l, ·) summed against weighted label totals S = (S_a, S_b, S_tie). */
function against(l: number, sa: number, sb: number, st: number): number {
  if (l === LABEL_A) return sa + 0.5 * st;
  if (l === LABEL_B) return sb + 0.5 * st;
  return st + 0.5 * (sa + sb);
}

export function reliabilitySignal(
  ctx: SignalContext,
  fit: CategoricalResult | undefined,
): RaterSignal {
  const { data, config } = ctx;
  const W = data.nRaters;
  if (!config.signals.reliability.enabled || fit === undefined)
    return emptySignal("reliability", W);
  const tolerance = config.signals.agreement.tolerance;
  const rho = new Float64Array(W);
  for (let w = 0; w < W; w++) rho[w] = Math.max(0.01, 2 * fit.reliability[w]! - 1);
  const n = new Float64Array(W);
  const sum = new Float64Array(W);
  const sumSq = new Float64Array(W);
  const oSum = new Float64Array(W);
  const eSum = new Float64Array(W);
  let pooledN = 0;
  let pooledSum = 0;
  let pooledSq = 0;
  const { start, order } = data;
  for (let c = 0; c < data.nComparisons; c++) {
    const s = start[c]!;
    const e = start[c + 1]!;
    if (e - s < 3) continue;
    // Weighted label totals, Σρ, Σρ², and Q = Σ_{i<k} ρ_i ρ_k g(l_i, l_k).
    let sa = 0;
    let sb = 0;
    let st = 0;
    let r1 = 0;
    let r2 = 0;
    for (let q = s; q < e; q++) {
      const j = order[q]!;
      const p = rho[data.rater[j]!]!;
      const l = data.label[j]!;
      if (l === LABEL_A) sa += p;
      else if (l === LABEL_B) sb += p;
      else st += p;
      r1 += p;
      r2 += p * p;
    }
    // Σ_{i<k} ρ_iρ_k g = ½ (Σ_i ρ_i against(l_i, S) − Σ_i ρ_i²)   (g(l, l) = 1 on the diagonal)
    let cross = 0;
    for (let q = s; q < e; q++) {
      const j = order[q]!;
      const p = rho[data.rater[j]!]!;
      cross += p * against(data.label[j]!, sa, sb, st);
    }
    const Q = 0.5 * (cross - r2);
    for (let q = s; q < e; q++) {
      const j = order[q]!;
      const w = data.rater[j]!;
      const p = rho[w]!;
      const l = data.label[j]!;
      const gj = against(l, sa, sb, st) - p; // Σ_{i≠j} ρ_i g(l_j, l_i)
      const others = r1 - p;
      const pairsW = 0.5 * (others * others - (r2 - p * p));
      if (!(others > 0 && pairsW > 0)) continue;
      const o = gj / others;
      const ev = (Q - p * gj) / pairsW;
      const r = o - ev;
      n[w]! += 1;
      sum[w]! += r;
      sumSq[w]! += r * r;
      oSum[w]! += o;
      eSum[w]! += ev;
      pooledN++;
      pooledSum += r;
      pooledSq += r * r;
    }
  }
  if (pooledN === 0) return emptySignal("reliability", W);
  const pooledVar = Math.max(1e-3, pooledSq / pooledN - (pooledSum / pooledN) ** 2);
  const score = new Float64Array(W);
  const stats: (Stats | undefined)[] = new Array(W).fill(undefined);
  // The model's figure for a rater with no co-raters is reported, but nothing was tested.
  const covered = new Uint8Array(W);
  for (let w = 0; w < W; w++) {
    const k = n[w]!;
    if (k === 0) {
      if (Number.isFinite(fit.reliability[w]!))
        stats[w] = { model_reliability: fit.reliability[w]! };
      continue;
    }
    covered[w] = 1;
    const mean = sum[w]! / k;
    const sampleVar = k > 1 ? Math.max(0, (sumSq[w]! - k * mean * mean) / (k - 1)) : pooledVar;
    const s2 = Math.max(sampleVar, 0.5 * pooledVar, smallSampleVariance(k)) / k;
    score[w] = shrunkExceedance(-mean, s2, tolerance); // P(d_w < −tolerance)
    stats[w] = {
      model_reliability: fit.reliability[w]!,
      weighted_agreement: oSum[w]! / k,
      others_weighted_agreement: eSum[w]! / k,
    };
  }
  return {
    key: "reliability",
    score,
    stats,
    covered,
    reason: (w) => {
      const s = stats[w]!;
      return `agreement weighted by the model's trust in each co-rater is ${pct(s.weighted_agreement!)}, against ${pct(s.others_weighted_agreement!)} among those co-raters (Dawid–Skene reliability ${pct(s.model_reliability!)})`;
    },
  };
}
