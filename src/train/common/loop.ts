/**
 * The bookkeeping around a trainer's step loop, the same for every trainer: resume from the
 * latest checkpoint (refusing one written under a different config), metrics records at the
 * configured cadence, progress callbacks, periodic checkpoints, and abort handling.
 *
 * Determinism contract: a trainer derives all randomness of step s from (seed, s) — never from
 * how many numbers earlier steps drew — so that resuming at step s replays exactly.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { KeelError } from "../../core/errors.js";
import type { RunOptions } from "./config.js";
import {
  CheckpointStore,
  FINAL_MODEL_DIR,
  type Metrics,
  MetricsLog,
  type TrainEvent,
  type TrainHooks,
  type TrainResult,
} from "./run.js";

export interface ResumePoint {
  readonly dir: string;
  readonly step: number;
}

export class TrainLoop {
  readonly log: MetricsLog;
  readonly checkpoints: CheckpointStore | undefined;
  readonly resumePoint: ResumePoint | undefined;
  readonly configHash: string;
  readonly events: TrainEvent[] = [];
  private readonly started = Date.now();

  constructor(
    readonly trainer: string,
    readonly hooks: TrainHooks,
    readonly run: RunOptions,
    readonly total: number,
    config: unknown,
  ) {
    this.configHash = createHash("sha256").update(JSON.stringify(config)).digest("hex");
    const out = hooks.outDir;
    if (hooks.resume && !out)
      throw new KeelError("KEEL_E_USAGE", `${trainer}: resume needs an output directory`);
    this.checkpoints = out ? new CheckpointStore(out, run.keep_checkpoints) : undefined;
    this.resumePoint = hooks.resume ? this.checkpoints!.latest() : undefined;
    this.log = new MetricsLog(out, this.resumePoint?.step);
  }

  get startStep(): number {
    return this.resumePoint?.step ?? 0;
  }

  /** Checks that the checkpoint being resumed was written by this trainer under this config. */
  checkResumable(extra: Record<string, unknown>): void {
    if (extra.trainer !== this.trainer || extra.config_hash !== this.configHash) {
      throw new KeelError(
        "KEEL_E_CONFIG",
        `cannot resume: the checkpoint was written by ${String(extra.trainer)} under a different config`,
        {
          where: { file: this.resumePoint?.dir ?? "" },
          hint: "resume with the same config, or start a new run in a fresh output directory",
        },
      );
    }
  }

  /** Trainer-state fields every checkpoint carries. */
  stamp(step: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { ...extra, trainer: this.trainer, config_hash: this.configHash, step };
  }

  /** 1-based step counts: log after step s when s % log_every = 0 or at the end. */
  due(every: number, step: number): boolean {
    return step === this.total || (every > 0 && step % every === 0);
  }

  progress(phase: string, step: number, metrics: Metrics): void {
    this.hooks.onProgress?.({ trainer: this.trainer, phase, step, total: this.total, metrics });
  }

  record(type: "train" | "eval", step: number, metrics: Metrics): void {
    this.log.write({ type, step, ...metrics });
  }

  event(e: TrainEvent): void {
    this.events.push(e);
    this.log.write({ type: "event", ...e });
  }

  get aborted(): boolean {
    return this.hooks.signal?.aborted ?? false;
  }

  saveCheckpoint(step: number, write: (dir: string) => void): string | undefined {
    return this.checkpoints?.save(step, write);
  }

  /** `<outDir>/model` (the final model), or undefined without an output directory. */
  get finalDir(): string | undefined {
    return this.hooks.outDir ? join(this.hooks.outDir, FINAL_MODEL_DIR) : undefined;
  }

  finish(
    status: TrainResult["status"],
    steps: number,
    metrics: Metrics,
    checkpoint: string | undefined,
  ): TrainResult {
    const seconds = (Date.now() - this.started) / 1000;
    this.log.write({ type: "summary", step: steps, status, ...metrics, wall_s: seconds });
    return { status, steps, metrics, checkpoint, events: this.events, seconds };
  }
}
