/**
 * The feedback store: prompts, responses, comparisons, raters and the judgment ledger, over
 * SQLite (embedded default) or PostgreSQL, with one query layer (Kysely) for both.
 */
import { existsSync } from "node:fs";
import { type Kysely, Migrator, sql } from "kysely";
import { KeelError, reviveKeelError } from "../core/errors.js";
import type {
  Choice,
  GoldAnswer,
  JudgmentColumns,
  LedgerEntry,
  Parsed,
  Rater,
} from "../core/types.js";
import {
  type AppendItem,
  type BatchResult,
  type Duplicate,
  type JudgmentInput,
  LedgerAppender,
} from "./append.js";
import { refusedOutcome } from "./collection/outcome.js";
import type { StoreDialect } from "./dialect.js";
import { checkHoldsStore, checkKeelDatabase } from "./foreign.js";
import { type DialectName, MIGRATION_NAMES, migrationProvider } from "./migrations/index.js";
import { dropSqliteLeftovers } from "./migrations/leftovers.js";
import { openPostgres } from "./postgres/dialect.js";
import {
  type EntryWithoutTexts,
  FIRST_TEXT_PAGE,
  inProject,
  LEDGER_COLUMNS,
  type LedgerPageOptions,
  type ProjectScope,
  parseStored,
  readJudgmentsTextsOnce,
  readLedgerEntries,
  textPageLimit,
} from "./read.js";
import type { Database } from "./schema.js";
import { openSqlite } from "./sqlite/dialect.js";
import { readLedgerHead, sortByRaterId } from "./stats.js";
import {
  checkHead,
  checkRow,
  checkTextsPresent,
  GENESIS_HASH,
  type LedgerBreak,
  type StoredLedgerRow,
  type TextField,
  textEdited,
  textProblem,
  type VerifyReport,
} from "./verify.js";
import type { LedgerHead, LedgerWriter } from "./writer.js";

export interface OpenStoreOptions {
  /**
   * Make a new store where there is none: a new SQLite file, a PostgreSQL schema, an empty
   * database (default false: `keel init` creates stores, and every other opener expects one).
   */
  readonly create?: boolean;
  /** PostgreSQL schema (default: the connection's search_path). */
  readonly schema?: string;
  /** Clock for `recorded_at` (tests pin it). */
  readonly now?: () => Date;
}

export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//i.test(target);
}

/**
 * A `schema` query parameter (`postgres://…/db?schema=keel`, as Prisma and others write it) names
 * the PostgreSQL schema, and is taken out of the URL: the driver would ignore it and the store
 * would silently live in `public`. (`?options=-c search_path=…` works too.)
 */
export function schemaFromUrl(target: string): { url: string; schema?: string } {
  let u: URL;
  try {
    u = new URL(target);
  } catch {
    return { url: target };
  }
  const schema = u.searchParams.get("schema");
  if (schema === null) return { url: target };
  u.searchParams.delete("schema");
  return { url: u.toString(), schema };
}

export async function openStore(
  target: string,
  opts: OpenStoreOptions = {},
): Promise<FeedbackStore> {
  let dialect: StoreDialect;
  // An in-memory database is new by definition.
  const create = (opts.create ?? false) || target === ":memory:";
  if (isPostgresUrl(target)) {
    const { url, schema } = schemaFromUrl(target);
    const chosen = opts.schema ?? schema;
    dialect = await openPostgres({
      url,
      ...(chosen ? { schema: chosen } : {}),
      createSchema: create,
    });
  } else {
    if (!create && !existsSync(target)) {
      throw new KeelError("KEEL_E_STORE", `no keel store at ${target}`, {
        hint: "create one with `keel init` (or pass --db with an existing store's path or a postgres:// URL)",
      });
    }
    dialect = openSqlite({ path: target, mustHoldStore: !create });
  }
  const store = new FeedbackStore(dialect, opts.now ?? (() => new Date()));
  try {
    // SQLite checked this before touching the file; a PostgreSQL schema is only read here.
    if (!create && dialect.name === "postgres") {
      const existing = await dialect.existingSchema();
      checkKeelDatabase(dialect.location, existing);
      checkHoldsStore(`${dialect.location} (schema ${dialect.schema})`, existing);
    }
    store.appliedOnOpen = await store.migrate();
  } catch (e) {
    await dialect.close();
    throw e;
  }
  return store;
}

export type { EntryWithoutTexts, LedgerPageOptions, ProjectScope } from "./read.js";

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

/** Edited texts `verifyLedger` looks for the first judgment of (the earliest names the break). */
const EDITED_TEXTS_LOOKED_UP = 100;

export interface VerifyOptions {
  /** A head hash anchored outside the database (`keel ledger head`, published earlier). */
  readonly expectHead?: string;
  /** Called after each page of judgments with the number checked so far. */
  readonly onProgress?: (rows: number) => void | Promise<void>;
  readonly pageSize?: number;
}

/** A batch to import: parsed records, or a parsing thread's columns (io/packed.ts). */
export type ImportBatch = readonly Parsed<JudgmentInput>[] | JudgmentColumns;

export function isColumns(b: ImportBatch): b is JudgmentColumns {
  return !Array.isArray(b);
}

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
    const existing = await this.dialect.existingSchema();
    checkKeelDatabase(this.location, existing);
    const applied = existing.applied ?? [];
    const unknown = applied.filter((name) => !MIGRATION_NAMES.includes(name));
    if (unknown.length > 0) throw this.newerStore(`it has migrations ${unknown.join(", ")}`);
    if (MIGRATION_NAMES.every((name) => applied.includes(name))) return [];
    const migrator = new Migrator({
      db: this.dialect.db,
      provider: migrationProvider(this.dialect.name),
      // Kysely looks its bookkeeping tables up by name across schemas; pin them to ours.
      ...(this.dialect.schema ? { migrationTableSchema: this.dialect.schema } : {}),
    });
    const results = await this.dialect.migrationTransaction(async () => {
      // A keel before 2026-12-06 could leave a SQLite store half-way through a migration.
      if (this.dialect.name === "sqlite") await dropSqliteLeftovers(this.dialect.db);
      const { error, results } = await migrator.migrateToLatest();
      if (!error) return results ?? [];
      const msg = error instanceof Error ? error.message : String(error);
      // Kysely's own words for a record of migrations this keel does not have.
      if (/^corrupted migrations/.test(msg)) throw this.newerStore(msg);
      // A migration's own refusal keeps its code and its advice.
      const own = error instanceof KeelError ? error : undefined;
      throw new KeelError(
        own?.code ?? "KEEL_E_STORE",
        `migrating the store at ${this.location} failed (it was left as it was): ${msg}`,
        { cause: error, ...(own?.hint ? { hint: own.hint } : {}) },
      );
    });
    return results.filter((r) => r.status === "Success").map((r) => r.migrationName);
  }

  private newerStore(detail: string): KeelError {
    return new KeelError(
      "KEEL_E_STORE_SCHEMA",
      `the store at ${this.location} was migrated by a newer keel: ${detail}`,
      { hint: "upgrade keel" },
    );
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
    const skip = opts.skipInvalid ?? false;
    return this.importTransaction(opts.source, async (w) => {
      const app = new LedgerAppender(w, this.now);
      let read = 0;
      let appended = 0;
      let newComparisons = 0;
      let duplicates = 0;
      let conflicting = 0;
      let rejected = 0;
      const examples: Duplicate[] = [];
      const ignoredFields: Record<string, number> = {};
      const ignore = (field: string, n = 1) => {
        ignoredFields[field] = (ignoredFields[field] ?? 0) + n;
      };
      const where = opts.source ? { file: opts.source } : {};
      const count = (r: BatchResult) => {
        appended += r.appended;
        newComparisons += r.newComparisons;
        duplicates += r.duplicates.length;
        for (const d of r.duplicates) {
          if (d.conflicting) conflicting++;
          if (examples.length < DUPLICATE_EXAMPLES) examples.push(d);
        }
      };
      const rejectAll = async (r: BatchResult) => {
        for (const x of r.rejected) {
          rejected++;
          await opts.onReject?.(x.where.line ?? 0, x.error, undefined);
        }
      };
      for await (const b of batches) {
        if (isColumns(b)) {
          // Lines that failed to parse come first (they stop an import before its batch).
          read += b.n + b.rejected.length;
          for (const [f, n] of Object.entries(b.ignored ?? {})) ignore(f, n);
          for (const x of b.rejected) {
            const error = reviveKeelError(x.error);
            if (!skip) throw error;
            rejected++;
            await opts.onReject?.(x.line, error, x.raw);
          }
          const r = await app.appendColumns(b, where, skip);
          count(r);
          await rejectAll(r);
          opts.onProgress?.(read);
          continue;
        }
        const items: AppendItem[] = [];
        for (const p of b) {
          read++;
          if (p.ok) {
            items.push({ input: p.record, where: { ...where, line: p.line } });
            for (const f of p.ignored ?? []) ignore(f);
          } else if (skip) {
            rejected++;
            await opts.onReject?.(p.line, p.error, p.raw);
          } else {
            throw p.error;
          }
        }
        const r = await app.append(items, skip);
        count(r);
        await rejectAll(r);
        opts.onProgress?.(read);
      }
      const head = await app.finish();
      return {
        read,
        appended,
        newComparisons,
        duplicates,
        conflictingDuplicates: conflicting,
        duplicateExamples: examples,
        rejected,
        head,
        ignoredFields,
      };
    });
  }

  /**
   * A bulk import's transaction. A judgment of a task its rater skipped in the collection app
   * (migration 0003: a task has one outcome) rolls it back with KEEL_E_DUPLICATE instead of the
   * driver's error.
   */
  private async importTransaction<T>(
    source: string | undefined,
    fn: (w: LedgerWriter) => Promise<T>,
  ): Promise<T> {
    try {
      return await this.dialect.writeTransaction(fn, { bulk: true });
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

  /** Appends judgments in one transaction (the server's path); duplicates are reported. */
  async appendJudgments(
    inputs: readonly JudgmentInput[],
  ): Promise<BatchResult & { head: LedgerHead }> {
    return this.dialect.writeTransaction(async (w) => {
      const app = new LedgerAppender(w, this.now);
      const r = await app.append(
        inputs.map((input, i) => ({
          input,
          where: { id: `${input.comparison_id}/${input.rater_id}`, line: i + 1 },
        })),
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
    const skip = opts.skipInvalid ?? false;
    return this.dialect.writeTransaction(async (w) => {
      let read = 0;
      let written = 0;
      let unchanged = 0;
      let rejected = 0;
      const set = new Map<string, Choice>();
      for await (const batch of batches) {
        const found = await w.findComparisons(
          batch.flatMap((p) => (p.ok ? [p.record.comparison_id] : [])),
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
  async importRaters(
    batches: AsyncIterable<Parsed<Rater>[]>,
    opts: ImportOptions = {},
  ): Promise<RecordImportReport> {
    const skip = opts.skipInvalid ?? false;
    return this.dialect.writeTransaction(async (w) => {
      let read = 0;
      let rejected = 0;
      // Raters, not rows: one listed in two batches is one rater written.
      const written = new Set<string>();
      for await (const batch of batches) {
        const rows = new Map<
          string,
          { rater_id: string; attributes: string; first_seen: string }
        >();
        const firstSeen = this.now().toISOString();
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
    return this.readSnapshot((trx) => this.verifyIn(trx, opts));
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

  private async verifyIn(db: Kysely<Database>, opts: VerifyOptions): Promise<VerifyReport> {
    const pageSize = opts.pageSize ?? 10_000;
    const recordedHead = await readLedgerHead(db);
    let texts = 0;
    const edited = new Map<string, string>(); // digest → what is wrong with it
    let afterDigest = "";
    let limit = Math.min(pageSize, FIRST_TEXT_PAGE);
    for (;;) {
      const rows = await db
        .selectFrom("texts")
        .select(["digest", "body", "is_chat"])
        .where("digest", ">", afterDigest)
        .orderBy("digest")
        .limit(limit)
        .execute();
      let chars = 0;
      for (const t of rows) {
        texts++;
        chars += t.body.length;
        if (edited.size >= EDITED_TEXTS_LOOKED_UP) continue;
        const problem = textProblem(t.digest, t.body, t.is_chat);
        if (problem !== undefined) edited.set(t.digest, problem);
      }
      if (rows.length < limit) break;
      afterDigest = rows[rows.length - 1]!.digest;
      limit = textPageLimit(rows.length, chars, pageSize);
    }
    let seq = 0;
    let hash = GENESIS_HASH;
    let hashAtRecorded = recordedHead.seq === 0 ? GENESIS_HASH : undefined;
    let count = 0;
    let after = 0;
    let rowBreak: LedgerBreak | undefined;
    // The anchored head was the head when it was published: the chain must pass through it,
    // and may have grown since.
    let anchoredAt: number | undefined = opts.expectHead === GENESIS_HASH ? 0 : undefined;
    outer: for (;;) {
      const rows = await db
        .selectFrom("judgments as j")
        .leftJoin("comparisons as c", "c.comparison_id", "j.comparison_id")
        .leftJoin("texts as p", "p.digest", "c.prompt_digest")
        .leftJoin("texts as ta", "ta.digest", "c.a_digest")
        .leftJoin("texts as tb", "tb.digest", "c.b_digest")
        .select([
          ...LEDGER_COLUMNS,
          "c.prompt_digest",
          "c.a_digest",
          "c.b_digest",
          "p.digest as prompt_found",
          "ta.digest as a_found",
          "tb.digest as b_found",
        ])
        .where("j.seq", ">", after)
        .orderBy("j.seq")
        .limit(pageSize)
        .execute();
      for (const r of rows) {
        count++;
        const stored: StoredLedgerRow = {
          ...r,
          seq: Number(r.seq),
          prompt: r.prompt_digest ?? "",
          response_a: r.a_digest ?? "",
          response_b: r.b_digest ?? "",
        };
        const res = checkRow(stored, seq + 1, hash);
        if ("break" in res) {
          rowBreak =
            res.break.kind === "edited" && r.prompt_digest === null
              ? {
                  ...res.break,
                  message: `row ${stored.seq}: its comparison ${JSON.stringify(r.comparison_id)} is missing from the store (deleted)`,
                }
              : res.break;
          break outer;
        }
        // The hash covers the digests; a text deleted from under them would make exports drop
        // the judgment without a word.
        rowBreak = checkTextsPresent(stored, [r.prompt_found, r.a_found, r.b_found]);
        if (rowBreak) break outer;
        seq = stored.seq;
        hash = res.hash;
        if (seq === recordedHead.seq) hashAtRecorded = hash;
        if (anchoredAt === undefined && hash === opts.expectHead) anchoredAt = seq;
      }
      await opts.onProgress?.(count);
      if (rows.length < pageSize) break;
      after = Number(rows[rows.length - 1]!.seq);
    }
    const textBreak = edited.size > 0 ? await firstTextBreak(db, edited) : undefined;
    // The break in the earliest row; an edited text no judgment refers to comes after any row's.
    let firstBreak =
      textBreak === undefined ||
      (rowBreak !== undefined && (textBreak.seq === 0 || rowBreak.seq <= textBreak.seq))
        ? rowBreak
        : textBreak;
    firstBreak ??= checkHead(seq, hash, recordedHead, hashAtRecorded);
    if (!firstBreak && opts.expectHead !== undefined && anchoredAt === undefined) {
      firstBreak = {
        kind: "head-mismatch",
        seq,
        message: `the anchored head ${opts.expectHead} is not in the chain (which ends at row ${seq}, hash ${hash}): the ledger was rewritten up to the anchor, or it is another ledger`,
      };
    }
    return {
      ok: firstBreak === undefined,
      rows: count,
      texts,
      head: { seq, hash },
      recordedHead,
      ...(anchoredAt !== undefined ? { anchoredAt } : {}),
      ...(firstBreak ? { firstBreak } : {}),
    };
  }

  /** Runs raw SQL (tests use it to tamper with the ledger; tools for maintenance). */
  async rawExecute(statement: string): Promise<void> {
    await sql.raw(statement).execute(this.db);
  }
}

/** The edited texts' break: at the first judgment that refers to one of them, if any does. */
async function firstTextBreak(
  db: Kysely<Database>,
  edited: ReadonlyMap<string, string>,
): Promise<LedgerBreak> {
  const digests = [...edited.keys()];
  const use = await db
    .selectFrom("judgments as j")
    .innerJoin("comparisons as c", "c.comparison_id", "j.comparison_id")
    .select(["j.seq", "j.comparison_id", "c.prompt_digest", "c.a_digest", "c.b_digest"])
    .where((eb) =>
      eb.or([
        eb("c.prompt_digest", "in", digests),
        eb("c.a_digest", "in", digests),
        eb("c.b_digest", "in", digests),
      ]),
    )
    .orderBy("j.seq")
    .limit(1)
    .executeTakeFirst();
  if (use === undefined) return textEdited(digests[0]!, edited.get(digests[0]!)!);
  const fields: [TextField, string][] = [
    ["prompt", use.prompt_digest],
    ["response_a", use.a_digest],
    ["response_b", use.b_digest],
  ];
  const [field, digest] = fields.find(([, d]) => edited.has(d))!;
  return textEdited(digest, edited.get(digest)!, {
    seq: Number(use.seq),
    comparison_id: use.comparison_id,
    field,
  });
}
