/**
 * A run directory: one per run, holding the resolved config, a provenance manifest (versions,
 * seeds, input hashes, stage timings), metrics and outputs. Files are written atomically and
 * synchronously: Ctrl-C is handled between JavaScript tasks, so it cannot land inside the write
 * (an asynchronous write's temporary file was removed under it, and the record was lost).
 * The record's shape is in run-manifest.ts; which run a directory holds, in run-kind.ts.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { stringify as toYaml } from "yaml";
import { sha256Hex } from "../core/digest.js";
import { type DirLock, lockDir } from "../core/dir-lock.js";
import { KeelError } from "../core/errors.js";
import { KEEL_VERSION } from "../core/version.js";
import { ensureDir, writeFileAtomic } from "../engine/checkpoint/atomic.js";
import { isEnsembleDir, readJsonQuietly } from "../train/common/role.js";
import { cpuRecord } from "./machine.js";
import { refuseOtherRun } from "./run-kind.js";
import {
  fileSha256,
  type Manifest,
  ONNXRUNTIME_VERSION,
  type ResumeRecord,
  type RunKind,
  readManifest,
} from "./run-manifest.js";

export {
  aRun,
  enclosingRun,
  foreignContents,
  heldRunKind,
  refuseInsideRun,
  refuseOtherRun,
} from "./run-kind.js";
export {
  fileSha256,
  type Manifest,
  type ResumeRecord,
  type RunKind,
  type StageTiming,
} from "./run-manifest.js";

/**
 * Makes `path` if need be and locks it for this command (core/dir-lock.ts): a second command
 * writing the same run directory is refused (KEEL_E_BUSY, naming the one that writes it). A
 * directory made here that nothing was written into goes with the lock when it is released.
 */
export function lockRunDir(path: string): DirLock {
  const made = !existsSync(path);
  ensureDir(path);
  return lockDir(path, { removeDir: made });
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export class RunDir {
  readonly manifest: Manifest;
  /** This invocation's entry in `manifest.resumes`, when it resumes the run. */
  private resumed: { ran: { stage: string; why?: string }[] } | undefined;

  /** `previous`: the manifest of the run being continued (its record is kept and extended). */
  constructor(
    readonly path: string,
    seeds: Record<string, number | string>,
    previous?: Manifest,
  ) {
    ensureDir(path);
    if (previous) {
      this.manifest = previous;
      return;
    }
    this.manifest = {
      keel_version: KEEL_VERSION,
      node_version: process.version,
      onnxruntime_version: ONNXRUNTIME_VERSION,
      platform: `${process.platform}-${process.arch}`,
      cpu: cpuRecord(),
      created_at: new Date().toISOString(),
      command: process.argv.slice(2),
      seeds,
      inputs: {},
      stages: [],
      outputs: {},
    };
  }

  file(...parts: string[]): string {
    return join(this.path, ...parts);
  }

  /** Records an input file's SHA-256 so the run can be traced to exactly what it read. */
  recordInput(name: string, path: string): void {
    this.manifest.inputs[name] = fileSha256(path);
  }

  /**
   * Records a checkpoint the run starts from or scores with, by its config.json (which holds
   * the SHA-256 of its weights and tokenizer); for an ensemble directory, ensemble.json and each
   * member's config.json. A directory that is not there yet is left out: whoever loads it says so.
   */
  recordCheckpoint(name: string, dir: string): void {
    if (isEnsembleDir(dir)) {
      this.recordInput(`${name}/ensemble.json`, join(dir, "ensemble.json"));
      const members = (readJsonQuietly(join(dir, "ensemble.json")) as { members?: unknown })
        ?.members;
      if (!Array.isArray(members)) return;
      for (const m of members) {
        const cfg = join(dir, String(m), "config.json");
        if (existsSync(cfg)) this.recordInput(`${name}/${String(m)}/config.json`, cfg);
      }
      return;
    }
    const cfg = join(dir, "config.json");
    if (existsSync(cfg)) this.recordInput(`${name}/config.json`, cfg);
  }

  /**
   * A run directory's record: a new one, or, when resuming a run that has one, that record —
   * after checking that the inputs `record` notes now are those the run began with. A data file
   * or checkpoint changed since is refused by name: the result would belong to neither. With
   * `kind`, a directory that holds another kind of run is refused before anything is written
   * (`refuseOtherRun`), and the record says what wrote it.
   */
  static open(
    path: string,
    seeds: Record<string, number | string>,
    record: (run: RunDir) => void,
    resume: boolean,
    kind?: RunKind,
  ): RunDir {
    if (kind) refuseOtherRun(path, kind);
    const before = resume ? RunDir.readManifest(path) : undefined;
    // A record that is there but unreadable (damaged, edited) cannot vouch for the inputs: a new
    // one in its place would resume without the check.
    if (resume && !before && existsSync(join(path, "manifest.json")))
      throw new KeelError(
        "KEEL_E_CHECKPOINT",
        "cannot resume: manifest.json is not a keel manifest (not JSON, or its inputs are missing)",
        {
          where: { file: join(path, "manifest.json") },
          hint: "restore the run's manifest.json, or start a new run in a fresh output directory",
        },
      );
    const now = new RunDir(path, seeds);
    if (kind) now.manifest.kind = kind;
    record(now);
    if (!before) return now;
    if (kind) before.kind ??= kind;
    const names = new Set([...Object.keys(before.inputs), ...Object.keys(now.manifest.inputs)]);
    for (const name of names) {
      const [was, is] = [before.inputs[name], now.manifest.inputs[name]];
      if (was === is) continue;
      // An input the record does not name (a run begun by an older keel, which recorded fewer)
      // cannot be checked; it is recorded from now on.
      if (was === undefined) {
        before.inputs[name] = is!;
        continue;
      }
      // Not recorded now: its file is missing, or the config (edited since) no longer reads it.
      const what =
        is === undefined
          ? "is gone since the run began (its file is missing, or the config no longer names it)"
          : "changed since the run began";
      const hashes = is ? ` (sha256 ${was.slice(0, 12)}… then, ${is.slice(0, 12)}… now)` : "";
      throw new KeelError("KEEL_E_CONFIG", `cannot resume: ${name} ${what}${hashes}`, {
        where: { file: join(path, "manifest.json"), field: `inputs.${name}` },
        hint: "resume with the inputs the run began with, or start a new run in a fresh output directory",
      });
    }
    // The seeds the run goes on with (a changed one re-runs the stages that depend on it), as
    // config.yaml is rewritten with them; the rest of the record is the run's since it began.
    const resumed = new RunDir(path, seeds, { ...before, seeds });
    resumed.noteResume(before.seeds);
    return resumed;
  }

  /**
   * An experiment's directory (`kind` = `experiment …`), which holds runs of its own and
   * re-does by itself what used a changed input: a new record, or with `resume` the one there,
   * its inputs recorded afresh (those that changed are named in the resume's entry).
   */
  static openExperiment(
    path: string,
    kind: `experiment ${string}`,
    seeds: Record<string, number | string>,
    record: (run: RunDir) => void,
    resume: boolean,
  ): RunDir {
    refuseOtherRun(path, kind);
    const before = resume ? RunDir.readManifest(path) : undefined;
    const now = new RunDir(path, seeds);
    now.manifest.kind = kind;
    record(now);
    if (before?.kind !== kind) return now;
    const inputs = now.manifest.inputs;
    const names = new Set([...Object.keys(before.inputs), ...Object.keys(inputs)]);
    const changed = [...names].filter((n) => before.inputs[n] !== inputs[n]).sort();
    const run = new RunDir(path, seeds, { ...before, seeds, inputs, outputs: {} });
    run.noteResume(before.seeds, changed);
    return run;
  }

  /** Adds this invocation to the record's resumes (docs/pipeline.md, "Resume"). */
  private noteResume(
    seedsBefore: Record<string, number | string>,
    inputsChanged: readonly string[] = [],
  ): void {
    const entry: ResumeRecord = {
      at: new Date().toISOString(),
      keel_version: KEEL_VERSION,
      node_version: process.version,
      onnxruntime_version: ONNXRUNTIME_VERSION,
      platform: `${process.platform}-${process.arch}`,
      cpu: cpuRecord(),
      command: process.argv.slice(2),
      ...(sameJson(seedsBefore, this.manifest.seeds) ? {} : { seeds_before: seedsBefore }),
      ...(inputsChanged.length > 0 ? { inputs_changed: inputsChanged } : {}),
      ran: [],
    };
    this.manifest.resumes = [...(this.manifest.resumes ?? []), entry];
    this.resumed = entry;
  }

  /** The manifest.json a run directory holds, if any (undefined when absent or unreadable). */
  static readManifest(path: string): Manifest | undefined {
    return readManifest(path);
  }

  /**
   * Runs and times one stage; `why` says, on a resume, why it runs again (it is listed in the
   * resume's entry as it begins: a resume stopped in it says so).
   */
  async stage<T>(name: string, fn: () => Promise<T> | T, why?: string): Promise<T> {
    const started = new Date();
    const t0 = performance.now();
    if (this.resumed) {
      this.resumed.ran.push({ stage: name, ...(why !== undefined ? { why } : {}) });
      await this.saveManifest();
    }
    const result = await fn();
    this.manifest.stages.push({
      stage: name,
      started_at: started.toISOString(),
      seconds: (performance.now() - t0) / 1000,
    });
    await this.saveManifest();
    return result;
  }

  /** Records the SHA-256 of a file written in the run directory by other means (if it is there). */
  recordOutput(name: string): void {
    if (existsSync(this.file(name))) this.manifest.outputs[name] = fileSha256(this.file(name));
  }

  async writeJson(name: string, value: unknown): Promise<string> {
    const p = this.file(name);
    const text = `${JSON.stringify(value, null, 2)}\n`;
    writeFileAtomic(p, text);
    this.manifest.outputs[name] = sha256Hex(text);
    return p;
  }

  async writeYaml(name: string, value: unknown): Promise<string> {
    const p = this.file(name);
    const text = toYaml(value);
    writeFileAtomic(p, text);
    this.manifest.outputs[name] = sha256Hex(text);
    return p;
  }

  async saveManifest(): Promise<void> {
    writeFileAtomic(this.file("manifest.json"), `${JSON.stringify(this.manifest, null, 2)}\n`);
  }
}
