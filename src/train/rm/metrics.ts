/**
 * Held-out metrics of a reward (or cost) model from its scores on preference pairs:
 *
 *   accuracy      share of pairs scored the right way (ties count ½)
 *   margin        mean r_c − r_r
 *   reward_mean, reward_std   over every scored response (chosen and rejected)
 *   ece           expected calibration error of P(chosen ≻ rejected) = σ(r_c − r_r): pairs are
 *                 binned by the confidence of the predicted side, max(p, 1 − p), in 10 equal bins
 *                 over [0.5, 1] ([0.5, 0.55), …, [0.95, 1]; a tie, p = ½, is half right in its
 *                 bin as in accuracy); ECE = Σ_bins (n_b/N)·|accuracy_b − confidence_b|
 *                 (Guo et al. 2017, "On Calibration of Modern Neural Networks", ICML)
 *   nll           mean −log σ(r_c − r_r) (the Bradley–Terry loss without margin or centring)
 * For a cost model (`sign = −1`) the chosen (safer) response should score lower, and
 * `sign_accuracy` is the share of responses whose cost sign matches its safe/unsafe label.
 */
import { logSigmoid, sigmoid } from "../losses/types.js";

export interface PairEvalMetrics {
  readonly accuracy: number;
  readonly margin: number;
  readonly reward_mean: number;
  readonly reward_std: number;
  readonly ece: number;
  readonly nll: number;
  readonly pairs: number;
  readonly sign_accuracy?: number;
}

/**
 * A pair's credit toward accuracy from d = r(chosen) − r(rejected): 1 scored right, ½ tied, 0
 * wrong (or NaN). Every accuracy keel reports of a reward model counts this way.
 */
export function pairCredit(d: number): number {
  return d > 0 ? 1 : d === 0 ? 0.5 : 0;
}

/**
 * The bin of a confidence in [0.5, 1]: k when conf ≥ the edge 0.5 + k/20 (as the double nearest
 * it) and below the next one. Computed as ⌊(conf − 0.5)·20⌋ it put 0.6 and 0.7 in the bin below
 * theirs ((0.6 − 0.5)·20 is 1.9999999999999996); ⌊conf·20⌋ − 10 alone rounds the double just
 * under 0.9 up to 18; so the guess is checked against the edges themselves.
 */
function eceBin(conf: number): number {
  let k = Math.max(0, Math.min(9, Math.floor(conf * 20) - 10));
  if (k > 0 && conf < (10 + k) / 20) k -= 1;
  else if (k < 9 && conf >= (11 + k) / 20) k += 1;
  return k;
}

export function pairEvalMetrics(
  chosen: ArrayLike<number>,
  rejected: ArrayLike<number>,
  o: { sign?: 1 | -1; chosenSafe?: readonly boolean[]; rejectedSafe?: readonly boolean[] } = {},
): PairEvalMetrics {
  const n = chosen.length;
  const sign = o.sign ?? 1;
  const bins = Array.from({ length: 10 }, () => ({ n: 0, conf: 0, acc: 0 }));
  let acc = 0;
  let margin = 0;
  let nll = 0;
  let s = 0;
  // A NaN difference (a diverged model's scores) has no confidence bin: ECE is then NaN.
  let unbinned = n === 0;
  for (let i = 0; i < n; i++) {
    const d = sign * (chosen[i]! - rejected[i]!);
    acc += pairCredit(d);
    margin += d;
    nll -= logSigmoid(d);
    s += chosen[i]!;
    s += rejected[i]!;
    if (Number.isNaN(d)) {
      unbinned = true;
      continue;
    }
    const conf = sigmoid(Math.abs(d)); // max(p, 1 − p), the same for d and −d
    const bin = bins[eceBin(conf)]!;
    bin.n += 1;
    bin.conf += conf;
    bin.acc += pairCredit(d);
  }
  let ece = 0;
  for (const b of bins) if (b.n > 0) ece += (b.n / n) * Math.abs(b.acc / b.n - b.conf / b.n);
  const m = s / (2 * n);
  // Two passes: Σr² − n·m² cancels to nothing when the rewards sit far from 0.
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (chosen[i]! - m) ** 2 + (rejected[i]! - m) ** 2;
  const out: PairEvalMetrics = {
    accuracy: acc / n,
    margin: margin / n,
    reward_mean: m,
    reward_std: Math.sqrt(ss / (2 * n)),
    ece: unbinned ? Number.NaN : ece,
    nll: nll / n,
    pairs: n,
  };
  if (o.chosenSafe && o.rejectedSafe) {
    let ok = 0;
    for (let i = 0; i < n; i++) {
      ok += chosen[i]! > 0 !== o.chosenSafe[i] ? 1 : 0;
      ok += rejected[i]! > 0 !== o.rejectedSafe[i] ? 1 : 0;
    }
    return { ...out, sign_accuracy: ok / (2 * n) };
  }
  return out;
}
