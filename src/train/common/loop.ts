/**
 * The bookkeeping around a trainer's step loop, the same for every trainer: resume from the
 * latest checkpoint (refusing one written under a different config), metrics records at the
 * configured cadence, progress callbacks, periodic checkpoints, and abort handling.
 *
 * Determinism contract: a trainer derives all randomness of step s from (seed, s) — never from
 * how many numbers earlier steps drew — so that resuming at step s replays exactly.
 *
 * Resume rule: the checkpoint must have been written by the same trainer under the same config
 * (its hash; periodic checkpoints also hold the config, so a refusal names the first field that
 * changed), checked before any weights are restored or the log is cut. Paths under the run's
 * own directory (`hooks.runDir`) count relative to it, so a moved or respelled run resumes. The
 * data a trainer is given are not part of it: the CLI and the pipeline record their inputs'
 * hashes in the run's manifest.json and refuse a resume whose inputs changed. A run resumed by
 * another keel version goes on (an upgrade must not strand a long run), with a `warn` event in
 * metrics.jsonl naming both versions: its result need not match an uninterrupted run's.
 *
 * Ending: a run that returns ends its log with a summary of how (`finish`); a run that an error
 * stops (a divergence, a full disk, anything thrown in `running`) ends it with a summary of
 * status "failed" and the error's code and message, so that a failed run does not read as a
 * killed one (no summary). A resumed run counts as going only once its trainer has restored
 * the checkpoint (`resumed`): a refused resume leaves the run's log as it was.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { KeelError } from "../../core/errors.js";
import { describeFsError } from "../../core/files.js";
import { firstChange } from "../../core/first-change.js";
import { KEEL_VERSION } from "../../core/version.js";
import type { RunOptions } from "./config.js";
import { withCheckpointHint } from "./numeric.js";
import {
  CheckpointStore,
  FINAL_MODEL_DIR,
  type Metrics,
  MetricsLog,
  relativeToRun,
  type TrainEvent,
  type TrainHooks,
  type TrainResult,
} from "./run.js";

export interface ResumePoint {
  readonly dir: string;
  readonly step: number;
}

/**
 * The trainer state of a checkpoint, read from its config.json without loading the weights: a
 * trainer checkpoint is a model directory, or (PPO) holds one in `policy/`.
 */
function checkpointStamp(dir: string): Record<string, unknown> {
  const file = [join(dir, "config.json"), join(dir, "policy", "config.json")].find((f) =>
    existsSync(f),
  );
  if (!file)
    throw new KeelError(
      "KEEL_E_CHECKPOINT",
      `cannot resume: ${dir} holds no checkpoint (no config.json)`,
      {
        where: { file: join(dir, "config.json") },
        hint: "checkpoints/latest.json points at a checkpoint that is gone; start a new run in a fresh output directory",
      },
    );
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new KeelError(
      "KEEL_E_FILE",
      `cannot resume: cannot read config.json: ${describeFsError(e)}`,
      {
        where: { file },
        cause: e,
      },
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new KeelError("KEEL_E_CHECKPOINT", "cannot resume: config.json is not JSON", {
      where: { file },
      hint: "the checkpoint is torn; start a new run in a fresh output directory",
      cause: e,
    });
  }
  const extra = (raw as { extra?: unknown } | null)?.extra;
  return typeof extra === "object" && extra !== null ? (extra as Record<string, unknown>) : {};
}

export class TrainLoop {
  readonly log: MetricsLog;
  readonly checkpoints: CheckpointStore | undefined;
  readonly resumePoint: ResumePoint | undefined;
  readonly configHash: string;
  readonly events: TrainEvent[] = [];
  private readonly started = performance.now();
  /** The config as JSON, recorded in checkpoints so a refused resume can name what changed. */
  private readonly configJson: unknown;
  /**
   * The hash of the config with its run-directory paths as spelled, which checkpoints held
   * before `hooks.runDir` existed: a run begun then still resumes.
   */
  private readonly literalHash: string;
  /** The step of the checkpoint that holds this run's current state, if any. */
  private savedStep: number | undefined;
  /** The last step this run completed (reported through `progress` or `record`). */
  private reached: number;
  /** Whether an error now ends the log with a failed summary (see `resumed`). */
  private going: boolean;

  constructor(
    readonly trainer: string,
    readonly hooks: TrainHooks,
    readonly run: RunOptions,
    readonly total: number,
    config: unknown,
  ) {
    const literal = JSON.stringify(config);
    const json = hooks.runDir === undefined ? literal : relativeToRun(literal, hooks.runDir);
    this.configHash = createHash("sha256").update(json).digest("hex");
    this.literalHash = createHash("sha256").update(literal).digest("hex");
    this.configJson = JSON.parse(json);
    const out = hooks.outDir;
    if (hooks.resume && !out)
      throw new KeelError("KEEL_E_USAGE", `${trainer}: resume needs an output directory`);
    this.checkpoints = out ? new CheckpointStore(out, run.keep_checkpoints) : undefined;
    this.resumePoint = hooks.resume ? this.checkpoints!.latest() : undefined;
    // Before anything is restored (weights of another shape would not fit) and before the log
    // is cut back to the checkpoint's step: a refused resume leaves the run as it was.
    const stamp = this.resumePoint ? checkpointStamp(this.resumePoint.dir) : undefined;
    if (stamp) this.checkResumable(stamp);
    this.savedStep = this.resumePoint?.step;
    this.reached = this.startStep;
    this.going = this.resumePoint === undefined;
    this.log = new MetricsLog(out, this.resumePoint?.step);
    if (stamp && stamp.keel_version !== KEEL_VERSION) this.versionChanged(stamp.keel_version);
  }

  /** The warning a run resumed by another keel version carries (see the resume rule). */
  private versionChanged(was: unknown): void {
    const began =
      typeof was === "string" ? `keel ${was}` : "a keel that did not record its version";
    this.event({
      step: this.startStep,
      source: "resume",
      severity: "warn",
      message: `resumed by keel ${KEEL_VERSION}; the run began under ${began}, so its result may differ from an uninterrupted run's`,
    });
  }

  get startStep(): number {
    return this.resumePoint?.step ?? 0;
  }

  /** Checks that the checkpoint being resumed was written by this trainer under this config. */
  checkResumable(extra: Record<string, unknown>): void {
    const file = this.resumePoint?.dir ?? "";
    const hint = "resume with the same config, or start a new run in a fresh output directory";
    if (extra.trainer !== this.trainer)
      throw new KeelError(
        "KEEL_E_CONFIG",
        `cannot resume: the checkpoint was written by ${typeof extra.trainer === "string" ? `the ${extra.trainer} trainer` : "no keel trainer"}, not ${this.trainer}`,
        { where: { file, field: "trainer" }, hint },
      );
    if (extra.config_hash === this.configHash || extra.config_hash === this.literalHash) return;
    const d = extra.config === undefined ? undefined : firstChange(extra.config, this.configJson);
    const show = (v: unknown) => (v === undefined ? "(none)" : JSON.stringify(v));
    throw new KeelError(
      "KEEL_E_CONFIG",
      d
        ? `cannot resume: ${d.field} changed since the run began (${show(d.was)} then, ${show(d.now)} now)`
        : `cannot resume: the checkpoint was written by ${this.trainer} under a different config`,
      { where: { file, ...(d ? { field: d.field } : {}) }, hint },
    );
  }

  /** Trainer-state fields every checkpoint carries. */
  stamp(step: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      ...extra,
      trainer: this.trainer,
      config_hash: this.configHash,
      keel_version: KEEL_VERSION,
      step,
    };
  }

  /** `stamp` plus the config itself, for the periodic checkpoints a run resumes from. */
  resumeStamp(step: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { ...this.stamp(step, extra), config: this.configJson };
  }

  /** 1-based step counts: log after step s when s % log_every = 0 or at the end. */
  due(every: number, step: number): boolean {
    return step === this.total || (every > 0 && step % every === 0);
  }

  progress(phase: string, step: number, metrics: Metrics): void {
    this.reached = Math.max(this.reached, step);
    this.hooks.onProgress?.({ trainer: this.trainer, phase, step, total: this.total, metrics });
  }

  record(type: "train" | "eval", step: number, metrics: Metrics): void {
    this.reached = Math.max(this.reached, step);
    this.log.write({ type, step, ...metrics });
  }

  /** The trainer has restored the checkpoint it resumes from: the run is going on from it. */
  resumed(): void {
    this.going = true;
  }

  /**
   * `body()`: the run from its resume (or start) to its `finish`. An error thrown in it ends
   * metrics.jsonl with a failed summary, once the run is going (see `resumed`); a divergence
   * after the run's latest checkpoint propagates with a hint that names the checkpoint.
   */
  async running<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (e) {
      throw this.failed(e);
    }
  }

  /**
   * Writes the failed summary of `e` (best effort: a log that cannot be written must not hide
   * the error that stopped the run) and returns the error to report.
   */
  private failed(e: unknown): unknown {
    let latest: ResumePoint | undefined;
    try {
      latest = this.checkpoints?.latest();
    } catch {
      // a torn latest.json: the plain hint
    }
    const out = withCheckpointHint(e, this.trainer, latest);
    if (!this.going) return out;
    try {
      this.log.write({
        type: "summary",
        step: this.reached,
        status: "failed",
        code: out instanceof KeelError ? out.code : "KEEL_E_INTERNAL",
        message: out instanceof Error ? out.message : String(out),
        wall_s: (performance.now() - this.started) / 1000,
      });
    } catch {
      // the log cannot take it (a full disk): the run reads as not ended, the error still says why
    }
    return out;
  }

  event(e: TrainEvent): void {
    this.events.push(e);
    this.log.write({ type: "event", ...e });
  }

  get aborted(): boolean {
    return this.hooks.signal?.aborted ?? false;
  }

  /**
   * Saves a checkpoint at `step`, unless the latest one already holds this step's state (an
   * abort right after a periodic checkpoint, or right after resuming): rewriting it would
   * delete the run's only checkpoint of that step first, and a crash mid-save would lose it.
   */
  saveCheckpoint(step: number, write: (dir: string) => void): string | undefined {
    if (!this.checkpoints) return undefined;
    const latest = step === this.savedStep ? this.checkpoints.latest() : undefined;
    if (latest?.step === step) return latest.dir;
    const dir = this.checkpoints.save(step, write);
    this.savedStep = step;
    return dir;
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
    const seconds = (performance.now() - this.started) / 1000;
    this.log.write({ type: "summary", step: steps, status, ...metrics, wall_s: seconds });
    return { status, steps, metrics, checkpoint, events: this.events, seconds };
  }
}
