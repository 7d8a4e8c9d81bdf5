/**
 * EMA policy: an exponential moving average of the policy weights, θ̄ ← d·θ̄ + (1 − d)·θ after
 * every optimizer step. The averaged policy moves slowly, so it is a fallback that a late
 * collapse has not reached: the trainer saves it next to the final model (`model-ema`) and
 * with every checkpoint. The monitor reports the relative distance ‖θ − θ̄‖ / ‖θ̄‖ (ema_drift);
 * with `max_drift` set, exceeding it raises the configured action.
 */
import type { Gpt } from "../engine/gpt/model.js";
import { l2norm } from "../engine/optim/adamw.js";
import { Ema } from "../engine/optim/ema.js";
import type { Monitor, MonitorContext } from "../train/common/monitor.js";
import type { Metrics, TrainEvent } from "../train/common/run.js";
import { Alarm } from "./alarm.js";
import type { SafeguardsConfig } from "./config.js";

export class EmaMonitor implements Monitor {
  readonly name = "ema";
  private readonly alarm: Alarm;
  private avg: Ema | undefined;
  private drift = 0;

  constructor(private readonly o: NonNullable<SafeguardsConfig["ema"]>) {
    this.alarm = new Alarm(this.name, o.action);
  }

  attach(policy: Gpt): void {
    this.avg = new Ema(policy.params, this.o.decay);
  }

  afterUpdate(): void {
    this.avg?.update();
  }

  ema(): Ema | undefined {
    return this.avg;
  }

  observe(ctx: MonitorContext): TrainEvent[] {
    if (!this.avg) return [];
    const p = ctx.policy.params.flat;
    const e = this.avg.shadow;
    let d = 0;
    for (let i = 0; i < p.length; i++) d += (p[i]! - e[i]!) ** 2;
    this.drift = Math.sqrt(d) / Math.max(l2norm(e), 1e-12);
    const max = this.o.max_drift;
    if (max === null) return [];
    // NaN weights are as far from the EMA as weights can be.
    return this.alarm.check(ctx.step, !(this.drift <= max), () => ({
      message: `the policy is ${this.drift.toFixed(4)} (relative L2) from its EMA, over ${max}`,
      value: this.drift,
      threshold: max,
    }));
  }

  metrics(): Metrics {
    return { ema_drift: this.drift };
  }

  state() {
    return { alarm: this.alarm.state(), drift: this.drift };
  }

  restore(s: unknown): void {
    const v = s as ReturnType<EmaMonitor["state"]>;
    this.alarm.restore(v.alarm);
    this.drift = v.drift;
  }
}
