/** Small helpers shared by the collection queries. */
import { randomBytes } from "node:crypto";
import { type Kysely, SqliteAdapter, sql } from "kysely";

/** An opaque random identifier with a readable prefix (`u_…`, `p_…`): 96 random bits. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString("base64url")}`;
}

/**
 * Text in UTF-16 code-unit order, the same on both dialects: PostgreSQL's ORDER BY follows the
 * database's collation (en_US, a common default, puts "bob" before "Carol" and ignores "." and
 * "-"), SQLite's does not. Lists ordered by a text the user chose are sorted with this.
 */
export function byCodeUnits(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

/** True for a UNIQUE or PRIMARY KEY violation in either dialect. */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return (
    code === "23505" ||
    code === "SQLITE_CONSTRAINT_UNIQUE" ||
    code === "SQLITE_CONSTRAINT_PRIMARYKEY"
  );
}

/**
 * A transaction that writes. On SQLite it begins IMMEDIATE, taking the write lock before its
 * first read: a deferred one that reads first and writes later gets SQLITE_BUSY at once, without
 * waiting for busy_timeout, when another connection — the server's ledger appender — commits in
 * between (its snapshot is stale, or the two would deadlock). PostgreSQL's row locks need none
 * of this, except where a transaction checks rows that do not exist yet (no row to lock):
 * `serialize` names a lock (an advisory lock of the store's schema) that such transactions
 * take first, so they run one at a time, as every writer does on SQLite.
 */
export async function writeTransaction<DB, T>(
  db: Kysely<DB>,
  fn: (trx: Kysely<DB>) => Promise<T>,
  serialize?: string,
): Promise<T> {
  if (!(db.getExecutor().adapter instanceof SqliteAdapter)) {
    return db.transaction().execute(async (trx) => {
      if (serialize !== undefined)
        await sql`SELECT pg_advisory_xact_lock(hashtext(current_schema() || ${`:${serialize}`}))`.execute(
          trx,
        );
      return fn(trx);
    });
  }
  return db.connection().execute(async (conn) => {
    await sql`BEGIN IMMEDIATE`.execute(conn);
    try {
      const result = await fn(conn);
      await sql`COMMIT`.execute(conn);
      return result;
    } catch (e) {
      await sql`ROLLBACK`.execute(conn).catch(() => undefined);
      throw e;
    }
  });
}
