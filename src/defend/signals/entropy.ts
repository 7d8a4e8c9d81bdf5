/**
 * Answer entropy against the consensus: a rater who (nearly) always gives the same answer —
 * always "a", always "tie" — whatever the comparison.
 *
 * On the judgments of w that have other raters, let k* be w's most frequent label, s its share,
 * and e the share of k* among the other raters' labels on the same comparisons:
 *
 *   s | data ~ Beta(20e + n_k*, 20(1 − e) + n − n_k*)    (a prior worth 20 judgments, centred
 *                                                        on the others' share)
 *   score_w  = P(s > e + tolerance)
 *
 * When several labels tie for w's most frequent, k* is the one that scores highest (the one the
 * others give least), so the score does not depend on which response is called "a".
 *
 * Comparing with the others' share on the same items is what keeps a rater who happened to see
 * only comparisons where A is better (so "always a" is right) from firing. Entropies in bits of
 * w's labels and of the others' are reported.
 */
import { LABEL_A, LABEL_B, LABEL_TIE } from "../data.js";
import { betaSf, entropyBits } from "../stats.js";
import { emptySignal, pct, type RaterSignal, type SignalContext, type Stats } from "./signal.js";

const NAMES = ["a", "b", "tie"];

/** P(s > e + tolerance) for the share s of a label given n_k of n and the others' share e. */
function topLabelScore(e: number, nk: number, n: number, tolerance: number): number {
  const prior = 20;
  const e0 = Math.min(0.98, Math.max(0.02, e));
  return betaSf(Math.min(1, e + tolerance), prior * e0 + nk, prior * (1 - e0) + n - nk);
}

export function entropySignal(ctx: SignalContext): RaterSignal {
  const { data, loo, config } = ctx;
  const cfg = config.signals.entropy;
  const W = data.nRaters;
  if (!cfg.enabled) return emptySignal("entropy", W);
  const own = new Float64Array(W * 3);
  const others = new Float64Array(W * 3);
  for (let q = 0; q < data.order.length; q++) {
    const j = data.order[q]!;
    if (Number.isNaN(loo.agree[j]!)) continue;
    const c = data.comparison[j]!;
    const w = data.rater[j]!;
    const l = data.label[j]!;
    own[w * 3 + l]! += 1;
    const A = data.countA[c]! - (l === LABEL_A ? 1 : 0);
    const B = data.countB[c]! - (l === LABEL_B ? 1 : 0);
    const T = data.countTie[c]! - (l === LABEL_TIE ? 1 : 0);
    const m = A + B + T;
    others[w * 3]! += A / m;
    others[w * 3 + 1]! += B / m;
    others[w * 3 + 2]! += T / m;
  }
  const score = new Float64Array(W);
  const stats: (Stats | undefined)[] = new Array(W).fill(undefined);
  const top = new Int8Array(W);
  for (let w = 0; w < W; w++) {
    const o = own.subarray(w * 3, w * 3 + 3);
    const n = o[0]! + o[1]! + o[2]!;
    if (n === 0) continue;
    // Among labels tied for the most frequent, the one the others give least (the highest
    // score): taking the first in a/b/tie order scored a rater who split evenly between a and b
    // by which response happened to be called "a".
    let k = -1;
    let best = -1;
    let e = 0;
    const most = Math.max(o[0]!, o[1]!, o[2]!);
    for (let i = 0; i < 3; i++) {
      if (o[i] !== most) continue;
      const ei = others[w * 3 + i]! / n;
      const s = topLabelScore(ei, o[i]!, n, cfg.tolerance);
      if (k < 0 || s > best || (s === best && ei < e)) {
        k = i;
        best = s;
        e = ei;
      }
    }
    top[w] = k;
    score[w] = best;
    stats[w] = {
      entropy_bits: entropyBits(o),
      others_entropy_bits: entropyBits(others.subarray(w * 3, w * 3 + 3)),
      top_label_share: o[k]! / n,
      others_top_label_share: e,
    };
  }
  return {
    key: "entropy",
    score,
    stats,
    reason: (w) => {
      const s = stats[w]!;
      return `answers "${NAMES[top[w]!]}" ${pct(s.top_label_share!)} of the time where the other raters of the same comparisons do ${pct(s.others_top_label_share!)} (entropy ${s.entropy_bits!.toFixed(2)} vs ${s.others_entropy_bits!.toFixed(2)} bits)`;
    },
  };
}
