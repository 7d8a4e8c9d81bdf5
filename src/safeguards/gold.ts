/**
 * Gold-reward tracking: when a gold scorer exists (in keel's synthetic world, the oracle's
 * true quality of a response), score every rollout with it too. Over-optimisation shows as the
 * proxy (reward-model) score rising while the gold score falls (Gao et al. 2022). Both are
 * smoothed, s ← α·s + (1 − α)·x (α = `smoothing`); the alarm fires when smoothed gold is more
 * than `max_drop` below its best so far while smoothed proxy is at or above its value at that
 * best. Metrics: gold_reward (this batch), gold_best, gold_proxy_gap. A batch whose mean gold
 * or proxy reward is not finite leaves the smoothed values and the best untouched (one NaN
 * would otherwise stay in them for the rest of the run and silence the alarm). A batch whose
 * gold scores are mostly (at least half) not finite raises its own alarm, with the same action:
 * a gold scorer that returns NaN would otherwise leave the run unwatched without a word.
 */
import type { Monitor, MonitorContext } from "../train/common/monitor.js";
import type { Metrics, TrainEvent } from "../train/common/run.js";
import { Alarm } from "./alarm.js";
import type { SafeguardsConfig } from "./config.js";

/** The gold scorer: true reward of each (prompt, response). */
export type GoldFn = (
  prompts: readonly string[],
  responses: readonly string[],
) => number[] | Promise<number[]>;

export class GoldMonitor implements Monitor {
  readonly name = "gold";
  private readonly alarm: Alarm;
  /** Raised when the gold scorer's scores of a batch are mostly not finite. */
  private readonly unscored: Alarm;
  private gold: number | undefined;
  private proxy: number | undefined;
  private best = Number.NEGATIVE_INFINITY;
  private proxyAtBest = 0;
  private lastGold = 0;

  constructor(
    private readonly o: NonNullable<SafeguardsConfig["gold"]>,
    private readonly fn: GoldFn,
  ) {
    this.alarm = new Alarm(this.name, o.action);
    this.unscored = new Alarm(this.name, o.action);
  }

  async observe(ctx: MonitorContext): Promise<TrainEvent[]> {
    const g = await this.fn(ctx.rollout.prompts, ctx.rollout.responses);
    const gm = g.reduce((a, x) => a + x, 0) / Math.max(g.length, 1);
    const pm =
      ctx.rollout.scores.reduce((a, x) => a + x, 0) / Math.max(ctx.rollout.scores.length, 1);
    const a = this.o.smoothing;
    this.lastGold = gm;
    const unscored = this.checkScored(ctx.step, g);
    if (!Number.isFinite(gm) || !Number.isFinite(pm)) return unscored;
    this.gold = this.gold === undefined ? gm : a * this.gold + (1 - a) * gm;
    this.proxy = this.proxy === undefined ? pm : a * this.proxy + (1 - a) * pm;
    if (this.gold > this.best) {
      this.best = this.gold;
      this.proxyAtBest = this.proxy;
    }
    const drop = this.best - this.gold;
    const over = this.alarm.check(
      ctx.step,
      drop > this.o.max_drop && this.proxy >= this.proxyAtBest,
      () => ({
        message: `gold reward fell ${drop.toFixed(3)} below its best ${this.best.toFixed(3)} while the proxy reward rose to ${this.proxy!.toFixed(3)}: reward over-optimisation`,
        value: drop,
        threshold: this.o.max_drop,
      }),
    );
    return [...unscored, ...over];
  }

  /** The alarm on a batch whose gold scores are mostly NaN or ±∞ (none at all counts as none). */
  private checkScored(step: number, g: readonly number[]): TrainEvent[] {
    let bad = 0;
    let first = -1;
    for (let i = 0; i < g.length; i++)
      if (!Number.isFinite(g[i])) {
        bad++;
        if (first < 0) first = i;
      }
    return this.unscored.check(step, g.length > 0 && 2 * bad >= g.length, () => ({
      message: `the gold scorer returned ${bad} of ${g.length} scores that are not finite (${g[first]} for response ${first} first): gold reward cannot be tracked while it does`,
      value: bad / g.length,
      threshold: 0.5,
    }));
  }

  metrics(): Metrics {
    return {
      gold_reward: this.lastGold,
      gold_best: this.best,
      ...(this.gold !== undefined && this.proxy !== undefined
        ? { gold_proxy_gap: this.proxy - this.gold }
        : {}),
    };
  }

  state() {
    return {
      alarm: this.alarm.state(),
      unscored: this.unscored.state(),
      gold: this.gold ?? null,
      proxy: this.proxy ?? null,
      best: this.best,
      proxyAtBest: this.proxyAtBest,
      lastGold: this.lastGold,
    };
  }

  restore(s: unknown): void {
    const v = s as ReturnType<GoldMonitor["state"]>;
    this.alarm.restore(v.alarm);
    // A checkpoint from before this alarm existed: it starts armed.
    if (v.unscored) this.unscored.restore(v.unscored);
    this.gold = v.gold ?? undefined;
    this.proxy = v.proxy ?? undefined;
    this.best = v.best ?? Number.NEGATIVE_INFINITY;
    this.proxyAtBest = v.proxyAtBest;
    this.lastGold = v.lastGold;
  }
}
