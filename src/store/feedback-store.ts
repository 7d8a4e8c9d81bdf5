/**
 * `FeedbackStore`: one opened store (store.ts opens it) over its dialect. Reads go through the
 * shared Kysely query layer (read.ts, stats.ts); writes through the dialect's write transaction
 * and the ledger appender (append.ts); bulk imports, migrations and the ledger walk live in
 * bulk-import.ts, migrate.ts and verify-walk.ts, which these methods call.
 */
import { type Kysely, sql } from "kysely";
import type { GoldAnswer, LedgerEntry, Parsed, Rater } from "../core/types.js";
import { type BatchResult, type JudgmentInput, LedgerAppender } from "./append.js";
import {
  type ImportBatch,
  type ImportOptions,
  type ImportReport,
  importGold,
  importJudgments,
  importRaters,
  type RecordImportReport,
} from "./bulk-import.js";
import type { StoreDialect } from "./dialect.js";
import { migrateStore } from "./migrate.js";
import type { DialectName } from "./migrations/index.js";
import {
  type EntryWithoutTexts,
  inProject,
  type LedgerPageOptions,
  type ProjectScope,
  parseStored,
  readJudgmentsTextsOnce,
  readLedgerEntries,
} from "./read.js";
import type { Database } from "./schema.js";
import { readLedgerHead, sortByRaterId } from "./stats.js";
import type { VerifyReport } from "./verify.js";
import { type VerifyOptions, verifyIn } from "./verify-walk.js";
import type { LedgerHead } from "./writer.js";

export class FeedbackStore {
  /** Migrations applied when the store was opened (empty when it was up to date). */
  appliedOnOpen: string[] = [];

  constructor(
    private readonly dialect: StoreDialect,
    private readonly now: () => Date,
  ) {}

  get dialectName(): DialectName {
    return this.dialect.name;
  }

  get location(): string {
    return this.dialect.location;
  }

  /** The PostgreSQL schema the store lives in (undefined for SQLite). */
  get schema(): string | undefined {
    return this.dialect.schema;
  }

  /** The SQLite file on disk, if the store is one (outputs must never be written over it). */
  get filePath(): string | undefined {
    return this.dialect.name === "sqlite" && this.location !== ":memory:"
      ? this.location
      : undefined;
  }

  /** The Kysely instance, for read queries in other modules (server, audit). */
  get db() {
    return this.dialect.db;
  }

  /**
   * Applies pending migrations, all or none; a store newer than this keel is an error, and so
   * is a non-empty database that keel did not create (see foreign.ts).
   */
  async migrate(): Promise<string[]> {
    return migrateStore(this.dialect);
  }

  async close(): Promise<void> {
    await this.dialect.close();
  }

  /**
   * Imports judgments all-or-nothing: one transaction; the first invalid line (or conflict)
   * throws and nothing is written — unless `skipInvalid`, which sets such lines aside.
   */
  async importJudgments(
    batches: AsyncIterable<ImportBatch>,
    opts: ImportOptions = {},
  ): Promise<ImportReport> {
    return importJudgments(this.dialect, this.now, batches, opts);
  }

  /**
   * Appends judgments in one transaction (the server's path); duplicates are reported, with
   * `where.line` the input's 1-based index. `admit`, run first in that transaction (holding the
   * ledger head), names the inputs to leave out: the collection server checks there that each
   * rater may still judge and each comparison still wants a judgment, so no change committed
   * in between can slip past the checks it made before.
   */
  async appendJudgments(
    inputs: readonly JudgmentInput[],
    opts: { readonly admit?: (tx: Kysely<Database>) => Promise<ReadonlySet<number>> } = {},
  ): Promise<BatchResult & { head: LedgerHead }> {
    return this.dialect.writeTransaction(async (w, tx) => {
      const refused = opts.admit ? await opts.admit(tx) : new Set<number>();
      const app = new LedgerAppender(w, this.now);
      const r = await app.append(
        inputs.flatMap((input, i) =>
          refused.has(i)
            ? []
            : [{ input, where: { id: `${input.comparison_id}/${input.rater_id}`, line: i + 1 } }],
        ),
        false,
      );
      return { ...r, head: await app.finish() };
    });
  }

  /** Sets gold answers of stored comparisons, all-or-nothing unless `skipInvalid`. */
  async importGold(
    batches: AsyncIterable<Parsed<GoldAnswer>[]>,
    opts: ImportOptions = {},
  ): Promise<RecordImportReport> {
    return importGold(this.dialect, batches, opts);
  }

  /** Creates raters or replaces their attributes, all-or-nothing unless `skipInvalid`. */
  async importRaters(
    batches: AsyncIterable<Parsed<Rater>[]>,
    opts: ImportOptions = {},
  ): Promise<RecordImportReport> {
    return importRaters(this.dialect, this.now, batches, opts);
  }

  /** The head recorded in the store (updated in the same transaction as every append). */
  ledgerHead(): Promise<LedgerHead> {
    return readLedgerHead(this.db);
  }

  /** Judgments in the store, or of one collection project's items. */
  async countJudgments(opts: ProjectScope = {}): Promise<number> {
    let q = this.db.selectFrom("judgments").select((eb) => eb.fn.countAll<number>().as("n"));
    if (opts.project !== undefined) q = q.where(inProject("comparison_id", opts));
    const r = await q.executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /**
   * Judgments in ledger order, texts included, fetched in pages of `pageSize`; with `project`,
   * those of one collection project's items only (a project's live audit and export read their
   * own judgments, not the whole ledger).
   */
  judgments(opts: LedgerPageOptions = {}): AsyncGenerator<LedgerEntry> {
    return readLedgerEntries(this.db, false, opts);
  }

  /**
   * Each comparison's first judgment (the lowest seq), in ledger order, texts included: one
   * entry per comparison, for exports that write one row per comparison — a store of a million
   * judgments of 250,000 comparisons reads a quarter of the rows and texts.
   */
  firstJudgments(opts: LedgerPageOptions = {}): AsyncGenerator<LedgerEntry> {
    return readLedgerEntries(this.db, true, opts);
  }

  /**
   * `judgments`, except that a comparison's texts come with its first judgment only: the later
   * ones are `EntryWithoutTexts` (the store fixes a comparison's texts by its row, so they are
   * the same). Each comparison's texts are read once, in batches of new comparisons, not with
   * every judgment: at a million judgments of 250,000 comparisons, reading three texts a
   * judgment (random pages) was most of `keel audit`'s and `keel aggregate`'s read.
   */
  judgmentsTextsOnce(
    opts: LedgerPageOptions = {},
  ): AsyncGenerator<LedgerEntry | EntryWithoutTexts> {
    return readJudgmentsTextsOnce(this.db, opts);
  }

  /** Comparisons that have at least one judgment (of one collection project's items). */
  async countJudgedComparisons(opts: ProjectScope = {}): Promise<number> {
    let q = this.db
      .selectFrom("judgments")
      .select(sql<number>`count(distinct comparison_id)`.as("n"));
    if (opts.project !== undefined) q = q.where(inProject("comparison_id", opts));
    const r = await q.executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** Rater records with their attributes. */
  async raters(): Promise<Rater[]> {
    const rows = await this.db.selectFrom("raters").select(["rater_id", "attributes"]).execute();
    return sortByRaterId(rows).map((r) => ({
      rater_id: r.rater_id,
      attributes: parseStored(
        r.attributes,
        `rater ${JSON.stringify(r.rater_id)}: attributes`,
        false,
      ) as Record<string, string>,
    }));
  }

  /**
   * Walks the whole ledger and every stored text; reports the first broken link. With
   * `expectHead`, also checks that the chain passes through that hash (a head anchored outside
   * the database when it was the head; rows appended since are fine).
   * The walk reads one snapshot, the store as it was when it began: judgments that other
   * processes append meanwhile are neither read nor taken for rows appended outside keel.
   */
  async verifyLedger(opts: VerifyOptions = {}): Promise<VerifyReport> {
    return this.readSnapshot((trx) => verifyIn(trx, opts));
  }

  /**
   * Runs reads on one snapshot of the store, so that what they count agrees with itself while
   * other processes append (PostgreSQL: a read-only repeatable-read transaction; SQLite in WAL
   * mode: a read transaction keeps its first read's snapshot).
   */
  async readSnapshot<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    // A view made by `inSnapshot` reads its snapshot already.
    if (this.db.isTransaction) return fn(this.db);
    const tx =
      this.dialect.name === "postgres"
        ? this.db.transaction().setIsolationLevel("repeatable read").setAccessMode("read only")
        : this.db.transaction();
    return tx.execute(fn);
  }

  /**
   * Runs `fn` on a view of the store that reads one snapshot (see `readSnapshot`), for a reader
   * that counts and then pages through the ledger while other processes may append: `keel
   * export` said "from 20000 judgments" and wrote 21,000 rows when an import committed during
   * its pages. The view is for reading; on SQLite, the store itself must not be used until
   * `fn` returns (the view holds its one connection).
   */
  async inSnapshot<T>(fn: (view: FeedbackStore) => Promise<T>): Promise<T> {
    return this.readSnapshot((db) => fn(new FeedbackStore({ ...this.dialect, db }, this.now)));
  }

  /** Runs raw SQL (tests use it to tamper with the ledger; tools for maintenance). */
  async rawExecute(statement: string): Promise<void> {
    await sql.raw(statement).execute(this.db);
  }
}
