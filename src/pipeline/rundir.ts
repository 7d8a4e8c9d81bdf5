/**
 * A run directory: one per run, holding the resolved config, a provenance manifest (versions,
 * seeds, input hashes, stage timings), metrics and outputs. Files are written atomically.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { stringify as toYaml } from "yaml";
import { sha256Hex } from "../core/digest.js";
import { KEEL_VERSION } from "../core/version.js";
import { writeFileAtomic } from "../io/files.js";

export interface StageTiming {
  readonly stage: string;
  readonly started_at: string;
  readonly seconds: number;
}

export interface Manifest {
  readonly keel_version: string;
  readonly node_version: string;
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

  constructor(
    readonly path: string,
    seeds: Record<string, number | string>,
  ) {
    mkdirSync(path, { recursive: true });
    this.manifest = {
      keel_version: KEEL_VERSION,
      node_version: process.version,
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
    this.manifest.inputs[name] = sha256Hex(readFileSync(path, "latin1"));
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
