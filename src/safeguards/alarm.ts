/**
 * The edge-triggered alarm every safeguard uses: it raises an event when its condition becomes
 * true (not on every iteration it stays true) and re-arms only after the condition has been
 * clear for `rearmAfter` consecutive checks, so a metric hovering at its threshold does not
 * flood the log. `active` (condition true now) and `fired` (events raised) are kept for
 * checkpoints. Severity comes from the safeguard's `action`.
 */
import type { Severity, TrainEvent } from "../train/common/run.js";

export class Alarm {
  active = false;
  fired = 0;
  private armed = true;
  private clear = 0;

  constructor(
    readonly source: string,
    readonly action: "warn" | "stop",
    readonly rearmAfter = 3,
  ) {}

  check(
    step: number,
    on: boolean,
    detail: () => { message: string; value: number; threshold: number },
    severity: Severity = this.action,
  ): TrainEvent[] {
    this.active = on;
    if (!on) {
      this.clear += 1;
      if (this.clear >= this.rearmAfter) this.armed = true;
      return [];
    }
    this.clear = 0;
    if (!this.armed) return [];
    this.armed = false;
    this.fired += 1;
    const d = detail();
    return [
      {
        step,
        source: this.source,
        severity,
        message: d.message,
        value: d.value,
        threshold: d.threshold,
      },
    ];
  }

  state(): { active: boolean; fired: number; armed: boolean; clear: number } {
    return { active: this.active, fired: this.fired, armed: this.armed, clear: this.clear };
  }

  restore(s: { active: boolean; fired: number; armed?: boolean; clear?: number }): void {
    this.active = s.active;
    this.fired = s.fired;
    this.armed = s.armed ?? !s.active;
    this.clear = s.clear ?? 0;
  }
}
