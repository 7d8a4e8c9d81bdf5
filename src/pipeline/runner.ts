/**
 * The stage runner. A pipeline is a list of stages; each has a key, a weight (its expected
 * share of the run's time, for the ETA), the config slice it depends on, the keys of the stages
 * whose outputs it reads, and the files it writes. When a stage finishes, the runner records in
 * `state.json` its fingerprint (a hash of its config slice and of its inputs' fingerprints),
 * the SHA-256 of each output file and its result; when a stage begins, the fingerprint it
 * begins under. `--resume` skips every stage whose fingerprint and outputs are unchanged and
 * re-runs the rest. An interrupted stage continues from its own last checkpoint only when it
 * resumes under the fingerprint it began under: a partial checkpoint made under other settings
 * (or from other upstream data) is not continued, the stage starts again from scratch.
 */
import { existsSync, readFileSync } from "node:fs";
import { canonicalJson } from "../core/canonical.js";
import { sha256Hex } from "../core/digest.js";
import { KeelError } from "../core/errors.js";
import { KEEL_VERSION } from "../core/version.js";
import { writeFileAtomic } from "../engine/checkpoint/atomic.js";
import { relativeToRun } from "../train/common/run.js";
import type { RunDir } from "./rundir.js";
import { fileDigest } from "./stages/data.js";

export interface StageContext {
  readonly run: RunDir;
  readonly signal: AbortSignal;
  /** True when a previous attempt of this stage may have left checkpoints to continue from. */
  readonly resume: boolean;
  /** Results of the stages this one depends on, by key. */
  readonly inputs: Readonly<Record<string, StageResult>>;
  /** Progress within the stage (0..1) with an optional detail shown after the bar. */
  progress(fraction: number, detail?: string): void;
}

export type StageResult = Readonly<Record<string, unknown>>;

export interface Stage {
  readonly key: string;
  readonly title: string;
  /** Expected share of the run's time (any unit; only ratios matter). */
  readonly weight: number;
  /** The config this stage depends on (its fingerprint). */
  readonly config: unknown;
  readonly after: readonly string[];
  /** Files (relative to the run directory) the stage writes and later stages may read. */
  readonly outputs: readonly string[];
  run(ctx: StageContext): Promise<StageResult>;
}

/** What a stage's fingerprint is made of, kept to say why a stage re-runs. */
interface Basis {
  readonly fingerprint: string;
  /** SHA-256 of the stage's own config slice (absent in records of older runs). */
  readonly config_sha256?: string;
  /** The upstream stages' fingerprints, by key (absent in records of older runs). */
  readonly upstream?: Record<string, string>;
}

interface StageRecord extends Basis {
  readonly outputs: Record<string, string>;
  readonly result: StageResult;
  readonly seconds: number;
}

const STATE_FORMAT = "keel-run-state/1";

interface RunState {
  readonly format: typeof STATE_FORMAT;
  stages: Record<string, StageRecord>;
  /** Stages begun and not finished, with what they began under. */
  started?: Record<string, Basis>;
}

export interface RunnerEvents {
  onStageStart?(index: number, count: number, stage: Stage, skipped: boolean): void;
  onStageProgress?(
    stage: Stage,
    fraction: number,
    detail: string | undefined,
    eta: number | undefined,
  ): void;
  onStageEnd?(stage: Stage, seconds: number, skipped: boolean): void;
  /**
   * On resume, before a stage that ran (or began) before runs again: why, and whether it
   * continues from its checkpoint (`continues`) or starts again from scratch.
   */
  onStageRerun?(stage: Stage, reason: string, continues: boolean): void;
}

/** The SHA-256 of a file's bytes (undefined when it is not there), as `sha256sum` prints it. */
function fileHash(path: string): string | undefined {
  return fileDigest(path) ?? undefined;
}

/**
 * Whether a file still holds what a record says. Records written before keel hashed a file's
 * bytes hold the SHA-256 of its text read as Latin-1 and encoded as UTF-8 (the same for ASCII,
 * not for report.html's "·"): such a record still vouches for the file it was made of.
 */
function holds(path: string, recorded: string | undefined): boolean {
  if (recorded === undefined) return false;
  const h = fileHash(path);
  if (h === recorded) return true;
  return h !== undefined && sha256Hex(readFileSync(path, "latin1")) === recorded;
}

export class Runner {
  private state: RunState;
  private readonly statePath: string;

  constructor(
    private readonly run: RunDir,
    private readonly stages: readonly Stage[],
    private readonly events: RunnerEvents = {},
  ) {
    const keys = new Set<string>();
    for (const s of stages) {
      for (const a of s.after) {
        if (!keys.has(a))
          throw new KeelError(
            "KEEL_E_INTERNAL",
            `stage ${s.key} depends on ${a}, which does not come before it`,
          );
      }
      if (keys.has(s.key)) throw new KeelError("KEEL_E_INTERNAL", `duplicate stage ${s.key}`);
      keys.add(s.key);
    }
    this.statePath = run.file("state.json");
    this.state = { format: "keel-run-state/1", stages: {} };
  }

  /** Loads the state of an earlier run in the same directory (for --resume). */
  loadState(): void {
    if (!existsSync(this.statePath)) return;
    let s: RunState;
    try {
      s = JSON.parse(readFileSync(this.statePath, "utf8")) as RunState;
    } catch (e) {
      throw new KeelError("KEEL_E_CHECKPOINT", "the run's state.json is not valid JSON", {
        where: { file: this.statePath },
        cause: e,
      });
    }
    const format = (s as { format?: unknown } | null)?.format;
    // A state this keel cannot read (a newer keel's, or a damaged one) is refused: read as no
    // state, every stage would re-run and the file be overwritten in the older format.
    if (format !== STATE_FORMAT || typeof s.stages !== "object" || s.stages === null) {
      throw new KeelError(
        "KEEL_E_CHECKPOINT",
        `the run's state.json is not a ${STATE_FORMAT} record (format ${JSON.stringify(format ?? null)})`,
        {
          where: { file: this.statePath },
          hint: "resume it with the keel that began it, or start a new run in a fresh --out",
        },
      );
    }
    this.state = s;
  }

  private fingerprints = new Map<string, string>();

  private basis(s: Stage): Basis {
    const upstream = s.after.map((a) => this.fingerprints.get(a) ?? "");
    // Paths inside the run directory count relative to it: the same run reached as `d`, `./d`
    // or `/abs/d` keeps its finished stages (they re-ran when --out was spelled differently).
    const config = relativeToRun(canonicalJson(s.config ?? null), this.run.path);
    return {
      fingerprint: sha256Hex(canonicalJson({ keel: KEEL_VERSION, key: s.key, config, upstream })),
      config_sha256: sha256Hex(config),
      upstream: Object.fromEntries(s.after.map((a, i) => [a, upstream[i]!])),
    };
  }

  /** Why a stage that ran or began under `was` does not match `now`. */
  private changed(s: Stage, was: Basis, now: Basis): string {
    if (was.config_sha256 !== undefined && was.config_sha256 !== now.config_sha256)
      return "its settings changed";
    const upstream = s.after.filter(
      (a) => was.upstream?.[a] !== undefined && was.upstream[a] !== now.upstream?.[a],
    );
    if (upstream.length > 0)
      return `${upstream.join(", ")} ${upstream.length > 1 ? "were" : "was"} re-run with other settings`;
    // A record from before keel kept the parts cannot say which one changed (for a stage with
    // no upstream stage, "or an upstream stage" named one it does not have).
    if (was.config_sha256 === undefined)
      return `it was recorded by an older keel, which kept too little to say what changed (its settings${s.after.length > 0 ? ", an upstream stage" : ""} or keel itself)`;
    return "keel's version changed";
  }

  /**
   * On resume, how a stage that is not kept runs: from its checkpoint (it was interrupted under
   * the same fingerprint) or from scratch, and why (undefined for a stage that never began).
   */
  private plan(s: Stage, now: Basis): { continues: boolean; reason?: string } {
    const began = this.state.started?.[s.key];
    if (began?.fingerprint === now.fingerprint)
      return { continues: true, reason: "interrupted; continuing from its last checkpoint" };
    if (began)
      return {
        continues: false,
        reason: `interrupted, and ${this.changed(s, began, now)} since: starting again from scratch (its partial checkpoints and metrics are removed)`,
      };
    const rec = this.state.stages[s.key];
    if (!rec) return { continues: false };
    if (rec.fingerprint !== now.fingerprint)
      return { continues: false, reason: this.changed(s, rec, now) };
    const gone = s.outputs.find((f) => !holds(this.run.file(f), rec.outputs[f]));
    return { continues: false, reason: `its output ${gone ?? "?"} was changed or removed` };
  }

  /** Synchronously, so Ctrl-C cannot land inside the write (see rundir.ts). */
  private async saveState(): Promise<void> {
    writeFileAtomic(this.statePath, `${JSON.stringify(this.state, null, 2)}\n`);
  }

  /**
   * A finished stage can be skipped when its fingerprint and every output are unchanged, and no
   * later attempt of it began and stopped part-way: that attempt may have rewritten files it
   * does not list as outputs (collect's keel.db) while its listed outputs still hold the record's.
   */
  private reusable(s: Stage, fp: string): StageRecord | undefined {
    const rec = this.state.stages[s.key];
    if (!rec || rec.fingerprint !== fp || this.state.started?.[s.key] !== undefined)
      return undefined;
    for (const f of s.outputs) if (!holds(this.run.file(f), rec.outputs[f])) return undefined;
    return rec;
  }

  async runAll(signal: AbortSignal, resume: boolean): Promise<Record<string, StageResult>> {
    const results: Record<string, StageResult> = {};
    const totalWeight = this.stages.reduce((a, s) => a + s.weight, 0);
    let doneWeight = 0;
    const t0 = performance.now();
    // The manifest lists the outputs of this run's stages as they stand (a stage dropped from
    // the config since the run began is no longer one of them).
    const recorded = this.run.manifest.outputs;
    for (const f of Object.keys(recorded)) delete recorded[f];
    for (const [i, s] of this.stages.entries()) {
      const now = this.basis(s);
      const fp = now.fingerprint;
      this.fingerprints.set(s.key, fp);
      const prior = resume ? this.reusable(s, fp) : undefined;
      this.events.onStageStart?.(i, this.stages.length, s, prior !== undefined);
      if (prior) {
        // By the files' own SHA-256 (an older record may hold the Latin-1 reading's).
        for (const f of s.outputs) recorded[f] = fileHash(this.run.file(f))!;
        results[s.key] = prior.result;
        doneWeight += s.weight;
        this.events.onStageEnd?.(s, 0, true);
        continue;
      }
      if (signal.aborted) throw interrupted();
      const how = resume ? this.plan(s, now) : { continues: false };
      if (how.reason !== undefined) this.events.onStageRerun?.(s, how.reason, how.continues);
      // Recorded before the stage writes anything: a later --resume knows what its partial
      // checkpoints were made under.
      this.state.started = { ...this.state.started, [s.key]: now };
      await this.saveState();
      const started = performance.now();
      const ctx: StageContext = {
        run: this.run,
        signal,
        resume: how.continues,
        inputs: Object.fromEntries(s.after.map((a) => [a, results[a]!])),
        progress: (fraction, detail) => {
          const elapsed = (performance.now() - t0) / 1000;
          const done = doneWeight + s.weight * Math.min(Math.max(fraction, 0), 1);
          const eta = done > 0 && elapsed > 1 ? (elapsed / done) * (totalWeight - done) : undefined;
          this.events.onStageProgress?.(s, fraction, detail, eta);
        },
      };
      // A stage that finished although Ctrl-C came while it ran (one that does not watch the
      // signal: evaluation, collection) is recorded; the run stops before the next stage.
      const result = await this.run.stage(s.key, () => s.run(ctx), how.reason);
      const seconds = (performance.now() - started) / 1000;
      const outputs: Record<string, string> = {};
      for (const f of s.outputs) {
        const h = fileHash(this.run.file(f));
        if (h === undefined)
          throw new KeelError("KEEL_E_INTERNAL", `stage ${s.key} did not write ${f}`);
        outputs[f] = h;
      }
      this.state.stages[s.key] = { ...now, outputs, result, seconds };
      delete this.state.started?.[s.key];
      await this.saveState();
      Object.assign(recorded, outputs);
      await this.run.saveManifest();
      results[s.key] = result;
      doneWeight += s.weight;
      this.events.onStageEnd?.(s, seconds, false);
    }
    // Kept stages' outputs (and a resume that ran nothing) are in the record too.
    await this.run.saveManifest();
    return results;
  }
}

export function interrupted(): KeelError {
  return new KeelError(
    "KEEL_E_INTERRUPTED",
    "the run was interrupted; finished stages and checkpoints are kept",
    {
      hint: "run the same command with --resume to continue where it stopped",
    },
  );
}
