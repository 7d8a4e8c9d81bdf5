/**
 * A run directory: one per run, holding the resolved config, a provenance manifest (versions,
 * seeds, input hashes, stage timings), metrics and outputs. Files are written atomically and
 * synchronously: Ctrl-C is handled between JavaScript tasks, so it cannot land inside the write
 * (an asynchronous write's temporary file was removed under it, and the record was lost).
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { sha256Hex } from "../core/digest.js";
import { KeelError } from "../core/errors.js";
import { KEEL_VERSION } from "../core/version.js";
import { ensureDir, writeFileAtomic } from "../engine/checkpoint/atomic.js";
import { canonicalPath } from "../io/output-target.js";
import { isEnsembleDir, readJsonQuietly } from "../train/common/role.js";
import { type CpuRecord, cpuRecord } from "./machine.js";

/** onnxruntime-node's own version, from its package.json ("unknown" if it cannot be read). */
const ONNXRUNTIME_VERSION: string = (() => {
  try {
    const pkg = createRequire(import.meta.url)("onnxruntime-node/package.json") as {
      version?: string;
    };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
})();

/** SHA-256 of a file's bytes. */
export function fileSha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

export interface StageTiming {
  readonly stage: string;
  readonly started_at: string;
  readonly seconds: number;
}

/**
 * What wrote a run directory: the pipeline (`keel run`, `keel demo`), one trainer, or an
 * experiment (`experiment tradeoff`, `experiment poison-sweep`), whose directory holds runs.
 */
export type RunKind = "pipeline" | `train ${string}` | `experiment ${string}`;

/** One `--resume` of a run: when, by what, with which command, and what ran again. */
export interface ResumeRecord {
  readonly at: string;
  readonly keel_version: string;
  readonly node_version: string;
  readonly onnxruntime_version: string;
  readonly platform: string;
  /** The processor this resume ran on (absent in records written before keel kept it). */
  readonly cpu?: CpuRecord;
  readonly command: readonly string[];
  /** The seeds before this resume, when it goes on with others (`seeds` holds the new ones). */
  readonly seeds_before?: Record<string, number | string>;
  /** Inputs that changed since, when the run's own resume re-does what used them (experiments). */
  readonly inputs_changed?: readonly string[];
  /** The stages (or points, cells) this invocation ran, each with why when it says. */
  readonly ran: { stage: string; why?: string }[];
}

export interface Manifest {
  /** Absent in runs begun before keel recorded it (`heldRunKind` infers it for those). */
  kind?: RunKind;
  readonly keel_version: string;
  readonly node_version: string;
  /** onnxruntime-node's version: the engine's numerics depend on it. */
  readonly onnxruntime_version: string;
  readonly platform: string;
  /**
   * The processor: results can differ across instruction sets (machine.ts). Absent in runs
   * begun before keel recorded it.
   */
  readonly cpu?: CpuRecord;
  readonly created_at: string;
  readonly command: readonly string[];
  readonly seeds: Record<string, number | string>;
  readonly inputs: Record<string, string>;
  readonly stages: StageTiming[];
  /** SHA-256 of each output file, by its path in the run directory. */
  readonly outputs: Record<string, string>;
  /** Each `--resume` since the run began, oldest first (absent until the first). */
  resumes?: ResumeRecord[];
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
    try {
      const m = JSON.parse(readFileSync(join(path, "manifest.json"), "utf8")) as Manifest;
      return typeof m === "object" && m !== null && typeof m.inputs === "object" ? m : undefined;
    } catch {
      return undefined;
    }
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

/**
 * The kind of run `dir` holds: the manifest's `kind`, or for a run begun before keel recorded
 * it, `pipeline` when it has a state.json (or a pipeline's config.yaml) and `train <trainer>`
 * when its config.yaml names a trainer; `unknown` for any other manifest.json, undefined when
 * it holds no run.
 */
export function heldRunKind(dir: string): RunKind | "unknown" | undefined {
  const manifest = RunDir.readManifest(dir);
  if (typeof manifest?.kind === "string") return manifest.kind;
  if (existsSync(join(dir, "state.json"))) return "pipeline";
  const kind = configYamlKind(dir);
  if (kind !== undefined) return kind;
  return manifest || existsSync(join(dir, "manifest.json")) ? "unknown" : undefined;
}

/** The kind of run a directory's config.yaml was written by, when it says. */
function configYamlKind(dir: string): RunKind | undefined {
  let config: unknown;
  try {
    config = parseYaml(readFileSync(join(dir, "config.yaml"), "utf8"));
  } catch {
    return undefined; // absent or unreadable
  }
  if (typeof config !== "object" || config === null) return undefined;
  const c = config as { trainer?: unknown; preset?: unknown; arms?: unknown };
  if (typeof c.trainer === "string") return `train ${c.trainer}`;
  if (c.preset !== undefined && c.arms !== undefined) return "pipeline";
  return undefined;
}

/**
 * The run directory that `dir` lies inside, at any depth (`dir` itself aside), if any, with its
 * kind, the path spelled as `dir` spells it when it can (else resolved). A pipeline run's stage
 * directories (`base`, `defended/rm`…) and a trainer run's `model` and `checkpoints` have no
 * manifest.json of their own, so `heldRunKind` sees nothing there. Stricter than `heldRunKind`
 * on purpose, since every ancestor up to / is asked: the manifest must name the kind, or (a run
 * begun before manifests did) the manifest must be there and the config.yaml beside it say
 * which; a pipeline's config.yaml alone also counts. A stray state.json or a trainer config
 * named config.yaml in a parent directory is not taken for a run.
 */
export function enclosingRun(dir: string): { dir: string; kind: RunKind } | undefined {
  const ancestors: string[] = [];
  for (let p = dir, up = dirname(p); up !== p; p = up, up = dirname(p)) ancestors.push(up);
  // Then through symbolic links, and above the working directory for a relative path.
  const real = canonicalPath(dir);
  for (let p = real, up = dirname(p); up !== p; p = up, up = dirname(p)) ancestors.push(up);
  const seen = new Set<string>([real]);
  for (const a of ancestors) {
    const key = canonicalPath(a);
    if (seen.has(key)) continue;
    seen.add(key);
    const manifest = RunDir.readManifest(a);
    // An experiment's directory is made to hold runs (its cells', its points').
    if (manifest?.kind?.startsWith("experiment ")) continue;
    if (manifest?.kind !== undefined) return { dir: a, kind: manifest.kind };
    const kind = configYamlKind(a);
    if (kind === "pipeline" || (kind !== undefined && manifest !== undefined))
      return { dir: a, kind };
  }
  return undefined;
}

/**
 * Refuses (KEEL_E_USAGE) an output path inside a run's directory (`enclosingRun`): a pipeline
 * run's state.json records what its stages wrote there, and a stage that runs again removes its
 * directory; a trainer run prunes its checkpoints and its manifest records its model. Either the
 * output or the run would be lost. `what` names the output for the hint.
 */
export function refuseInsideRun(path: string, what: string): void {
  const run = enclosingRun(path);
  if (run === undefined) return;
  const owner =
    run.kind === "pipeline"
      ? "the run's stages own what is in it (a stage that runs again removes its directory)"
      : "the run owns what is in it (its model, and checkpoints it prunes as it trains)";
  throw new KeelError(
    "KEEL_E_USAGE",
    `${path} is inside the ${run.kind} run directory ${run.dir}; choose another --out`,
    { hint: `${owner}: write ${what} outside ${run.dir}` },
  );
}

/** "a pipeline run", "an experiment tradeoff run". */
export function aRun(kind: RunKind): string {
  return `${/^[aeiou]/.test(kind) ? "an" : "a"} ${kind} run`;
}

/**
 * Refuses (KEEL_E_USAGE) a directory inside a run's directory (`enclosingRun`), and one that
 * holds a run of another kind than `kind`: writing into it would replace that run's
 * config.yaml and manifest.json, and with them its provenance.
 * A run of the same kind is left to the caller (resume, or refuse a finished one).
 */
export function refuseOtherRun(dir: string, kind: RunKind): void {
  refuseInsideRun(dir, aRun(kind));
  const held = heldRunKind(dir);
  if (held === undefined || held === kind) return;
  const what = held === "unknown" ? "another kind of run (its manifest.json)" : aRun(held);
  throw new KeelError("KEEL_E_USAGE", `${dir} already holds ${what}; choose another --out`, {
    hint: `writing ${aRun(kind)} there would replace that run's config.yaml and manifest.json`,
  });
}

/**
 * What a directory that holds no run holds, when it holds anything: a model checkpoint (what
 * `keel model init` and `keel train` write), a reward-model ensemble, a feedback store, or other
 * files. Undefined for a new or empty directory (hidden files aside) and for one that holds a
 * run (`heldRunKind`).
 */
export function foreignContents(dir: string): string | undefined {
  let entries: string[];
  try {
    // Hidden files (.gitkeep, .DS_Store) are not contents a run could destroy.
    entries = statSync(dir).isDirectory() ? readdirSync(dir).filter((e) => !e.startsWith(".")) : [];
  } catch {
    return undefined; // not there yet
  }
  if (entries.length === 0 || heldRunKind(dir) !== undefined) return undefined;
  if (entries.includes("config.json")) return "a model checkpoint (config.json)";
  if (entries.includes("ensemble.json")) return "a reward-model ensemble (ensemble.json)";
  if (entries.includes("keel.db")) return "a feedback store (keel.db)";
  const shown = entries.sort().slice(0, 3).join(", ");
  return `other files (${shown}${entries.length > 3 ? ", …" : ""})`;
}
