/**
 * The stage runner. A pipeline is a list of stages; each has a key, a weight (its expected
 * share of the run's time, for the ETA), the config slice it depends on, the keys of the stages
 * whose outputs it reads, and the files it writes. When a stage finishes, the runner records in
 * `state.json` its fingerprint (a hash of its config slice and of its inputs' fingerprints),
 * the SHA-256 of each output file and its result. `--resume` skips every stage whose fingerprint
 * and outputs are unchanged and re-runs the rest; a trainer stage that was interrupted
 * continues from its own last checkpoint.
 */
import { existsSync, readFileSync } from "node:fs";
import { canonicalJson } from "../core/canonical.js";
import { sha256Hex } from "../core/digest.js";
import { KeelError } from "../core/errors.js";
import { KEEL_VERSION } from "../core/version.js";
import { writeFileAtomic } from "../io/files.js";
import type { RunDir } from "./rundir.js";

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

interface StageRecord {
  readonly fingerprint: string;
  readonly outputs: Record<string, string>;
  readonly result: StageResult;
  readonly seconds: number;
}

interface RunState {
  readonly format: "keel-run-state/1";
  stages: Record<string, StageRecord>;
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
}

function fileHash(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  return sha256Hex(readFileSync(path, "latin1"));
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
    try {
      const s = JSON.parse(readFileSync(this.statePath, "utf8")) as RunState;
      if (s.format === "keel-run-state/1") this.state = s;
    } catch (e) {
      throw new KeelError("KEEL_E_CHECKPOINT", "the run's state.json is not valid JSON", {
        where: { file: this.statePath },
        cause: e,
      });
    }
  }

  private fingerprints = new Map<string, string>();

  private fingerprint(s: Stage): string {
    const upstream = s.after.map((a) => this.fingerprints.get(a) ?? "");
    // Paths inside the run directory count relative to it: the same run reached as `d`, `./d`
    // or `/abs/d` keeps its finished stages (they re-ran when --out was spelled differently).
    let config = canonicalJson(s.config ?? null);
    const inRun = JSON.stringify(`${this.run.path.replace(/\/+$/, "")}/`).slice(0, -1);
    if (inRun !== '"/') {
      const escaped = inRun.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      config = config.replace(new RegExp(`${escaped}/*`, "g"), '"<run>/');
    }
    return sha256Hex(canonicalJson({ keel: KEEL_VERSION, key: s.key, config, upstream }));
  }

  /** A finished stage can be skipped when its fingerprint and every output are unchanged. */
  private reusable(s: Stage, fp: string): StageRecord | undefined {
    const rec = this.state.stages[s.key];
    if (!rec || rec.fingerprint !== fp) return undefined;
    for (const f of s.outputs)
      if (rec.outputs[f] === undefined || fileHash(this.run.file(f)) !== rec.outputs[f])
        return undefined;
    return rec;
  }

  async runAll(signal: AbortSignal, resume: boolean): Promise<Record<string, StageResult>> {
    const results: Record<string, StageResult> = {};
    const totalWeight = this.stages.reduce((a, s) => a + s.weight, 0);
    let doneWeight = 0;
    const t0 = performance.now();
    for (const [i, s] of this.stages.entries()) {
      const fp = this.fingerprint(s);
      this.fingerprints.set(s.key, fp);
      const prior = resume ? this.reusable(s, fp) : undefined;
      this.events.onStageStart?.(i, this.stages.length, s, prior !== undefined);
      if (prior) {
        results[s.key] = prior.result;
        doneWeight += s.weight;
        this.events.onStageEnd?.(s, 0, true);
        continue;
      }
      if (signal.aborted) throw interrupted();
      const started = performance.now();
      const ctx: StageContext = {
        run: this.run,
        signal,
        resume: resume && this.state.stages[s.key] === undefined,
        inputs: Object.fromEntries(s.after.map((a) => [a, results[a]!])),
        progress: (fraction, detail) => {
          const elapsed = (performance.now() - t0) / 1000;
          const done = doneWeight + s.weight * Math.min(Math.max(fraction, 0), 1);
          const eta = done > 0 && elapsed > 1 ? (elapsed / done) * (totalWeight - done) : undefined;
          this.events.onStageProgress?.(s, fraction, detail, eta);
        },
      };
      const result = await this.run.stage(s.key, () => s.run(ctx));
      if (signal.aborted) throw interrupted();
      const seconds = (performance.now() - started) / 1000;
      const outputs: Record<string, string> = {};
      for (const f of s.outputs) {
        const h = fileHash(this.run.file(f));
        if (h === undefined)
          throw new KeelError("KEEL_E_INTERNAL", `stage ${s.key} did not write ${f}`);
        outputs[f] = h;
      }
      this.state.stages[s.key] = { fingerprint: fp, outputs, result, seconds };
      await writeFileAtomic(this.statePath, `${JSON.stringify(this.state, null, 2)}\n`);
      results[s.key] = result;
      doneWeight += s.weight;
      this.events.onStageEnd?.(s, seconds, false);
    }
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
