/**
 * Response-length drift: a reward model that likes long answers (or raters who did) pulls the
 * policy towards verbosity, a classic reward-hacking symptom (Singhal et al. 2023, "A Long Way
 * to Go: Investigating Length Correlations in RLHF", arXiv:2310.03716); a collapse towards
 * empty answers is the opposite failure. The baseline is the mean response length (tokens) over
 * the first `baseline_iters` iterations; the alarm fires when the current mean leaves
 * [min_ratio, max_ratio] × baseline. A baseline of 0 tokens (every response empty) is exceeded
 * by any mean above 0.
 */
import type { Monitor, MonitorContext } from "../train/common/monitor.js";
import type { Metrics, TrainEvent } from "../train/common/run.js";
import { Alarm } from "./alarm.js";
import type { SafeguardsConfig } from "./config.js";

export class LengthMonitor implements Monitor {
  readonly name = "length";
  private readonly alarm: Alarm;
  private seen: number[] = [];
  private current = 0;

  constructor(private readonly o: NonNullable<SafeguardsConfig["length"]>) {
    this.alarm = new Alarm(this.name, o.action);
  }

  observe(ctx: MonitorContext): TrainEvent[] {
    const L = ctx.rollout.lengths;
    this.current = L.reduce((a, x) => a + x, 0) / Math.max(L.length, 1);
    if (this.seen.length < this.o.baseline_iters) {
      this.seen.push(this.current);
      return [];
    }
    const base = this.baseline;
    if (base === 0) {
      // Every baseline response was empty (a policy that stopped at once): any length is
      // infinitely many times that, so the alarm fires on the first non-empty mean. (Taken as a
      // ratio of 1, it never fired.) The event is told in tokens: an infinite ratio is no JSON.
      return this.alarm.check(ctx.step, this.current > 0, () => ({
        message: `mean response length ${this.current.toFixed(1)} tokens, from a baseline of 0 (every baseline response was empty)`,
        value: this.current,
        threshold: 0,
      }));
    }
    const ratio = this.current / base;
    const out = ratio > this.o.max_ratio || ratio < this.o.min_ratio;
    return this.alarm.check(ctx.step, out, () => ({
      message: `mean response length ${this.current.toFixed(1)} tokens is ${ratio.toFixed(2)}× its baseline ${base.toFixed(1)} (allowed ${this.o.min_ratio}–${this.o.max_ratio}×)`,
      value: ratio,
      threshold: ratio > 1 ? this.o.max_ratio : this.o.min_ratio,
    }));
  }

  private get baseline(): number {
    return this.seen.length > 0 ? this.seen.reduce((a, x) => a + x, 0) / this.seen.length : 0;
  }

  /** length_ratio; left out over a baseline of 0 when the mean is not 0 (the ratio is ∞). */
  metrics(): Metrics {
    const base = this.baseline;
    if (base > 0) return { length_ratio: this.current / base };
    return this.current === 0 ? { length_ratio: 1 } : {};
  }

  state() {
    return { alarm: this.alarm.state(), seen: this.seen, current: this.current };
  }

  restore(s: unknown): void {
    const v = s as ReturnType<LengthMonitor["state"]>;
    this.alarm.restore(v.alarm);
    this.seen = [...v.seen];
    this.current = v.current;
  }
}
