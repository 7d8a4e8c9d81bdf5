/**
 * SQLite through better-sqlite3: the embedded default, one file, WAL journal, synchronous=FULL
 * (an acknowledged judgment survives a power cut, not only a crash). Kysely's SQLite driver
 * owns the single connection behind a mutex; write transactions take that connection and run
 * prepared statements directly on it (BEGIN IMMEDIATE … COMMIT), which is what lets a bulk
 * import reach hundreds of thousands of rows a second. This module is the dialect's factory; the
 * connection is set up in connection.ts, its errors translated in errors.ts, and the ledger
 * written by writer.ts.
 */
import { Kysely, SqliteDialect } from "kysely";
import { BUSY_TIMEOUT_MS, type StoreDialect } from "../dialect.js";
import type { Database as Schema } from "../schema.js";
import type { LedgerWriter } from "../writer.js";
import { beginImmediate, existingSchema, openConnection, translatingErrors } from "./connection.js";
import { storeError } from "./errors.js";
import { DEFER_INDEXES_AFTER, SqliteWriter } from "./writer.js";

export { DEFER_INDEXES_AFTER, DEFERRABLE_INDEXES, SqliteWriter } from "./writer.js";

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

export function openSqlite(opts: SqliteOptions): StoreDialect {
  const busyTimeout = opts.busyTimeoutMs ?? BUSY_TIMEOUT_MS;
  const raw = openConnection(opts, busyTimeout);
  const db = new Kysely<Schema>({
    dialect: new SqliteDialect({ database: translatingErrors(raw, opts.path, busyTimeout) }),
  });
  const deferAfter = opts.deferIndexesAfter ?? DEFER_INDEXES_AFTER;
  return {
    name: "sqlite",
    db,
    location: opts.path,
    async writeTransaction<T>(
      fn: (w: LedgerWriter, tx: Kysely<Schema>) => Promise<T>,
      o: { bulk?: boolean } = {},
    ): Promise<T> {
      return db.connection().execute(async (conn) => {
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
            const result = await fn(writer, conn);
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

// Kept for tests and tools that need the underlying handle (e.g. tamper tests with raw SQL).
export type { Database as SqliteDatabase } from "better-sqlite3";
