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
 * Comparing with the others' share on the same items is what keeps a rater who happened to see
 * only comparisons where A is better (so "always a" is right) from firing. Entropies in bits of
 * w's labels and of the others' are reported.
 */
import { LABEL_A, LABEL_B, LABEL_TIE } from "../data.js";
import { betaSf, entropyBits } from "../stats.js";
import { emptySignal, pct, type RaterSignal, type SignalContext, type Stats } from "./signal.js";

const NAMES = ["a", "b", "tie"];

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
    let k = 0;
    for (let i = 1; i < 3; i++) if (o[i]! > o[k]!) k = i;
    top[w] = k;
    const e = others[w * 3 + k]! / n;
    const prior = 20;
    const e0 = Math.min(0.98, Math.max(0.02, e));
    score[w] = betaSf(
      Math.min(1, e + cfg.tolerance),
      prior * e0 + o[k]!,
      prior * (1 - e0) + n - o[k]!,
    );
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
