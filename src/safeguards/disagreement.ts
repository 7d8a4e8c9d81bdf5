/**
 * Reward-ensemble disagreement as an over-optimisation alarm (Gao et al. 2022, "Scaling Laws
 * for Reward Model Overoptimization", arXiv:2210.10760; Coste et al. 2023; Eisenstein et al.
 * 2023): while the policy stays where the reward models were trained they agree; when it
 * exploits one model's errors, members diverge. Per iteration, d = mean over responses of the
 * standard deviation across members' (normalised) scores; the baseline is d's mean over the
 * first `baseline_iters` iterations; on each later iteration the alarm fires when
 * d > max_ratio × baseline (so after a baseline of 0, members that agreed exactly, any d > 0).
 * Without an ensemble (one member) the monitor reports once that it is inactive. A
 * disagreement that is not finite (a member scoring NaN) stays out of the baseline, so it
 * cannot disable the monitor, and past the baseline it raises the alarm.
 */
import type { Monitor, MonitorContext } from "../train/common/monitor.js";
import type { Metrics, TrainEvent } from "../train/common/run.js";
import { Alarm } from "./alarm.js";
import type { SafeguardsConfig } from "./config.js";

/** Mean over responses of the std across members; members [k][n]. */
export function ensembleDisagreement(members: readonly ArrayLike<number>[]): number {
  const k = members.length;
  const n = members[0]?.length ?? 0;
  if (k < 2 || n === 0) return 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (const m of members) s += m[i]!;
    const mu = s / k;
    let v = 0;
    for (const m of members) v += (m[i]! - mu) ** 2;
    total += Math.sqrt(v / k);
  }
  return total / n;
}

export class DisagreementMonitor implements Monitor {
  readonly name = "disagreement";
  private readonly alarm: Alarm;
  private seen: number[] = [];
  private current = 0;
  private noEnsembleReported = false;

  constructor(private readonly o: NonNullable<SafeguardsConfig["disagreement"]>) {
    this.alarm = new Alarm(this.name, o.action);
  }

  private get baseline(): number | undefined {
    if (this.seen.length < this.o.baseline_iters) return undefined;
    const b = this.seen.slice(0, this.o.baseline_iters);
    return b.reduce((a, x) => a + x, 0) / b.length;
  }

  observe(ctx: MonitorContext): TrainEvent[] {
    const members = ctx.rollout.memberScores;
    if (!members || members.length < 2) {
      if (this.noEnsembleReported) return [];
      this.noEnsembleReported = true;
      return [
        {
          step: ctx.step,
          source: this.name,
          severity: "info",
          message: "the reward model is not an ensemble, so disagreement cannot be tracked",
        },
      ];
    }
    this.current = ensembleDisagreement(members);
    if (this.seen.length < this.o.baseline_iters) {
      // Baseline iterations are what "normal" means; none is checked against a mean it is part of.
      if (Number.isFinite(this.current)) this.seen.push(this.current);
      return [];
    }
    const base = this.baseline;
    if (base === undefined) return [];
    // A baseline of 0 (members that agreed exactly) is exceeded by any disagreement at all.
    const limit = this.o.max_ratio * base;
    const times = base > 0 ? `${(this.current / base).toFixed(2)}× its` : "over a";
    return this.alarm.check(ctx.step, !(this.current <= limit), () => ({
      message: `reward-ensemble disagreement ${this.current.toFixed(3)} is ${times} baseline ${base.toFixed(3)}: the policy may be exploiting reward-model errors`,
      value: this.current,
      threshold: limit,
    }));
  }

  metrics(): Metrics {
    const base = this.baseline;
    return {
      rm_disagreement: this.current,
      ...(base ? { rm_disagreement_ratio: this.current / base } : {}),
    };
  }

  state() {
    return {
      alarm: this.alarm.state(),
      seen: this.seen,
      current: this.current,
      reported: this.noEnsembleReported,
    };
  }

  restore(s: unknown): void {
    const v = s as ReturnType<DisagreementMonitor["state"]>;
    this.alarm.restore(v.alarm);
    this.seen = [...v.seen];
    this.current = v.current;
    this.noEnsembleReported = v.reported;
  }
}
