/**
 * The edge-triggered alarm every safeguard uses: it raises an event when its condition becomes
 * true (not on every iteration it stays true), re-arms once the condition clears, and records
 * whether it is active for the metrics. Severity comes from the safeguard's `action`.
 */
import type { Severity, TrainEvent } from "../train/common/run.js";

export class Alarm {
  active = false;
  fired = 0;

  constructor(
    readonly source: string,
    readonly action: "warn" | "stop",
  ) {}

  check(
    step: number,
    on: boolean,
    detail: () => { message: string; value: number; threshold: number },
    severity: Severity = this.action,
  ): TrainEvent[] {
    const was = this.active;
    this.active = on;
    if (!on || was) return [];
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

  state(): { active: boolean; fired: number } {
    return { active: this.active, fired: this.fired };
  }

  restore(s: { active: boolean; fired: number }): void {
    this.active = s.active;
    this.fired = s.fired;
  }
}
