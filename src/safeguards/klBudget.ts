/**
 * KL budget: the policy may drift from the reference by at most `max` nats of mean
 * per-sequence KL(π ‖ π_ref) (the same estimate the reward penalty uses). A warning fires at
 * warn_fraction × max; crossing max raises the configured action (default: stop), so a run
 * whose KL controller cannot hold the policy ends instead of drifting into reward hacking
 * (Gao et al. 2022: gold reward peaks and then falls as KL grows). A KL that is not a number
 * (a policy whose log-probabilities diverged) is over any budget.
 */
import type { Monitor, MonitorContext } from "../train/common/monitor.js";
import type { Metrics, TrainEvent } from "../train/common/run.js";
import { Alarm } from "./alarm.js";
import type { SafeguardsConfig } from "./config.js";

export class KlBudgetMonitor implements Monitor {
  readonly name = "kl_budget";
  private readonly warn: Alarm;
  private readonly over: Alarm;
  private last = 0;

  constructor(private readonly o: NonNullable<SafeguardsConfig["kl_budget"]>) {
    this.warn = new Alarm(this.name, "warn");
    this.over = new Alarm(this.name, o.action);
  }

  observe(ctx: MonitorContext): TrainEvent[] {
    const kl = ctx.metrics.kl ?? 0;
    this.last = kl;
    const soft = this.o.warn_fraction * this.o.max;
    return [
      ...this.warn.check(ctx.step, kl > soft && kl <= this.o.max, () => ({
        message: `KL to the reference is ${kl.toFixed(3)} nats, past ${Math.round(this.o.warn_fraction * 100)}% of the budget ${this.o.max}`,
        value: kl,
        threshold: soft,
      })),
      ...this.over.check(ctx.step, !(kl <= this.o.max), () => ({
        message: `KL to the reference is ${kl.toFixed(3)} nats, over the budget ${this.o.max}`,
        value: kl,
        threshold: this.o.max,
      })),
    ];
  }

  metrics(): Metrics {
    return { kl_budget_used: this.last / this.o.max };
  }

  state() {
    return { warn: this.warn.state(), over: this.over.state(), last: this.last };
  }

  restore(s: unknown): void {
    const v = s as ReturnType<KlBudgetMonitor["state"]>;
    this.warn.restore(v.warn);
    this.over.restore(v.over);
    this.last = v.last;
  }
}
