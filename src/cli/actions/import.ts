/** `keel import`'s action: parse the file (on a second core when it can) into the store. */

import { rm } from "node:fs/promises";
import { KeelError, reviveKeelError } from "../../core/errors.js";
import { startModuleWorker } from "../../core/worker.js";
import { isTooManyFieldsError } from "../../io/csv.js";
import type { TableFormat } from "../../io/formats/crowdkit.js";
import { JsonlWriter } from "../../io/jsonl.js";
import { countLines, isCutLineError } from "../../io/lines.js";
import { sqliteFiles } from "../../io/output-target.js";
import { parseJudgmentsInWorker } from "../../io/parallel.js";
import { RawLines } from "../../io/raw-lines.js";
import { detectFormat, type ImportFormat, importFormat } from "../../io/registry.js";
import { trackTempFile, untrackTempFile } from "../../io/temp-files.js";
import type {
  FeedbackStore,
  ImportBatch,
  ImportOptions,
  ImportReport,
  RecordImportReport,
} from "../../store/store.js";
import type { ImportFlags } from "../commands/import.js";
import { numberArg, shortHash } from "../common.js";
import { withInterrupt } from "../interrupt.js";
import { printJson, printLine, warn } from "../output.js";
import { Progress } from "../progress.js";
import type {
  ImportWriterCommand,
  ImportWriterData,
  ImportWriterMessage,
} from "./import-writer.js";
import { withStore } from "./with-store.js";

export async function runImport(file: string, o: ImportFlags): Promise<void> {
  if (o.rejects && !o.skipInvalid)
    throw new KeelError("KEEL_E_USAGE", "--rejects needs --skip-invalid");
  const key = o.format === "auto" ? await detectFormat(file, o.table) : o.format;
  const format = importFormat(key);
  const total =
    !o.quiet && process.stderr.isTTY && file !== "-" ? await countLines(file) : undefined;
  const progress = new Progress({
    label: `import ${format.key}`,
    unit: "records",
    enabled: !o.quiet && process.stderr.isTTY,
    ...(total ? { total } : {}),
  });
  try {
    // Ctrl-C rolls the transaction back and says so, rather than ending without a word: the
    // import stops at its next batch (the parser's, or the worker's writer's).
    const { report, rejectsWritten } = await withInterrupt(
      (signal) =>
        file !== "-" && format.kind === "judgments" && o.parallel !== false
          ? importInWorker(format, file, o, progress, signal)
          : importRecords(format, file, o, { update: (n) => progress.update(n), signal }),
      "stopping the import; nothing will be imported",
    );
    progress.finish();
    printReport(format, file, o, report, rejectsWritten);
  } catch (e) {
    progress.finish();
    // Stopped while waiting for standard input: stop reading it too, or the process would wait
    // for input that nothing will use.
    if (file === "-" && e instanceof KeelError && e.code === "KEEL_E_INTERRUPTED")
      process.stdin.destroy();
    throw e;
  }
}

/** The store writer's heap limit in a worker (MB); KEEL_IMPORT_HEAP_MB overrides it. */
function importHeapMb(): number {
  const env = process.env.KEEL_IMPORT_HEAP_MB;
  if (env === undefined || env === "") return 128;
  const n = numberArg(env);
  if (!Number.isSafeInteger(n) || n < 32)
    throw new KeelError(
      "KEEL_E_USAGE",
      `KEEL_IMPORT_HEAP_MB: ${JSON.stringify(env)} is not a whole number ≥ 32`,
    );
  return n;
}

/**
 * Runs the import in a worker thread with a capped heap (import-writer.ts), which parses on a
 * further worker as before; this thread only shows progress.
 */
async function importInWorker(
  format: ImportFormat,
  file: string,
  o: ImportFlags,
  progress: Progress,
  signal: AbortSignal,
): Promise<ImportOutcome> {
  const heapMb = importHeapMb();
  const data: ImportWriterData = { file, format: format.key, flags: { ...o } };
  const worker = startModuleWorker(import.meta.url, "import-writer", {
    workerData: data,
    resourceLimits: { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: 12 },
  });
  let rejectsTemp: string | undefined;
  const abort = () => worker.postMessage({ type: "abort" } satisfies ImportWriterCommand);
  signal.addEventListener("abort", abort, { once: true });
  try {
    return await new Promise((resolve, reject) => {
      let settled = false;
      worker.on("message", (m: ImportWriterMessage) => {
        if (m.type === "progress") progress.update(m.n);
        else if (m.type === "rejects-temp") {
          // Signals reach this thread only: it removes the worker's file on Ctrl-C.
          rejectsTemp = m.path;
          trackTempFile(m.path);
        } else if (m.type === "done") {
          settled = true;
          resolve({ report: m.report, rejectsWritten: m.rejectsWritten });
        } else {
          settled = true;
          reject(reviveKeelError(m.error));
        }
      });
      worker.on("error", (e: Error & { code?: string }) => {
        settled = true;
        reject(
          e.code === "ERR_WORKER_OUT_OF_MEMORY"
            ? new KeelError(
                "KEEL_E_TOO_LARGE",
                `the import needed more than its ${heapMb} MB heap; nothing was imported`,
                { where: { file }, hint: "run it again with KEEL_IMPORT_HEAP_MB=512 (or more)" },
              )
            : e,
        );
      });
      worker.on("exit", (code) => {
        if (!settled)
          reject(new KeelError("KEEL_E_INTERNAL", `the import worker exited (code ${code})`));
      });
    });
  } finally {
    signal.removeEventListener("abort", abort);
    await worker.terminate();
    if (rejectsTemp !== undefined) {
      // Renamed into place, or removed by the worker; gone in any case if the worker died.
      await rm(rejectsTemp, { force: true });
      untrackTempFile(rejectsTemp);
    }
  }
}

/** What an import did, and how many lines went to the rejects file. */
export interface ImportOutcome {
  readonly report: ImportReport | RecordImportReport;
  readonly rejectsWritten: number;
}

/**
 * Imports `file` into the store. The rejects file is opened first, before anything is written:
 * a path that cannot be written, or that is the input or the store itself, fails with nothing
 * imported. `rejectsOpened` learns the temporary file it is written to (see importInWorker).
 * Aborting `signal` stops the import at its next batch with KEEL_E_INTERRUPTED, rolled back.
 */
export async function importRecords(
  format: ImportFormat,
  file: string,
  o: ImportFlags,
  hooks: {
    update(n: number): void;
    rejectsOpened?(tempPath: string): void;
    readonly signal?: AbortSignal;
  },
): Promise<ImportOutcome> {
  const parseOpts = {
    ...(o.rater ? { raterId: o.rater } : {}),
    ...(o.table ? { table: o.table } : {}),
  };
  return withStore(o.db, async (store) => {
    const rejects = o.rejects ? openRejects(o.rejects, file, store) : undefined;
    if (rejects?.tempPath !== undefined) hooks.rejectsOpened?.(rejects.tempPath);
    const rawLines = new RawLines(file);
    const storeOpts = {
      skipInvalid: o.skipInvalid ?? false,
      source: file,
      onProgress: (n: number) => hooks.update(n),
      onReject: async (line: number, error: Error, raw: string | undefined) => {
        if (!rejects) return;
        // A record the store refused was valid to the parser, which kept no text of it.
        const text = raw ?? (await rawLines.line(line)) ?? "";
        // An over-long line (or one of too many values or fields) was kept by its first bytes.
        const cut =
          isCutLineError(error) || isTooManyFieldsError(error) ? { raw_truncated: true } : {};
        await rejects.write({ line, error: error.message, raw: text, ...cut });
      },
    };
    try {
      const report = await importInto(store, format, file, o, parseOpts, storeOpts, hooks.signal);
      await rejects?.commit();
      return { report, rejectsWritten: rejects?.count ?? 0 };
    } catch (e) {
      await rejects?.abort();
      throw e;
    } finally {
      await rawLines.close();
    }
  });
}

function openRejects(path: string, input: string, store: FeedbackStore): JsonlWriter {
  const protect = [
    ...(input !== "-" ? [{ path: input, what: "the file being imported" }] : []),
    ...(store.filePath ? sqliteFiles(store.filePath, "the feedback store") : []),
  ];
  return new JsonlWriter(path, { protect });
}

function importInto(
  store: FeedbackStore,
  format: ImportFormat,
  file: string,
  o: ImportFlags,
  parseOpts: { raterId?: string; table?: TableFormat },
  storeOpts: ImportOptions,
  signal: AbortSignal | undefined,
): Promise<ImportReport | RecordImportReport> {
  const stoppable = <T>(batches: AsyncIterable<T>) =>
    signal ? untilAborted(batches, signal, file) : batches;
  switch (format.kind) {
    case "judgments":
      // Parse on a second core unless reading standard input (a worker cannot share it).
      return store.importJudgments(
        stoppable<ImportBatch>(
          file !== "-" && o.parallel !== false
            ? parseJudgmentsInWorker(format.key, file, parseOpts)
            : format.parse(file, parseOpts),
        ),
        storeOpts,
      );
    case "refs":
      return store.importJudgments(stoppable(format.parse(file, parseOpts)), storeOpts);
    case "gold":
      return store.importGold(stoppable(format.parse(file, parseOpts)), storeOpts);
    case "raters":
      return store.importRaters(stoppable(format.parse(file, parseOpts)), storeOpts);
  }
}

/**
 * The batches of `batches` until `signal` is aborted, then KEEL_E_INTERRUPTED, which rolls the
 * import's transaction back. A batch being waited for (standard input that sends nothing) is
 * not waited for: the source is left to end with the process.
 */
export async function* untilAborted<T>(
  batches: AsyncIterable<T>,
  signal: AbortSignal,
  file: string,
): AsyncGenerator<T> {
  const interrupted = () =>
    new KeelError(
      "KEEL_E_INTERRUPTED",
      "the import was interrupted: nothing was imported (an import is one transaction, rolled back)",
      { where: { file }, hint: "run the same import again to import the file" },
    );
  // Each wait listens for the abort only while it lasts: a race against one long-lived promise
  // would keep every batch it ever settled with reachable, for the whole import.
  const nextOrAbort = (next: Promise<IteratorResult<T>>) =>
    new Promise<IteratorResult<T>>((resolve, reject) => {
      const onAbort = () => reject(interrupted());
      signal.addEventListener("abort", onAbort, { once: true });
      next.then(
        (r) => {
          signal.removeEventListener("abort", onAbort);
          resolve(r);
        },
        (e: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(e);
        },
      );
    });
  const it = batches[Symbol.asyncIterator]();
  let pending = false;
  try {
    for (;;) {
      if (signal.aborted) throw interrupted();
      pending = true;
      const r = await nextOrAbort(it.next());
      pending = false;
      if (r.done) return;
      yield r.value;
    }
  } finally {
    // A source still producing a batch finishes it before it can be closed; do not wait.
    if (pending) void it.return?.()?.catch(() => undefined);
    else await it.return?.();
  }
}

function printReport(
  format: ImportFormat,
  file: string,
  o: ImportFlags,
  report: ImportReport | RecordImportReport,
  rejectsWritten: number,
): void {
  if (o.json) {
    printJson({ file, format: format.key, ...jsonReport(report) });
    return;
  }
  if ("appended" in report) {
    printLine(
      `imported ${report.appended} judgments from ${file} (${format.key}): ${report.read} records read, ` +
        `${report.newComparisons} new comparisons, ${report.duplicates} duplicates skipped, ${report.rejected} rejected`,
    );
    if (report.duplicates > 0) {
      for (const d of report.duplicateExamples.slice(0, 5)) {
        warn(
          `duplicate ${d.where.file ?? file}:${d.where.line}: rater ${JSON.stringify(d.rater_id)} already judged comparison ${JSON.stringify(d.comparison_id)}${d.conflicting ? " (with a different choice; the first judgment stands)" : ""}`,
        );
      }
      if (report.duplicates > 5)
        warn(
          `… and ${report.duplicates - 5} more duplicates (${report.conflictingDuplicates} conflicting)`,
        );
    }
    const ignored = Object.entries(report.ignoredFields);
    if (ignored.length > 0)
      warn(
        `${ignored.map(([f, n]) => `${n} row${n === 1 ? "" : "s"} had ${f}`).join(", ")}: keel does not store per-row weights or margins (the audit computes weights; keel export --clean --margin writes both)`,
      );
    printLine(`ledger head: #${report.head.seq} ${shortHash(report.head.hash)}`);
  } else {
    // The store writes every rater it reads (it does not compare attributes): it counts no
    // unchanged raters, and "0 unchanged" would say that each one changed.
    const unchanged = format.kind === "gold" ? `${report.unchanged} unchanged, ` : "";
    const what = format.kind === "gold" ? "gold answers" : "raters";
    printLine(
      `imported ${report.written} ${what} from ${file}: ${report.read} read, ${unchanged}${report.rejected} rejected`,
    );
  }
  if (rejectsWritten > 0 && o.rejects)
    printLine(`rejected lines and reasons written to ${o.rejects}`);
}

/** The report in the snake_case keys of keel's other machine-readable output. */
function jsonReport(report: ImportReport | RecordImportReport): Record<string, unknown> {
  if (!("appended" in report)) return { ...report };
  return {
    read: report.read,
    appended: report.appended,
    new_comparisons: report.newComparisons,
    duplicates: report.duplicates,
    conflicting_duplicates: report.conflictingDuplicates,
    duplicate_examples: report.duplicateExamples,
    rejected: report.rejected,
    head: report.head,
    ignored_fields: report.ignoredFields,
  };
}
