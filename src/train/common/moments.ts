/**
 * Running mean and variance (Welford 1962, "Note on a method for calculating corrected sums of
 * squares and products", Technometrics 4(3), doi:10.1080/00401706.1962.10490022; batches merged
 * with Chan et al.'s parallel update). PPO uses it to normalise rewards by the statistics of
 * every finite reward seen so far: r' = clip((r − mean)/std, −c, c). Its state is plain
 * numbers, saved in checkpoints so a resumed run normalises exactly as an uninterrupted one.
 */
export interface MomentsState {
  readonly n: number;
  readonly mean: number;
  readonly m2: number;
}

export class RunningMoments {
  n = 0;
  mean = 0;
  m2 = 0;

  constructor(s?: MomentsState) {
    if (s) ({ n: this.n, mean: this.mean, m2: this.m2 } = s);
  }

  /**
   * Adds the finite values of `xs`. A NaN or infinite score (a diverged reward model's) is left
   * out: counted, it would make the mean NaN or infinite for every later batch, so one bad batch
   * would spoil the normalisation of the rest of the run.
   */
  update(xs: ArrayLike<number>): void {
    let k = 0;
    let mb = 0;
    for (let i = 0; i < xs.length; i++) {
      if (!Number.isFinite(xs[i]!)) continue;
      mb += xs[i]!;
      k += 1;
    }
    if (k === 0) return;
    mb /= k;
    let m2b = 0;
    for (let i = 0; i < xs.length; i++) if (Number.isFinite(xs[i]!)) m2b += (xs[i]! - mb) ** 2;
    const n = this.n + k;
    const d = mb - this.mean;
    this.mean += (d * k) / n;
    this.m2 += m2b + (d * d * this.n * k) / n;
    this.n = n;
  }

  get std(): number {
    return this.n > 1 ? Math.sqrt(this.m2 / this.n) : 1;
  }

  state(): MomentsState {
    return { n: this.n, mean: this.mean, m2: this.m2 };
  }
}
