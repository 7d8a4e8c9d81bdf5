/**
 * A run directory's record, manifest.json: what wrote the run (versions, platform, processor,
 * command), its seeds, the SHA-256 of each input and output, stage timings, and each resume.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { CpuRecord } from "./machine.js";

/** onnxruntime-node's own version, from its package.json ("unknown" if it cannot be read). */
export const ONNXRUNTIME_VERSION: string = (() => {
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

/** The manifest.json a run directory holds, if any (undefined when absent or unreadable). */
export function readManifest(path: string): Manifest | undefined {
  try {
    const m = JSON.parse(readFileSync(join(path, "manifest.json"), "utf8")) as Manifest;
    return typeof m === "object" && m !== null && typeof m.inputs === "object" ? m : undefined;
  } catch {
    return undefined;
  }
}
