/**
 * Parsing on a second core. Large imports are CPU-bound in two places — turning lines into
 * validated, digested judgments, and writing them to the database — so the parsing runs in a
 * worker thread and hands over packed batches (see packed.ts), while the caller writes.
 */
import type { Worker } from "node:worker_threads";
import { reviveKeelError } from "../core/errors.js";
import { startModuleWorker } from "../core/worker.js";
import type { PackedBatch } from "./packed.js";
import type { ParseWorkerData, ParseWorkerMessage } from "./parse-worker.js";
import type { ImportOptions } from "./registry.js";

/**
 * The parser's heap needs little (a few batches in flight and two bounded caches); capping it
 * makes V8 collect garbage instead of growing the heap, which keeps an import's memory bounded.
 */
const WORKER_LIMITS = { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 8 };

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
    failure ??= e;
    wakeUp();
  });
  worker.on("exit", (code) => {
    exited = true;
    if (code !== 0) failure ??= new Error(`parse worker exited with code ${code}`);
    wakeUp();
  });
  try {
    for (;;) {
      while (queue.length === 0) {
        if (failure) throw failure;
        if (exited) throw new Error("parse worker exited before finishing");
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
