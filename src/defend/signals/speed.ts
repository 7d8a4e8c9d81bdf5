/**
 * Response time against text length: judgments made faster than the text could be read.
 *
 * The typical latency for a text length is the median latency of all judgments whose total
 * word count (prompt + both responses) falls in the same bin (bins of ½ in log₂ words; bins
 * with fewer than 20 judgments borrow the nearest populated bin). A judgment is too fast when
 *
 *   latency_j < fast_ratio · typical(words_j)                  (default fast_ratio 0.3)
 *
 * and for rater w with k too-fast judgments out of n timed ones:
 *   s | data ~ Beta(1 + k, 19 + n − k)          (prior mean 5%: anyone is sometimes quick)
 *   score_w  = P(s > tolerance)
 *
 * The medians make the reference robust while fast raters are a minority of judgments in each
 * bin. Judgments without latency_ms are skipped; a store without latencies gives no signal,
 * and neither does a bin whose typical latency is 0 (a tool that writes 0 for "not recorded"):
 * nothing is faster than typical there.
 */
import { betaSf, median } from "../stats.js";
import { emptySignal, pct, type RaterSignal, type SignalContext, type Stats } from "./signal.js";

const MIN_BIN = 20;

function binOf(words: number): number {
  return Math.floor(2 * Math.log2(words + 1));
}

export function speedSignal(ctx: SignalContext): RaterSignal {
  const { data, config } = ctx;
  const cfg = config.signals.speed;
  const W = data.nRaters;
  if (!cfg.enabled) return emptySignal("speed", W);
  const { wordsPrompt, wordsA, wordsB } = data.comparisons;
  const words = (c: number) => wordsPrompt[c]! + wordsA[c]! + wordsB[c]!;
  const byBin = new Map<number, number[]>();
  for (let q = 0; q < data.order.length; q++) {
    const j = data.order[q]!;
    const t = data.latency[j]!;
    if (!Number.isFinite(t)) continue;
    const bin = binOf(words(data.comparison[j]!));
    const list = byBin.get(bin);
    if (list) list.push(t);
    else byBin.set(bin, [t]);
  }
  const typical = new Map<number, number>();
  for (const [bin, list] of byBin) if (list.length >= MIN_BIN) typical.set(bin, median(list));
  if (typical.size === 0) return emptySignal("speed", W);
  const bins = [...typical.keys()].sort((x, y) => x - y);
  const lookup = (bin: number): number => {
    const t = typical.get(bin);
    if (t !== undefined) return t;
    let best = bins[0]!;
    for (const b of bins) if (Math.abs(b - bin) < Math.abs(best - bin)) best = b;
    return typical.get(best)!;
  };
  const fast = new Float64Array(W);
  const timed = new Float64Array(W);
  const ratios: number[][] = Array.from({ length: W }, () => []);
  for (let q = 0; q < data.order.length; q++) {
    const j = data.order[q]!;
    const t = data.latency[j]!;
    if (!Number.isFinite(t)) continue;
    const ref = lookup(binOf(words(data.comparison[j]!)));
    if (!(ref > 0)) continue;
    const w = data.rater[j]!;
    const ratio = t / ref;
    timed[w]! += 1;
    if (ratio < cfg.fast_ratio) fast[w]! += 1;
    ratios[w]!.push(ratio);
  }
  const score = new Float64Array(W);
  const stats: (Stats | undefined)[] = new Array(W).fill(undefined);
  for (let w = 0; w < W; w++) {
    const n = timed[w]!;
    if (n === 0) continue;
    score[w] = betaSf(cfg.tolerance, 1 + fast[w]!, 19 + n - fast[w]!);
    stats[w] = { timed: n, fast_share: fast[w]! / n, median_time_ratio: median(ratios[w]!) };
  }
  return {
    key: "speed",
    score,
    stats,
    reason: (w) => {
      const s = stats[w]!;
      return `${pct(s.fast_share!)} of judgments took under ${pct(cfg.fast_ratio)} of the typical time for their text length (median ${s.median_time_ratio!.toFixed(2)}× typical, ${s.timed} timed)`;
    },
  };
}
