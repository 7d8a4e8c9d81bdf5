/**
 * `keel model init`'s action: a new model of the given sizes, saved into a new or empty
 * directory under a marker that tells a finished checkpoint from what a killed init left.
 */
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { processExists } from "../../core/dir-lock.js";
import { KeelError } from "../../core/errors.js";
import { syncDirectory } from "../../core/sync-dir.js";
import { ensureDir, writeFileAtomic } from "../../engine/checkpoint/atomic.js";
import {
  CHECKPOINT_FILES,
  hasCheckpoint,
  parameterCount,
  saveCheckpoint,
} from "../../engine/checkpoint/checkpoint.js";
import { parseGptConfig } from "../../engine/gpt/config.js";
import { Gpt } from "../../engine/gpt/model.js";
import { BpeTokenizer } from "../../engine/tokenizer/bpe.js";
import { readJsonTextFile } from "../../io/files.js";
import { refuseInsideRun } from "../../pipeline/rundir.js";
import type { ModelInitFlags } from "../commands/model.js";
import { printJson, printLine } from "../output.js";

/**
 * Written into the directory before the checkpoint's files and removed after its config.json:
 * a directory holding it is what a `keel model init` that never finished left behind (killed,
 * out of memory, a power cut), not a model, and the next init may replace it.
 */
const INIT_MARKER = ".keel-init";

/** A file an init writes: the marker, a checkpoint file, or either's temporary file. */
function isInitFile(name: string): boolean {
  const base = name.replace(/\.tmp-\d+-\d+$/, "");
  return base === INIT_MARKER || CHECKPOINT_FILES.includes(base);
}

/**
 * The process that wrote an init marker (its content, or the name of its temporary file, which a
 * kill before the marker's rename leaves alone); undefined if neither says.
 */
function markerPid(dir: string, entries: readonly string[]): number | undefined {
  let pid: unknown;
  try {
    pid = (JSON.parse(readFileSync(join(dir, INIT_MARKER), "utf8")) as { pid?: unknown }).pid;
  } catch {
    const temp = entries.find((e) => e.startsWith(`${INIT_MARKER}.tmp-`));
    pid = temp !== undefined ? Number(/\.tmp-(\d+)-/.exec(temp)?.[1]) : undefined;
  }
  return typeof pid === "number" && Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * `keel model init`'s output must be a new or empty directory, or the leftovers of an init that
 * never finished (its marker, checkpoint files, temporary files; returned, to be removed): saving
 * over a checkpoint would mix its files with the new one's (a tokenizer.json the new config.json
 * does not list stays behind), and any other directory's files are not ours to mix with.
 */
function leftoversOf(dir: string): string[] {
  let entries: string[] = [];
  try {
    entries = statSync(dir).isDirectory() ? readdirSync(dir) : [];
  } catch {
    return []; // not there yet (or unreadable: creating it says why)
  }
  if (entries.length === 0) return [];
  const marked = entries.some((e) => e === INIT_MARKER || e.startsWith(`${INIT_MARKER}.tmp-`));
  if (marked && entries.every(isInitFile)) {
    const pid = markerPid(dir, entries);
    if (pid !== undefined && pid !== process.pid && processExists(pid))
      throw new KeelError(
        "KEEL_E_BUSY",
        `${dir} is being written by another keel model init (process ${pid})`,
        { hint: `wait for it, or remove ${dir} if no keel model init is running` },
      );
    return entries;
  }
  const what = hasCheckpoint(dir) ? "a checkpoint (config.json)" : "files";
  throw new KeelError("KEEL_E_USAGE", `${dir} already holds ${what}; choose another --out`, {
    hint: "keel model init writes into a new or empty directory",
  });
}

/** Saves `model` into `dir` between the marker's creation and its removal. */
function saveNewCheckpoint(
  dir: string,
  model: Gpt,
  leftovers: readonly string[],
  o: ModelInitFlags,
  tokenizer: BpeTokenizer | undefined,
): void {
  ensureDir(dir);
  for (const name of leftovers) rmSync(join(dir, name), { force: true });
  writeFileAtomic(join(dir, INIT_MARKER), `${JSON.stringify({ pid: process.pid })}\n`);
  saveCheckpoint(dir, model, { tokenizer, extra: { seed: o.seed } });
  rmSync(join(dir, INIT_MARKER), { force: true });
  syncDirectory(dir);
}

/** The most elements a typed array may have (V8 on 64-bit: 2³²). */
const MAX_TYPED_ARRAY_LENGTH = 2 ** 32;

export async function runInit(o: ModelInitFlags): Promise<void> {
  refuseInsideRun(o.out, "a new checkpoint");
  const leftovers = leftoversOf(o.out);
  const tokenizer = o.tokenizer
    ? BpeTokenizer.fromJSON(readJsonTextFile(o.tokenizer), o.tokenizer)
    : undefined;
  if (tokenizer && tokenizer.vocabSize > o.vocab) {
    throw new KeelError(
      "KEEL_E_USAGE",
      `--vocab ${o.vocab} is smaller than the tokenizer's ${tokenizer.vocabSize} tokens`,
    );
  }
  const config = parseGptConfig({
    vocab: o.vocab,
    dModel: o.dModel,
    layers: o.layers,
    heads: o.heads,
    context: o.context,
  });
  // The weights live in one Float32Array; past its length limit the allocation threw a bare
  // RangeError (KEEL_E_INTERNAL with a stack trace).
  const count = parameterCount(config);
  if (count > MAX_TYPED_ARRAY_LENGTH) {
    throw new KeelError(
      "KEEL_E_USAGE",
      `these sizes make a model of ${count.toLocaleString("en")} parameters; keel's engine holds at most ${MAX_TYPED_ARRAY_LENGTH.toLocaleString("en")}`,
      { hint: "lower --vocab, --d-model, --layers or --context" },
    );
  }
  const model = new Gpt(config, { seed: o.seed });
  try {
    saveNewCheckpoint(o.out, model, leftovers, o, tokenizer);
  } finally {
    await model.dispose();
  }
  if (o.json) printJson({ checkpoint: o.out, parameters: model.params.size, config: model.config });
  else printLine(`wrote ${o.out} (${model.params.size.toLocaleString("en")} parameters)`);
}
