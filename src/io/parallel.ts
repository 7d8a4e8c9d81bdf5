/**
 * Parsing on a second core. Large imports are CPU-bound in two places — turning lines into
 * validated, digested judgments, and writing them to the database — so the parsing runs in a
 * worker thread and hands over packed batches (see packed.ts), while the caller writes.
 */
import type { Worker } from "node:worker_threads";
import { KeelError, reviveKeelError } from "../core/errors.js";
import { startModuleWorker } from "../core/worker.js";
import { MAX_LINE_BYTES } from "./lines.js";
import type { PackedBatch } from "./packed.js";
import type { ParseWorkerData, ParseWorkerMessage } from "./parse-worker.js";
import type { ImportOptions } from "./registry.js";

/**
 * The parser's heap needs little (a few batches in flight and two bounded caches); capping it
 * makes V8 collect garbage instead of growing the heap, which keeps an import's memory bounded.
 * It must still hold the longest line the reader accepts four times over, at two bytes a
 * character (one non-Latin-1 character makes V8 store a whole string so), besides its working
 * set: the line's text, the strings parsed out of it, and for a message list its canonical
 * JSON (for the digest) and its stored body. With less, a long line that the schema would
 * refuse with file:line ended the worker out of memory instead; and a valid line of 31 message
 * contents of a million characters each, with room for two copies only, needed one large
 * string more than the heap had, which V8 does not survive: it ended the whole process
 * ("Reached heap limit"), not just the worker. Unused, the room costs nothing.
 */
const WORKER_LIMITS = {
  maxOldGenerationSizeMb: 64 + (8 * MAX_LINE_BYTES) / (1024 * 1024),
  maxYoungGenerationSizeMb: 8,
};

/** A worker that died (out of memory, or a crash) as an error that names the file. */
function workerFailure(path: string, e: Error & { code?: string }): KeelError {
  if (e.code === "ERR_WORKER_OUT_OF_MEMORY")
    return new KeelError(
      "KEEL_E_TOO_LARGE",
      `parsing needed more than the parser's ${WORKER_LIMITS.maxOldGenerationSizeMb} MB heap; nothing was imported`,
      { where: { file: path }, hint: "run it again with --no-parallel", cause: e },
    );
  return new KeelError("KEEL_E_INTERNAL", `the parse worker failed: ${e.message}`, {
    where: { file: path },
    cause: e,
  });
}

function startWorker(data: ParseWorkerData): Worker {
  return startModuleWorker(import.meta.url, "parse-worker", {
    workerData: data,
    resourceLimits: WORKER_LIMITS,
  });
}

/** Batches of judgments (as columns, texts by digest) parsed from `path` in a worker thread. */
export async function* parseJudgmentsInWorker(
  format: string,
  path: string,
  options: ImportOptions = {},
  maxInFlight = 4,
): AsyncGenerator<PackedBatch> {
  const worker = startWorker({ format, path, options, maxInFlight });
  const queue: ParseWorkerMessage[] = [];
  let failure: Error | undefined;
  let exited = false;
  let notify: (() => void) | undefined;
  const wakeUp = () => {
    notify?.();
    notify = undefined;
  };
  worker.on("message", (m: ParseWorkerMessage) => {
    queue.push(m);
    wakeUp();
  });
  worker.on("error", (e) => {
    failure ??= workerFailure(path, e);
    wakeUp();
  });
  worker.on("exit", (code) => {
    exited = true;
    if (code !== 0) failure ??= workerFailure(path, new Error(`it exited with code ${code}`));
    wakeUp();
  });
  try {
    for (;;) {
      while (queue.length === 0) {
        if (failure) throw failure;
        if (exited) throw workerFailure(path, new Error("it exited before finishing"));
        await new Promise<void>((r) => (notify = r));
      }
      const m = queue.shift()!;
      if (m.type === "done") return;
      if (m.type === "error") throw reviveKeelError(m.error);
      worker.postMessage("credit");
      yield m.batch;
    }
  } finally {
    await worker.terminate();
  }
}
