/**
 * A run directory: one per run, holding the resolved config, a provenance manifest (versions,
 * seeds, input hashes, stage timings), metrics and outputs. Files are written atomically.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { stringify as toYaml } from "yaml";
import { sha256Hex } from "../core/digest.js";
import { KeelError } from "../core/errors.js";
import { KEEL_VERSION } from "../core/version.js";
import { writeFileAtomic } from "../io/files.js";
import { isEnsembleDir, readJsonQuietly } from "../train/common/role.js";

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

export interface Manifest {
  readonly keel_version: string;
  readonly node_version: string;
  /** onnxruntime-node's version: the engine's numerics depend on it. */
  readonly onnxruntime_version: string;
  readonly platform: string;
  readonly created_at: string;
  readonly command: readonly string[];
  readonly seeds: Record<string, number | string>;
  readonly inputs: Record<string, string>;
  readonly stages: StageTiming[];
  readonly outputs: Record<string, string>;
}

export class RunDir {
  readonly manifest: Manifest;

  /** `previous`: the manifest of the run being continued (its record is kept and extended). */
  constructor(
    readonly path: string,
    seeds: Record<string, number | string>,
    previous?: Manifest,
  ) {
    mkdirSync(path, { recursive: true });
    if (previous) {
      this.manifest = previous;
      return;
    }
    this.manifest = {
      keel_version: KEEL_VERSION,
      node_version: process.version,
      onnxruntime_version: ONNXRUNTIME_VERSION,
      platform: `${process.platform}-${process.arch}`,
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
   * or checkpoint changed since is refused by name: the result would belong to neither.
   */
  static open(
    path: string,
    seeds: Record<string, number | string>,
    record: (run: RunDir) => void,
    resume: boolean,
  ): RunDir {
    const now = new RunDir(path, seeds);
    record(now);
    const before = resume ? RunDir.readManifest(path) : undefined;
    if (!before) return now;
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
      const what = is === undefined ? "is gone" : "changed";
      const hashes = is ? ` (sha256 ${was.slice(0, 12)}… then, ${is.slice(0, 12)}… now)` : "";
      throw new KeelError(
        "KEEL_E_CONFIG",
        `cannot resume: ${name} ${what} since the run began${hashes}`,
        {
          where: { file: join(path, "manifest.json"), field: `inputs.${name}` },
          hint: "resume with the inputs the run began with, or start a new run in a fresh output directory",
        },
      );
    }
    return new RunDir(path, seeds, before);
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

  async stage<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
    const started = new Date();
    const t0 = performance.now();
    const result = await fn();
    this.manifest.stages.push({
      stage: name,
      started_at: started.toISOString(),
      seconds: (performance.now() - t0) / 1000,
    });
    await this.saveManifest();
    return result;
  }

  async writeJson(name: string, value: unknown): Promise<string> {
    const p = this.file(name);
    await writeFileAtomic(p, `${JSON.stringify(value, null, 2)}\n`);
    this.manifest.outputs[name] = sha256Hex(`${JSON.stringify(value, null, 2)}\n`);
    return p;
  }

  async writeYaml(name: string, value: unknown): Promise<string> {
    const p = this.file(name);
    const text = toYaml(value);
    await writeFileAtomic(p, text);
    this.manifest.outputs[name] = sha256Hex(text);
    return p;
  }

  async saveManifest(): Promise<void> {
    await writeFileAtomic(
      this.file("manifest.json"),
      `${JSON.stringify(this.manifest, null, 2)}\n`,
    );
  }
}
