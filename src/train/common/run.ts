/**
 * What every trainer shares around its loop: the caller's hooks (output directory, progress
 * callback, abort signal, resume), the metrics log (`metrics.jsonl`, one JSON object a line),
 * periodic checkpoints with a `latest.json` pointer, and the result a trainer returns.
 *
 * metrics.jsonl records: `{"type": "train" | "eval" | "event" | "summary", "step", ...}`.
 * On resume the log is cut back to the checkpoint's step, so a resumed run's log equals an
 * uninterrupted run's (wall-clock fields aside).
 * Checkpoints live in `<out>/checkpoints/step-<n>/`; `latest.json` is rewritten atomically after
 * a checkpoint is complete, so a crash mid-save leaves the previous one in force.
 */
import {
  appendFileSync,
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  truncateSync,
} from "node:fs";
import { join } from "node:path";
import { KeelError } from "../../core/errors.js";
import { describeFsError } from "../../core/files.js";
import { ensureDir, writeFileAtomic } from "../../engine/checkpoint/atomic.js";

export type Metrics = Record<string, number>;

export interface ProgressEvent {
  readonly trainer: string;
  readonly phase: string;
  readonly step: number;
  readonly total: number;
  readonly metrics: Metrics;
}

export type Severity = "info" | "warn" | "stop";

/** A safeguard's or trainer's notice, written to metrics.jsonl and returned in the result. */
export interface TrainEvent {
  readonly step: number;
  readonly source: string;
  readonly severity: Severity;
  readonly message: string;
  readonly value?: number;
  readonly threshold?: number;
}

export interface TrainHooks {
  /** Where metrics.jsonl, checkpoints and the final model go (required by the CLI). */
  readonly outDir?: string;
  readonly onProgress?: (e: ProgressEvent) => void;
  /** Aborting saves a checkpoint at the current step and returns with status "aborted". */
  readonly signal?: AbortSignal;
  /** Continue from `<outDir>/checkpoints/latest.json` when it exists. */
  readonly resume?: boolean;
  /** ONNX Runtime threads per session (default KEEL_THREADS or all cores). */
  readonly threads?: number;
  /**
   * The directory that holds the run the trainer is part of (a pipeline's run directory): the
   * config's paths under it (`model.init: <run>/base/model`) count relative to it in the
   * config's hash, so checkpoints keep their hash, and an interrupted stage can be resumed,
   * when the run is reached by another spelling (`d`, `./d`, `/abs/d`) or moved.
   */
  readonly runDir?: string;
}

/**
 * JSON text with every string that begins with `dir`'s path (as spelled) written as
 * `"<run>/…"` instead, so that what it hashes to does not depend on where the run lies.
 */
export function relativeToRun(json: string, dir: string): string {
  const prefix = JSON.stringify(`${dir.replace(/\/+$/, "")}/`).slice(0, -1);
  if (prefix === '"/') return json;
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return json.replace(new RegExp(`${escaped}/*`, "g"), '"<run>/');
}

export interface TrainResult {
  readonly status: "completed" | "stopped" | "aborted";
  readonly steps: number;
  /** Final metrics (the last eval, or train metrics when there is no eval set). */
  readonly metrics: Metrics;
  /** The final model's checkpoint directory (an ensemble's directory for reward ensembles). */
  readonly checkpoint: string | undefined;
  readonly events: readonly TrainEvent[];
  readonly seconds: number;
}

/** The metrics log inside a run directory. */
const METRICS_FILE = "metrics.jsonl";

export class MetricsLog {
  private readonly path: string | undefined;
  /** The step a resumed log is cut back to, at its first write. */
  private cutTo: number | undefined;
  /** The log's length after its last whole record (undefined until the first write). */
  private size: number | undefined;

  /**
   * Opens `<outDir>/metrics.jsonl`: emptied now for a new run (`resumeStep` undefined); for a
   * resumed one, cut back to `resumeStep` when the first record is written, so a resume refused
   * before then (another config, other safeguards) leaves the run's log as it was.
   */
  constructor(outDir: string | undefined, resumeStep?: number) {
    this.path = outDir ? join(outDir, METRICS_FILE) : undefined;
    if (!this.path) return;
    ensureDir(outDir!);
    if (resumeStep === undefined) writeFileAtomic(this.path, "");
    else this.cutTo = resumeStep;
  }

  private cut(resumeStep: number): void {
    const path = this.path!;
    const keep = existsSync(path)
      ? readFileSync(path, "utf8")
          .split("\n")
          .filter((l) => {
            if (!l.trim()) return false;
            try {
              const r = JSON.parse(l) as { type?: string; step?: number };
              return r.type !== "summary" && (r.step ?? 0) <= resumeStep;
            } catch {
              return false; // a line torn by the crash
            }
          })
          .map((l) => `${l}\n`)
          .join("")
      : "";
    writeFileAtomic(path, keep);
  }

  /**
   * Appends one record. A write that fails (a full disk) is cut back off, so that the log holds
   * whole lines only and a resume after freeing space goes on from it, and is KEEL_E_FILE.
   */
  write(record: { type: string; step: number } & Record<string, unknown>): void {
    const path = this.path;
    if (!path) return;
    if (this.cutTo !== undefined) {
      this.cut(this.cutTo);
      this.cutTo = undefined;
    }
    const line = `${JSON.stringify(record)}\n`;
    try {
      this.size ??= existsSync(path) ? statSync(path).size : 0;
      appendFileSync(path, line);
      this.size += Buffer.byteLength(line);
    } catch (e) {
      try {
        if (this.size !== undefined) truncateSync(path, this.size);
      } catch {
        // the torn line stays; readers and a resume skip it
      }
      throw new KeelError("KEEL_E_FILE", `cannot write: ${describeFsError(e)}`, {
        where: { file: path },
        hint: "free space (or fix permissions) there, then continue the run with --resume",
        cause: e,
      });
    }
  }
}

/**
 * Reads a metrics.jsonl back (for tests, reports and the pipeline). A last line without its
 * newline that is not JSON is a record torn by a crash or a full disk, and is left out; any
 * other line that is not JSON is KEEL_E_INVALID_RECORD naming it.
 */
export function readMetrics(outDir: string): Record<string, unknown>[] {
  const path = join(outDir, METRICS_FILE);
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, "utf8").split("\n");
  const out: Record<string, unknown>[] = [];
  for (const [i, l] of lines.entries()) {
    if (!l.trim()) continue;
    try {
      out.push(JSON.parse(l) as Record<string, unknown>);
    } catch (e) {
      if (i === lines.length - 1) break;
      throw new KeelError("KEEL_E_INVALID_RECORD", `not valid JSON: ${(e as Error).message}`, {
        where: { file: path, line: i + 1 },
      });
    }
  }
  return out;
}

/**
 * How a run ended, as its summary line says: as its trainer returned (`TrainResult["status"]`),
 * or "failed" when an error stopped it (the line then holds the error's `code` and `message`).
 */
export type RunEnd = TrainResult["status"] | "failed";

const RUN_ENDS: readonly string[] = [
  "completed",
  "stopped",
  "aborted",
  "failed",
] satisfies RunEnd[];

/**
 * How a run directory's run ended, from the summary line its trainer writes last to
 * metrics.jsonl; undefined while it has not ended (killed, or never started). Only the file's
 * tail is read: a long PPO log is megabytes.
 */
export function endedAs(outDir: string): RunEnd | undefined {
  const path = join(outDir, METRICS_FILE);
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return undefined;
  }
  try {
    const size = fstatSync(fd).size;
    const tail = Buffer.alloc(Math.min(size, 64 * 1024));
    readSync(fd, tail, 0, tail.length, size - tail.length);
    const last = tail.toString("utf8").trimEnd().split("\n").at(-1) ?? "";
    const row = JSON.parse(last) as { type?: unknown; status?: unknown };
    return row.type === "summary" && RUN_ENDS.includes(String(row.status))
      ? (row.status as RunEnd)
      : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** The final model's directory inside a run directory. */
export const FINAL_MODEL_DIR = "model";
const CHECKPOINTS_DIR = "checkpoints";
const LATEST = "latest.json";

/**
 * What a run directory holds that a new run would overwrite — its final model, or a complete
 * checkpoint — as a path relative to it, or undefined when it holds neither. A run that failed
 * before its first checkpoint holds nothing to lose.
 */
export function trainedArtifact(outDir: string): string | undefined {
  const latest = join(CHECKPOINTS_DIR, LATEST);
  return [FINAL_MODEL_DIR, latest].find((p) => existsSync(join(outDir, p)));
}

export class CheckpointStore {
  readonly dir: string;
  constructor(
    outDir: string,
    private readonly keep = 2,
  ) {
    this.dir = join(outDir, CHECKPOINTS_DIR);
  }

  /** The latest complete checkpoint, if any. */
  latest(): { step: number; dir: string } | undefined {
    const p = join(this.dir, LATEST);
    if (!existsSync(p)) return undefined;
    let j: unknown;
    try {
      j = JSON.parse(readFileSync(p, "utf8"));
    } catch (e) {
      throw new KeelError("KEEL_E_CHECKPOINT", "latest.json is not valid JSON", {
        where: { file: p },
        cause: e,
      });
    }
    // The pointer names one of this directory's own checkpoints, at a whole step: a string
    // step would be counted on as text ("2" + 1), a path could point outside the run.
    const { step, dir } = (typeof j === "object" && j !== null ? j : {}) as Record<string, unknown>;
    const bad =
      !Number.isSafeInteger(step) || (step as number) < 0
        ? { field: "step", why: "a whole number of steps" }
        : typeof dir !== "string" || !/^step-\d+$/.test(dir)
          ? { field: "dir", why: "the name of a step-<n> directory in checkpoints/" }
          : undefined;
    if (bad)
      throw new KeelError(
        "KEEL_E_CHECKPOINT",
        `not a checkpoint pointer: ${bad.field} must be ${bad.why}, got ${JSON.stringify(bad.field === "step" ? step : dir) ?? "nothing"}`,
        {
          where: { file: p, field: bad.field },
          hint: `point it at the newest complete checkpoint: {"step": <n>, "dir": "step-<n>"}`,
        },
      );
    return { step: step as number, dir: join(this.dir, dir as string) };
  }

  /** Writes a checkpoint through `write(dir)`, then points latest.json at it. */
  save(step: number, write: (dir: string) => void): string {
    const name = `step-${String(step).padStart(7, "0")}`;
    const dir = join(this.dir, name);
    rmSync(dir, { recursive: true, force: true });
    try {
      ensureDir(dir);
      write(dir);
      writeFileAtomic(join(this.dir, LATEST), `${JSON.stringify({ step, dir: name })}\n`);
    } catch (e) {
      // A checkpoint that could not be written whole (a full disk) is not left under its name,
      // taking the room a retry needs: latest.json still points at the previous one.
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // cannot be removed either: the error that stopped the save is the one to report
      }
      throw e;
    }
    const old = readdirSync(this.dir)
      .filter((f) => f.startsWith("step-") && f !== name)
      .sort();
    for (const f of old.slice(0, Math.max(0, old.length - (this.keep - 1))))
      rmSync(join(this.dir, f), { recursive: true, force: true });
    return dir;
  }
}

/** Throws a clear error when resume is asked without an output directory. */
export function requireOutDir(hooks: TrainHooks, trainer: string): string | undefined {
  if (hooks.resume && !hooks.outDir)
    throw new KeelError("KEEL_E_USAGE", `${trainer}: resume needs an output directory (outDir)`);
  return hooks.outDir;
}

export function mean(xs: ArrayLike<number>): number {
  if (xs.length === 0) return Number.NaN;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s / xs.length;
}
