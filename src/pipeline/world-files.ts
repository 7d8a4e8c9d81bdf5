/**
 * A world's files: judgments.jsonl, truth.json, prompts.jsonl, sft.jsonl and eval_pairs.jsonl,
 * each streamed to a temporary file and renamed into place only when every file is complete
 * (`keel world generate`, and the pipeline's world stage).
 */
import { existsSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { KeelError } from "../core/errors.js";
import { makeDirs } from "../engine/checkpoint/atomic.js";
import { commitTogether, describeFsError, TextSink } from "../io/files.js";
import {
  buildWorld,
  evalPairs,
  promptRecord,
  type SimulatedComparison,
  SummaryBuilder,
  sftCorpus,
  simulateComparisons,
  type TruthHead,
  type TruthSummary,
  truthHead,
  type WorldConfig,
} from "../world/index.js";

export interface GenerateResult {
  readonly out: string;
  readonly seed: string | number;
  readonly comparisons: number;
  readonly judgments: number;
  readonly raters: number;
  readonly prompts: number;
  readonly sft_rows: number;
  readonly eval_pairs: number;
  readonly files: Readonly<Record<string, { readonly records: number; readonly bytes: number }>>;
  readonly seconds: number;
}

/** The files a world writes into its directory. */
export const WORLD_FILES = [
  "judgments.jsonl",
  "truth.json",
  "prompts.jsonl",
  "sft.jsonl",
  "eval_pairs.jsonl",
] as const;
type FileName = (typeof WORLD_FILES)[number];

/**
 * truth.json streamed: the head (world, raters, and any `extra` keys before the comparisons),
 * then one comparison at a time, then the summary of them all.
 */
export class TruthWriter {
  private readonly summary: SummaryBuilder;
  private started = false;
  count = 0;

  constructor(
    private readonly sink: TextSink,
    private readonly head: TruthHead,
    private readonly extra: Readonly<Record<string, unknown>> = {},
  ) {
    this.summary = new SummaryBuilder(head.raters);
  }

  private async start(): Promise<void> {
    const h = this.head;
    await this.sink.write(
      `{"format":${JSON.stringify(h.format)},"seed":${JSON.stringify(h.seed)},`,
    );
    await this.sink.write(
      `"config":${JSON.stringify(h.config)},"trigger":${JSON.stringify(h.trigger)},`,
    );
    await this.sink.write(`"entities":${JSON.stringify(h.entities)},\n"raters":[\n`);
    await this.sink.write(`${h.raters.map((r) => JSON.stringify(r)).join(",\n")}\n],\n`);
    for (const [k, v] of Object.entries(this.extra))
      await this.sink.write(`${JSON.stringify(k)}:${JSON.stringify(v)},\n`);
    await this.sink.write(`"comparisons":[\n`);
    this.started = true;
  }

  async add(sim: SimulatedComparison): Promise<void> {
    if (!this.started) await this.start();
    await this.sink.write(`${this.count++ > 0 ? ",\n" : ""}${JSON.stringify(sim.truth)}`);
    this.summary.add(sim);
  }

  /** Writes the summary (the sink is left to commit) and returns it. */
  async finish(): Promise<TruthSummary> {
    if (!this.started) await this.start();
    const s = this.summary.finish();
    await this.sink.write(`${this.count > 0 ? "\n" : ""}],\n"summary":${JSON.stringify(s)}}\n`);
    return s;
  }
}

/** Generates a world's files into `out` (created if missing). */
export async function generateWorldFiles(
  config: WorldConfig,
  out: string,
  options: {
    seed?: string | number;
    onProgress?: (comparisons: number, total: number) => void;
  } = {},
): Promise<GenerateResult> {
  const started = performance.now();
  // The world first: a config it refuses (a trigger in a clean prompt, a family too small)
  // leaves no empty directory behind.
  const world = buildWorld(config, options.seed);
  // makeDirs: Node's own recursive mkdir says "no such file or directory" on a read-only mount.
  const created = !existsSync(out);
  try {
    makeDirs(out);
  } catch (e) {
    throw new KeelError("KEEL_E_FILE", `cannot create directory: ${describeFsError(e)}`, {
      where: { file: out },
    });
  }
  const sinks = {} as Record<FileName, TextSink>;
  const records: Record<string, number> = Object.fromEntries(WORLD_FILES.map((f) => [f, 0]));
  const put = async (f: FileName, line: string) => {
    records[f]!++;
    await sinks[f].write(`${line}\n`);
  };
  // One set: readers (the pipeline, keel import, training) take the five files as one world, so
  // they are renamed into place together (a crash between two renames is finished by the next
  // reader; see io/output-set.ts). A failure renames none and removes their temporaries.
  try {
    await commitTogether("keel world generate", async () => {
      for (const f of WORLD_FILES) sinks[f] = new TextSink(join(out, f));
      for (const p of [...world.prompts, ...world.triggered])
        await put("prompts.jsonl", JSON.stringify(promptRecord(p)));
      const truth = new TruthWriter(sinks["truth.json"], truthHead(world));
      for (const sim of simulateComparisons(world)) {
        for (const j of sim.judgments) await put("judgments.jsonl", JSON.stringify(j));
        await truth.add(sim);
        if (truth.count % 1000 === 0) options.onProgress?.(truth.count, config.comparisons.count);
      }
      options.onProgress?.(truth.count, config.comparisons.count);
      records["truth.json"] = truth.count;
      await truth.finish();
      for (const row of sftCorpus(world)) await put("sft.jsonl", JSON.stringify(row));
      for (const row of evalPairs(world)) await put("eval_pairs.jsonl", JSON.stringify(row));
      for (const f of WORLD_FILES) await sinks[f].commit();
    });
  } catch (e) {
    // A draw the world refuses only while writing (an empty split, no prompt to carry a
    // trigger) leaves no empty directory behind, as a config refused up front does not.
    if (created) rmEmptyDir(out);
    throw e;
  }
  const files = Object.fromEntries(
    WORLD_FILES.map((f) => [f, { records: records[f]!, bytes: sinks[f].bytes }]),
  );
  return {
    out,
    seed: world.seed,
    comparisons: records["truth.json"]!,
    judgments: records["judgments.jsonl"]!,
    raters: world.roster.raters.length,
    prompts: records["prompts.jsonl"]!,
    sft_rows: records["sft.jsonl"]!,
    eval_pairs: records["eval_pairs.jsonl"]!,
    files,
    seconds: Math.round((performance.now() - started) / 10) / 100,
  };
}

/** Removes `dir` if it is empty (best effort: anything else in it stays). */
function rmEmptyDir(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // not empty, or already gone
  }
}
