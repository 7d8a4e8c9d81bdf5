import type { Gpt } from "../../src/engine/gpt/model.js";
import type { MonitorContext } from "../../src/train/common/monitor.js";

/** What a test sets of a monitor's view of one step; the rest is filled in. */
export interface StepOptions {
  readonly kl?: number;
  readonly metrics?: Record<string, number>;
  readonly prompts?: readonly string[];
  readonly responses?: readonly string[];
  readonly lengths?: readonly number[];
  readonly scores?: ArrayLike<number>;
  readonly memberScores?: readonly ArrayLike<number>[];
  readonly policy?: Gpt;
}

/**
 * A monitor's view of step `step`: the rollout has as many rows as the first given per-row field
 * (2 if none), prompts "p", responses "r", scores 0, lengths 10, per-token KL 0.
 */
export function monitorContext(step: number, o: StepOptions = {}): MonitorContext {
  const n =
    o.responses?.length ??
    o.prompts?.length ??
    o.lengths?.length ??
    o.scores?.length ??
    o.memberScores?.[0]?.length ??
    2;
  return {
    step,
    policy: o.policy ?? (null as unknown as Gpt),
    metrics: { kl: o.kl ?? 0, ...(o.metrics ?? {}) },
    rollout: {
      prompts: o.prompts ?? Array.from({ length: n }, () => "p"),
      responses: o.responses ?? Array.from({ length: n }, () => "r"),
      scores: Float64Array.from(o.scores ?? new Float64Array(n)),
      ...(o.memberScores ? { memberScores: o.memberScores.map((m) => Float64Array.from(m)) } : {}),
      kl: new Float64Array(n),
      lengths: o.lengths ?? Array.from({ length: n }, () => 10),
    },
  };
}
