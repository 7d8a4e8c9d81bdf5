/**
 * Learning-rate schedule: linear warm-up then cosine decay (Loshchilov & Hutter, "SGDR",
 * ICLR 2017, arXiv:1608.03983; the form nanoGPT uses):
 *
 *   lr(t) = η·(t + 1)/w                               for t < w
 *         = η_min + ½(η − η_min)(1 + cos(π·p))        p = (t − w)/(T − w), for w ≤ t < T
 *         = η_min                                     for t ≥ T
 *
 * with t the 0-based step, w the warm-up steps and T the total steps.
 */
export interface CosineSchedule {
  readonly lr: number;
  readonly warmup: number;
  readonly total: number;
  readonly minLr?: number;
}

export function cosineLr(s: CosineSchedule, step: number): number {
  const min = s.minLr ?? 0;
  if (step < s.warmup) return (s.lr * (step + 1)) / s.warmup;
  if (step >= s.total) return min;
  const p = (step - s.warmup) / Math.max(1, s.total - s.warmup);
  return min + 0.5 * (s.lr - min) * (1 + Math.cos(Math.PI * p));
}
