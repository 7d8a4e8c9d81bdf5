/**
 * Bulk imports into the store, each in one write transaction: judgments (through the ledger
 * appender), gold answers of stored comparisons, and raters' attributes. All-or-nothing unless
 * `skipInvalid`, which sets invalid lines aside. `FeedbackStore`'s import methods are thin
 * wrappers over these.
 */
import { KeelError, reviveKeelError, type Where } from "../core/errors.js";
import type { Choice, GoldAnswer, JudgmentColumns, Parsed, Rater } from "../core/types.js";
import {
  type AppendItem,
  type BatchResult,
  type Duplicate,
  type JudgmentInput,
  LedgerAppender,
} from "./append.js";
import { goldForTaskError } from "./append-batch.js";
import { refusedOutcome } from "./collection/outcome.js";
import type { StoreDialect } from "./dialect.js";
import type { LedgerHead, LedgerWriter } from "./writer.js";

export interface ImportReport {
  readonly read: number;
  readonly appended: number;
  readonly newComparisons: number;
  readonly duplicates: number;
  readonly conflictingDuplicates: number;
  /** The first duplicates, with where they were found. */
  readonly duplicateExamples: Duplicate[];
  readonly rejected: number;
  readonly head: LedgerHead;
  /** Rows per field the format carried and keel does not store (TRL weight, margin). */
  readonly ignoredFields: Readonly<Record<string, number>>;
}

export interface ImportOptions {
  /** Set invalid lines aside (passed to `onReject`) instead of failing the whole import. */
  readonly skipInvalid?: boolean;
  /**
   * A line set aside, with its text when the parser had it (undefined for a valid record the
   * store refused: the caller can read the line again from the source).
   */
  readonly onReject?: (line: number, error: Error, raw: string | undefined) => void | Promise<void>;
  readonly onProgress?: (read: number) => void;
  /** Name of the source (file path) for messages. */
  readonly source?: string;
}

export interface RecordImportReport {
  readonly read: number;
  readonly written: number;
  readonly unchanged: number;
  readonly rejected: number;
}

const DUPLICATE_EXAMPLES = 20;

/** A batch to import: parsed records, or a parsing thread's columns (io/packed.ts). */
export type ImportBatch = readonly Parsed<JudgmentInput>[] | JudgmentColumns;

export function isColumns(b: ImportBatch): b is JudgmentColumns {
  return !Array.isArray(b);
}

/** What an import of judgments counts as it goes, for its report. */
class JudgmentTally {
  read = 0;
  appended = 0;
  newComparisons = 0;
  duplicates = 0;
  conflicting = 0;
  rejected = 0;
  readonly examples: Duplicate[] = [];
  readonly ignoredFields: Record<string, number> = {};

  ignore(field: string, n = 1): void {
    this.ignoredFields[field] = (this.ignoredFields[field] ?? 0) + n;
  }

  count(r: BatchResult): void {
    this.appended += r.appended;
    this.newComparisons += r.newComparisons;
    this.duplicates += r.duplicates.length;
    for (const d of r.duplicates) {
      if (d.conflicting) this.conflicting++;
      if (this.examples.length < DUPLICATE_EXAMPLES) this.examples.push(d);
    }
  }

  async rejectAll(r: BatchResult, opts: ImportOptions): Promise<void> {
    for (const x of r.rejected) {
      this.rejected++;
      await opts.onReject?.(x.where.line ?? 0, x.error, undefined);
    }
  }

  report(head: LedgerHead): ImportReport {
    return {
      read: this.read,
      appended: this.appended,
      newComparisons: this.newComparisons,
      duplicates: this.duplicates,
      conflictingDuplicates: this.conflicting,
      duplicateExamples: this.examples,
      rejected: this.rejected,
      head,
      ignoredFields: this.ignoredFields,
    };
  }
}

/**
 * Imports judgments all-or-nothing: one transaction; the first invalid line (or conflict)
 * throws and nothing is written — unless `skipInvalid`, which sets such lines aside.
 */
export async function importJudgments(
  dialect: StoreDialect,
  now: () => Date,
  batches: AsyncIterable<ImportBatch>,
  opts: ImportOptions,
): Promise<ImportReport> {
  const skip = opts.skipInvalid ?? false;
  return importTransaction(dialect, opts.source, async (w) => {
    const app = new LedgerAppender(w, now);
    const tally = new JudgmentTally();
    const where = opts.source ? { file: opts.source } : {};
    for await (const b of batches) {
      const r = isColumns(b)
        ? await appendColumns(app, b, where, skip, tally, opts)
        : await appendParsed(app, b, where, skip, tally, opts);
      tally.count(r);
      await tally.rejectAll(r, opts);
      opts.onProgress?.(tally.read);
    }
    return tally.report(await app.finish());
  });
}

/** One batch of a parsing thread's columns. */
async function appendColumns(
  app: LedgerAppender,
  b: JudgmentColumns,
  where: Where,
  skip: boolean,
  tally: JudgmentTally,
  opts: ImportOptions,
): Promise<BatchResult> {
  // Lines that failed to parse come first (they stop an import before its batch).
  tally.read += b.n + b.rejected.length;
  for (const [f, n] of Object.entries(b.ignored ?? {})) tally.ignore(f, n);
  for (const x of b.rejected) {
    const error = reviveKeelError(x.error);
    if (!skip) throw error;
    tally.rejected++;
    await opts.onReject?.(x.line, error, x.raw);
  }
  return app.appendColumns(b, where, skip);
}

/** One batch of parsed records. */
async function appendParsed(
  app: LedgerAppender,
  b: readonly Parsed<JudgmentInput>[],
  where: Where,
  skip: boolean,
  tally: JudgmentTally,
  opts: ImportOptions,
): Promise<BatchResult> {
  const items: AppendItem[] = [];
  for (const p of b) {
    tally.read++;
    if (p.ok) {
      items.push({ input: p.record, where: { ...where, line: p.line } });
      for (const f of p.ignored ?? []) tally.ignore(f);
    } else if (skip) {
      tally.rejected++;
      await opts.onReject?.(p.line, p.error, p.raw);
    } else {
      throw p.error;
    }
  }
  return app.append(items, skip);
}

/**
 * A bulk import's transaction. A judgment of a task its rater skipped in the collection app
 * (migration 0003: a task has one outcome) rolls it back with KEEL_E_DUPLICATE instead of the
 * driver's error.
 */
async function importTransaction<T>(
  dialect: StoreDialect,
  source: string | undefined,
  fn: (w: LedgerWriter) => Promise<T>,
): Promise<T> {
  try {
    return await dialect.writeTransaction(fn, { bulk: true });
  } catch (e) {
    if (refusedOutcome(e) !== "skipped") throw e;
    throw new KeelError(
      "KEEL_E_DUPLICATE",
      "a judgment in this import is of a task its rater skipped in the collection app (a task has one outcome: a judgment or a skip); nothing was imported",
      {
        ...(source ? { where: { file: source } } : {}),
        hint: "remove those judgments from the file, or import into a store that holds no skips",
        cause: e,
      },
    );
  }
}

/** Sets gold answers of stored comparisons, all-or-nothing unless `skipInvalid`. */
export async function importGold(
  dialect: StoreDialect,
  batches: AsyncIterable<Parsed<GoldAnswer>[]>,
  opts: ImportOptions,
): Promise<RecordImportReport> {
  const skip = opts.skipInvalid ?? false;
  return dialect.writeTransaction(async (w) => {
    let read = 0;
    let written = 0;
    let unchanged = 0;
    let rejected = 0;
    const set = new Map<string, Choice>();
    for await (const batch of batches) {
      const found = await w.findComparisons(
        batch.flatMap((p) => (p.ok ? [p.record.comparison_id] : [])),
      );
      const tasks = await w.findProjectTasks(
        batch.flatMap((p) =>
          p.ok && found.get(p.record.comparison_id)?.gold === null ? [p.record.comparison_id] : [],
        ),
      );
      const updates: { comparison_id: string; gold: Choice }[] = [];
      for (const p of batch) {
        read++;
        let error: Error | undefined = p.ok ? undefined : p.error;
        if (p.ok) {
          const id = p.record.comparison_id;
          const where = {
            ...(opts.source ? { file: opts.source } : {}),
            line: p.line,
            field: "comparison_id",
          };
          const current = set.get(id) ?? found.get(id)?.gold;
          if (current === undefined) {
            error = new KeelError(
              "KEEL_E_NOT_FOUND",
              `comparison ${JSON.stringify(id)} is not in the store`,
              { where },
            );
          } else if (current === p.record.gold) {
            unchanged++;
          } else if (current !== null) {
            error = new KeelError(
              "KEEL_E_CONFLICT",
              `gold ${JSON.stringify(p.record.gold)} contradicts the stored gold ${JSON.stringify(current)}`,
              { where: { ...where, field: "gold" } },
            );
          } else if (tasks.has(id)) {
            error = goldForTaskError(id, tasks.get(id)!, where);
          } else {
            set.set(id, p.record.gold);
            updates.push({ comparison_id: id, gold: p.record.gold });
          }
        }
        if (error) {
          if (!skip) throw error;
          rejected++;
          await opts.onReject?.(p.line, error, p.ok ? undefined : p.raw);
        }
      }
      await w.write({ texts: [], comparisons: [], gold: updates, raters: [], judgments: [] });
      written += updates.length;
      opts.onProgress?.(read);
    }
    return { read, written, unchanged, rejected };
  });
}

/** Creates raters or replaces their attributes, all-or-nothing unless `skipInvalid`. */
export async function importRaters(
  dialect: StoreDialect,
  now: () => Date,
  batches: AsyncIterable<Parsed<Rater>[]>,
  opts: ImportOptions,
): Promise<RecordImportReport> {
  const skip = opts.skipInvalid ?? false;
  return dialect.writeTransaction(async (w) => {
    let read = 0;
    let rejected = 0;
    // Raters, not rows: one listed in two batches is one rater written.
    const written = new Set<string>();
    for await (const batch of batches) {
      const rows = new Map<string, { rater_id: string; attributes: string; first_seen: string }>();
      const firstSeen = now().toISOString();
      for (const p of batch) {
        read++;
        if (p.ok) {
          rows.set(p.record.rater_id, {
            rater_id: p.record.rater_id,
            attributes: JSON.stringify(p.record.attributes),
            first_seen: firstSeen,
          });
        } else if (skip) {
          rejected++;
          await opts.onReject?.(p.line, p.error, p.raw);
        } else {
          throw p.error;
        }
      }
      await w.upsertRaters([...rows.values()]);
      for (const id of rows.keys()) written.add(id);
      opts.onProgress?.(read);
    }
    return { read, written: written.size, unchanged: 0, rejected };
  });
}
