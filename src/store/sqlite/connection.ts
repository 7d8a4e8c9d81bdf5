/**
 * The one connection: opened with its pragmas (WAL, synchronous=FULL) once the file is known to
 * hold a keel store or nothing, the write lock taken with BEGIN IMMEDIATE, and the connection as
 * Kysely's driver sees it, which turns every statement's error into `storeError`'s.
 */
import Database from "better-sqlite3";
import type { SqliteDatabase, SqliteStatement } from "kysely";
import { KeelError } from "../../core/errors.js";
import {
  checkHoldsStore,
  checkKeelDatabase,
  type ExistingSchema,
  MIGRATION_TABLE,
} from "../foreign.js";
import type { SqliteOptions } from "./dialect.js";
import { cannotOpen, storeError } from "./errors.js";

/** Opens `opts.path` and sets the connection up; a database keel did not make is left as it was. */
export function openConnection(opts: SqliteOptions, busyTimeout: number): Database.Database {
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
  return raw;
}

export function existingSchema(raw: Database.Database): ExistingSchema {
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
export function beginImmediate(raw: Database.Database, path: string, busyTimeout: number): void {
  try {
    raw.exec("BEGIN IMMEDIATE");
  } catch (e) {
    throw storeError(e, path, busyTimeout);
  }
}

/** Prepared statements kept per connection for Kysely's queries (see `translatingErrors`). */
export const STATEMENT_CACHE = 256;

/**
 * The connection as Kysely's driver sees it, with `storeError`'s translation on every
 * statement: the collection's writes and the readers go through Kysely, not the ledger writer.
 */
export function translatingErrors(
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
  // Kysely prepares every query it runs; parsing and planning the SQL cost more than running a
  // small indexed query (a three-table join: ~50 µs to prepare, ~10 µs to run). Statements are
  // kept by their text (a bounded, least-recently-used set) and reused, unless one is busy in
  // an unfinished iteration, when the query gets a statement of its own.
  const cache = new Map<string, Database.Statement>();
  const statement = (sql: string): Database.Statement => {
    const hit = cache.get(sql);
    if (hit !== undefined && !hit.busy) {
      cache.delete(sql);
      cache.set(sql, hit);
      return hit;
    }
    const stmt = guard(() => raw.prepare(sql));
    if (hit === undefined) {
      cache.set(sql, stmt);
      if (cache.size > STATEMENT_CACHE) cache.delete(cache.keys().next().value!);
    }
    return stmt;
  };
  return {
    close: () => raw.close(),
    prepare(sql: string): SqliteStatement {
      const stmt = statement(sql);
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
