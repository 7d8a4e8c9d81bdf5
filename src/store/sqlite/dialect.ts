/**
 * SQLite through better-sqlite3: the embedded default, one file, WAL journal, synchronous=FULL
 * (an acknowledged judgment survives a power cut, not only a crash). Kysely's SQLite driver
 * owns the single connection behind a mutex; write transactions take that connection and run
 * prepared statements directly on it (BEGIN IMMEDIATE … COMMIT), which is what lets a bulk
 * import reach hundreds of thousands of rows a second.
 */
import { type Stats, statSync } from "node:fs";
import Database from "better-sqlite3";
import { Kysely, type SqliteDatabase, SqliteDialect, type SqliteStatement } from "kysely";
import { KeelError } from "../../core/errors.js";
import type { Choice } from "../../core/types.js";
import { BUSY_TIMEOUT_MS, type StoreDialect, storeBusy } from "../dialect.js";
import {
  checkHoldsStore,
  checkKeelDatabase,
  type ExistingSchema,
  MIGRATION_TABLE,
} from "../foreign.js";
import type { Database as Schema } from "../schema.js";
import {
  type ComparisonRow,
  type LedgerHead,
  type LedgerWriter,
  pairKey,
  type WriteBatch,
} from "../writer.js";

export interface SqliteOptions {
  readonly path: string;
  readonly readonly?: boolean;
  /** Refuse a file that holds no keel store yet (empty or new) instead of making it one. */
  readonly mustHoldStore?: boolean;
  /**
   * A bulk import defers the secondary indexes once it has appended this many judgments and
   * more than the store held (default `DEFER_INDEXES_AFTER`; tests lower it).
   */
  readonly deferIndexesAfter?: number;
  /** How long a write waits for another connection's lock (default `BUSY_TIMEOUT_MS`). */
  readonly busyTimeoutMs?: number;
}

/** How long a write waits for another connection's write lock before giving up. */

export function openSqlite(opts: SqliteOptions): StoreDialect {
  const busyTimeout = opts.busyTimeoutMs ?? BUSY_TIMEOUT_MS;
  let raw: Database.Database;
  try {
    raw = new Database(opts.path, { readonly: opts.readonly ?? false, fileMustExist: false });
  } catch (e) {
    throw cannotOpen(e, opts.path);
  }
  try {
    raw.pragma(`busy_timeout = ${busyTimeout}`);
    // Before anything changes the file (WAL mode is recorded in it): another application's
    // database is left exactly as it was.
    const existing = existingSchema(raw);
    checkKeelDatabase(opts.path, existing);
    if (opts.mustHoldStore) checkHoldsStore(opts.path, existing);
    if (!opts.readonly) {
      // 8 KiB pages for a new file (the page size is fixed once the first table exists, and
      // before WAL mode): fewer page splits on the ledger's random-key indexes (measured ~5%).
      raw.pragma("page_size = 8192");
      raw.pragma("journal_mode = WAL");
      raw.pragma("synchronous = FULL");
    }
    raw.pragma("foreign_keys = ON");
    // 64 MiB of page cache: index inserts on random keys (digests) stay in memory.
    raw.pragma("cache_size = -65536");
  } catch (e) {
    raw.close();
    if (e instanceof KeelError) throw e;
    throw cannotOpen(e, opts.path);
  }
  const db = new Kysely<Schema>({
    dialect: new SqliteDialect({ database: translatingErrors(raw, opts.path, busyTimeout) }),
  });
  const deferAfter = opts.deferIndexesAfter ?? DEFER_INDEXES_AFTER;
  return {
    name: "sqlite",
    db,
    location: opts.path,
    async writeTransaction<T>(
      fn: (w: LedgerWriter) => Promise<T>,
      o: { bulk?: boolean } = {},
    ): Promise<T> {
      return db.connection().execute(async () => {
        // A bulk import skips SQLite's per-row foreign-key lookups: the ledger writer inserts
        // texts, then comparisons, then raters, then judgments, each referring only to rows
        // written or read in this same transaction. (The pragma cannot change inside one.)
        if (o.bulk) raw.pragma("foreign_keys = OFF");
        try {
          beginImmediate(raw, opts.path, busyTimeout);
          try {
            const writer = new SqliteWriter(raw, {
              deferIndexesAfter: o.bulk ? deferAfter : Number.POSITIVE_INFINITY,
              bulk: o.bulk ?? false,
            });
            const result = await fn(writer);
            writer.restoreIndexes();
            raw.exec("COMMIT");
            return result;
          } catch (e) {
            if (raw.inTransaction) raw.exec("ROLLBACK");
            throw storeError(e, opts.path, busyTimeout);
          }
        } finally {
          if (o.bulk) raw.pragma("foreign_keys = ON");
        }
      });
    },
    existingSchema: async () => existingSchema(raw),
    async migrationTransaction<T>(fn: () => Promise<T>): Promise<T> {
      // Kysely's migrator takes the connection itself, so the transaction is opened here, on it,
      // without the driver's mutex; nothing else runs on this connection while a store opens.
      beginImmediate(raw, opts.path, busyTimeout);
      try {
        const result = await fn();
        raw.exec("COMMIT");
        return result;
      } catch (e) {
        if (raw.inTransaction) raw.exec("ROLLBACK");
        throw storeError(e, opts.path, busyTimeout);
      }
    },
    async close() {
      await db.destroy();
    },
  };
}

/**
 * Why a path did not open as a database. better-sqlite3 reads the header lazily, so a file that
 * is not SQLite opens and fails at the first statement; SQLite says "unable to open database
 * file" alike for a directory and for a WAL store whose -shm and -wal files cannot be made
 * beside it (a read-only directory or mount).
 */
function cannotOpen(e: unknown, path: string): KeelError {
  const message = (e as Error).message;
  const code = (e as { code?: unknown }).code;
  let stat: Stats | undefined;
  try {
    stat = statSync(path);
  } catch {
    // a new file in a missing directory: SQLite's own words say so
  }
  if (stat?.isDirectory()) {
    return new KeelError("KEEL_E_STORE", "cannot open SQLite database: it is a directory", {
      where: { file: path },
      hint: "--db takes a keel store's file (made by keel init), say DIR/keel.db, or a postgres:// URL",
      cause: e,
    });
  }
  if (typeof code === "string" && /^SQLITE_(FULL|IOERR)/.test(code)) {
    // A full device: a WAL store cannot even be read then, as SQLite must make its -shm file.
    return new KeelError(
      "KEEL_E_STORE",
      `cannot open SQLite database: ${message} (${code}: no room, or a failing disk, on the device that holds it; a keel store keeps its -wal and -shm files beside it)`,
      {
        where: { file: path },
        hint: "free space on that device (or check it for errors), then run the command again",
        cause: e,
      },
    );
  }
  if (stat && typeof code === "string" && code.startsWith("SQLITE_CANTOPEN")) {
    return new KeelError(
      "KEEL_E_STORE",
      `cannot open SQLite database: ${message} (a keel store keeps its -wal and -shm files beside it: the directory must be writable, or those files already there)`,
      {
        where: { file: path },
        hint: "copy the store to a writable directory to read it, or check the permissions of the file and its directory",
        cause: e,
      },
    );
  }
  return new KeelError("KEEL_E_STORE", `cannot open SQLite database: ${message}`, {
    where: { file: path },
    ...(stat
      ? { hint: "--db takes a keel store (a SQLite file made by keel init) or a postgres:// URL" }
      : {}),
    cause: e,
  });
}

function existingSchema(raw: Database.Database): ExistingSchema {
  const tables = raw
    .prepare<[], { name: string }>(
      "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    )
    .all()
    .map((r) => r.name);
  if (!tables.includes(MIGRATION_TABLE)) return { tables, applied: undefined };
  const applied = raw.prepare<[], { name: string }>(`SELECT name FROM "${MIGRATION_TABLE}"`).all();
  return { tables, applied: applied.map((m) => m.name) };
}

/**
 * Takes the write lock. Another connection holding it longer than the busy timeout (another
 * import, say) is KEEL_E_STORE, not an internal error: nothing was written, and trying again
 * later works.
 */
function beginImmediate(raw: Database.Database, path: string, busyTimeout: number): void {
  try {
    raw.exec("BEGIN IMMEDIATE");
  } catch (e) {
    throw storeError(e, path, busyTimeout);
  }
}

/**
 * SQLite's refusals that are about the store's state, not keel's logic, as KEEL_E_STORE naming
 * the file: the write lock held by another connection past the busy timeout, and a store that
 * cannot be written (a file or directory without write permission, a read-only mount): SQLite
 * then opens it read-only without a word, reading works, and the first write fails. Anything
 * else (constraint and trigger errors that callers look at) is passed through unchanged.
 */
function storeError(e: unknown, path: string, busyTimeout: number): unknown {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return e;
  if (/^SQLITE_(BUSY|LOCKED)/.test(code)) {
    return storeBusy(path, busyTimeout, e);
  }
  if (/^SQLITE_READONLY/.test(code)) {
    return new KeelError(
      "KEEL_E_STORE",
      `the store cannot be written: ${(e as Error).message} (the file, or the directory it is in, is read-only to this user)`,
      {
        where: { file: path },
        hint: "reading commands (stats, ledger verify, export) work on it; to write, give this user write permission on the file and its directory",
        cause: e,
      },
    );
  }
  // A full disk (or quota) reaches SQLite as SQLITE_FULL, a failing disk as SQLITE_IOERR_*:
  // the write fails (SQLITE_FULL rolls its transaction back, the store stays as it was), and
  // only the machine can change that, not keel's logic.
  if (/^SQLITE_FULL/.test(code)) {
    return new KeelError(
      "KEEL_E_STORE",
      `the store cannot grow: ${(e as Error).message} (no space left on the device that holds it, or a size limit); nothing of this write was stored`,
      {
        where: { file: path },
        hint: "free space on that device (the store needs room for its -wal file too), then run the command again",
        cause: e,
      },
    );
  }
  if (/^SQLITE_IOERR/.test(code)) {
    return new KeelError(
      "KEEL_E_STORE",
      `the store's file could not be read or written: ${(e as Error).message} (${code}); the write was not completed`,
      {
        where: { file: path },
        hint: "check the device that holds it (space, errors in the system log), then run the command again",
        cause: e,
      },
    );
  }
  return e;
}

/**
 * The connection as Kysely's driver sees it, with `storeError`'s translation on every
 * statement: the collection's writes and the readers go through Kysely, not the ledger writer.
 */
function translatingErrors(
  raw: Database.Database,
  path: string,
  busyTimeout: number,
): SqliteDatabase {
  const guard = <T>(run: () => T): T => {
    try {
      return run();
    } catch (e) {
      throw storeError(e, path, busyTimeout);
    }
  };
  return {
    close: () => raw.close(),
    prepare(sql: string): SqliteStatement {
      const stmt = guard(() => raw.prepare(sql));
      return {
        reader: stmt.reader,
        // Positional parameters as one array, as Kysely's driver passes them.
        all: (p) => guard(() => stmt.all(p as unknown[])),
        run: (p) => guard(() => stmt.run(p as unknown[])),
        iterate: (p) => guard(() => stmt.iterate(p as unknown[])),
      };
    },
  };
}

function prepareStatements(raw: Database.Database) {
  return {
    head: raw.prepare<[], LedgerHead>("SELECT seq, hash FROM ledger_head WHERE id = 1"),
    setHead: raw.prepare<[number, string]>("UPDATE ledger_head SET seq = ?, hash = ? WHERE id = 1"),
    comparison: raw.prepare<[string], ComparisonRow>(
      "SELECT comparison_id, prompt_digest, a_digest, b_digest, gold FROM comparisons WHERE comparison_id = ?",
    ),
    pair: raw.prepare<[string, string], { choice: Choice }>(
      "SELECT choice FROM judgments WHERE comparison_id = ? AND rater_id = ?",
    ),
    text: raw.prepare("INSERT OR IGNORE INTO texts (digest, body, is_chat) VALUES (?, ?, ?)"),
    insertComparison: raw.prepare(
      "INSERT INTO comparisons (comparison_id, prompt_digest, a_digest, b_digest, gold) VALUES (?, ?, ?, ?, ?)",
    ),
    gold: raw.prepare("UPDATE comparisons SET gold = ? WHERE comparison_id = ?"),
    rater: raw.prepare(
      "INSERT OR IGNORE INTO raters (rater_id, attributes, first_seen) VALUES (?, '{}', ?)",
    ),
    upsertRater: raw.prepare(
      "INSERT INTO raters (rater_id, attributes, first_seen) VALUES (?, ?, ?) " +
        "ON CONFLICT (rater_id) DO UPDATE SET attributes = excluded.attributes",
    ),
    judgment: raw.prepare(
      "INSERT INTO judgments (seq, comparison_id, rater_id, choice, created_at, latency_ms, shown_order, " +
        "rationale, flags, recorded_at, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ),
  };
}

/** Prepared once per connection: preparing costs more than running a small statement. */
const statementCache = new WeakMap<Database.Database, ReturnType<typeof prepareStatements>>();

/**
 * Secondary indexes that no ledger write reads (the writer looks comparisons up by primary key
 * and pairs by the unique (comparison_id, rater_id) constraint). A bulk import that outgrows
 * what the store held drops them and builds them again before it commits: one sort instead of
 * a random B-tree insert per row (measured on 1M judgments: 2.3 s of the database's 13.4 s).
 */
export const DEFERRABLE_INDEXES = ["comparisons_prompt", "judgments_rater"] as const;

/** Migration 0003's check of each new judgment against the rater's skips. */
const SKIP_TRIGGER = "judgments_not_skipped";

/** A bulk import defers those indexes once it has appended at least this many judgments… */
export const DEFER_INDEXES_AFTER = 100_000;

/** The ledger writer of one SQLite write transaction (exported for the dialect's tests). */
export class SqliteWriter implements LedgerWriter {
  readonly head: LedgerHead;
  private readonly s: ReturnType<typeof prepareStatements>;
  private appended = 0;
  /** The definitions of the indexes this transaction dropped, to build again before COMMIT. */
  private dropped: string[] | undefined;
  /** The skip trigger's definition, when this transaction dropped it (see constructor). */
  private droppedTrigger: string | undefined;
  readonly remote = false;

  constructor(
    private readonly raw: Database.Database,
    private readonly opts: { readonly deferIndexesAfter: number; readonly bulk?: boolean },
  ) {
    let s = statementCache.get(raw);
    if (!s) {
      s = prepareStatements(raw);
      statementCache.set(raw, s);
    }
    this.s = s;
    const head = this.s.head.get();
    if (!head) throw new KeelError("KEEL_E_STORE_SCHEMA", "the ledger_head row is missing");
    this.head = head;
    if (opts.bulk) this.maybeDropSkipTrigger();
  }

  /**
   * A bulk import into a store with no skips (every store but a collection app's) drops the
   * trigger that checks each judgment against the skips (migration 0003) and creates it again
   * before COMMIT: with no skip in the store and this transaction holding the only write lock,
   * none can exist while it runs, and the per-row lookup cost about 1.3 µs a judgment.
   */
  private maybeDropSkipTrigger(): void {
    if (this.raw.prepare("SELECT 1 FROM skips LIMIT 1").get() !== undefined) return;
    const def = this.raw
      .prepare<[string], { sql: string | null }>(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
      )
      .get(SKIP_TRIGGER)?.sql;
    if (!def) return;
    this.raw.exec(`DROP TRIGGER "${SKIP_TRIGGER}"`);
    this.droppedTrigger = def;
  }

  /**
   * …and more than the store held when it began (the head's seq counts the stored judgments),
   * so rebuilding costs about as much as the import's own rows would have. Dropping inside the
   * transaction keeps it atomic: a rollback brings the indexes back, and readers of the WAL
   * keep their snapshot.
   */
  private maybeDeferIndexes(): void {
    if (this.dropped !== undefined) return;
    if (this.appended < this.opts.deferIndexesAfter || this.appended <= this.head.seq) return;
    const defs: string[] = [];
    const find = this.raw.prepare<[string], { sql: string | null }>(
      "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
    );
    for (const name of DEFERRABLE_INDEXES) {
      const sql = find.get(name)?.sql;
      if (!sql) continue; // a store whose schema lacks it has nothing to rebuild
      defs.push(sql);
      this.raw.exec(`DROP INDEX "${name}"`);
    }
    this.dropped = defs;
  }

  /** Builds the indexes (and the trigger) this transaction dropped; called before COMMIT. */
  restoreIndexes(): void {
    if (this.droppedTrigger !== undefined) {
      this.raw.exec(this.droppedTrigger);
      this.droppedTrigger = undefined;
    }
    if (this.dropped === undefined) return;
    // The sorts behind CREATE INDEX spill to temporary files by default; in memory they take
    // about 1 s less per million judgments and a few tens of MB for the moment they run.
    const temp = this.raw.pragma("temp_store", { simple: true }) as number;
    this.raw.pragma("temp_store = MEMORY");
    try {
      for (const sql of this.dropped) this.raw.exec(sql);
    } finally {
      this.raw.pragma(`temp_store = ${temp}`);
    }
    this.dropped = undefined;
  }

  async findComparisons(ids: readonly string[]): Promise<Map<string, ComparisonRow>> {
    const out = new Map<string, ComparisonRow>();
    for (const id of ids) {
      const row = this.s.comparison.get(id);
      if (row) out.set(id, row);
    }
    return out;
  }

  async findExistingPairs(
    pairs: readonly (readonly [string, string])[],
  ): Promise<Map<string, Choice>> {
    const out = new Map<string, Choice>();
    for (const [c, r] of pairs) {
      const row = this.s.pair.get(c, r);
      if (row) out.set(pairKey(c, r), row.choice);
    }
    return out;
  }

  async write(b: WriteBatch): Promise<void> {
    for (const t of b.texts) this.s.text.run(t.digest, t.body, t.is_chat);
    for (const c of b.comparisons)
      this.s.insertComparison.run(c.comparison_id, c.prompt_digest, c.a_digest, c.b_digest, c.gold);
    for (const g of b.gold) this.s.gold.run(g.gold, g.comparison_id);
    for (const r of b.raters) this.s.rater.run(r.rater_id, r.first_seen);
    for (const j of b.judgments) {
      this.s.judgment.run(
        j.seq,
        j.comparison_id,
        j.rater_id,
        j.choice,
        j.created_at,
        j.latency_ms,
        j.shown_order,
        j.rationale,
        j.flags,
        j.recorded_at,
        j.prev_hash,
        j.hash,
      );
    }
    this.appended += b.judgments.length;
    this.maybeDeferIndexes();
  }

  async setHead(head: LedgerHead): Promise<void> {
    this.s.setHead.run(head.seq, head.hash);
  }

  async upsertRaters(
    rows: readonly { rater_id: string; attributes: string; first_seen: string }[],
  ): Promise<void> {
    for (const r of rows) this.s.upsertRater.run(r.rater_id, r.attributes, r.first_seen);
  }
}

// Kept for tests and tools that need the underlying handle (e.g. tamper tests with raw SQL).
export type { Database as SqliteDatabase } from "better-sqlite3";
