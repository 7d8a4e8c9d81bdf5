/**
 * The hook through which drift safeguards (src/safeguards) watch a PPO run. The trainer calls
 * `observe` once per iteration with the iteration's rollout and metrics; a monitor returns
 * events (written to metrics.jsonl, returned in the result) and any event of severity "stop"
 * ends the run after that iteration's checkpoint. Monitors with state (baselines, EMA weights)
 * expose it for checkpoints so a resumed run watches exactly as an uninterrupted one.
 */
import type { Gpt } from "../../engine/gpt/model.js";
import type { Ema } from "../../engine/optim/ema.js";
import type { Metrics, TrainEvent } from "./run.js";

export interface RolloutView {
  readonly prompts: readonly string[];
  readonly responses: readonly string[];
  /** Proxy reward per response (the reward model's aggregate score, before normalisation). */
  readonly scores: Float64Array;
  /** Ensemble members' scores [k][n], when the reward model is an ensemble. */
  readonly memberScores?: readonly Float64Array[];
  /** Per-sequence KL(π ‖ π_ref) estimate. */
  readonly kl: Float64Array;
  /** Response lengths in tokens. */
  readonly lengths: readonly number[];
}

export interface MonitorContext {
  /** Iterations completed (1-based). */
  readonly step: number;
  readonly policy: Gpt;
  readonly rollout: RolloutView;
  readonly metrics: Metrics;
}

export interface Monitor {
  readonly name: string;
  /** Called once with the policy before training (and before a resume restores state). */
  attach?(policy: Gpt): void;
  observe(ctx: MonitorContext): TrainEvent[] | Promise<TrainEvent[]>;
  /** Metrics the monitor adds to the iteration's record (e.g. gold reward). */
  metrics?(): Metrics;
  /** Called after every optimizer step of the policy (the EMA monitor averages there). */
  afterUpdate?(policy: Gpt): void;
  /** JSON state for checkpoints, and its restoration. */
  state?(): unknown;
  restore?(state: unknown): void;
  /** An EMA of the policy weights to save with checkpoints (ema.safetensors). */
  ema?(): Ema | undefined;
}
