/** Small helpers shared by the collection queries. */
import { randomBytes } from "node:crypto";
import { type Kysely, SqliteAdapter, sql } from "kysely";
import { BUSY_TIMEOUT_MS, isLockTimeout, storeBusy } from "../dialect.js";

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
 * PostgreSQL: the locks `opts` asks for, each waited for as the ledger's writers wait
 * (BUSY_TIMEOUT_MS, then KEEL_E_BUSY), not for as long as their holder runs: a second
 * `keel project add` behind a long one waited for all of it, one behind a hung session for ever,
 * and a skip for a whole import.
 *
 * - `serialize`: the transaction's advisory lock of that name (of the store's schema).
 * - `ledger`: the ledger head row FOR KEY SHARE until the transaction ends, as a skip's trigger
 *   does (migration 0003). A ledger write (an import, the server's appends) holds that row FOR
 *   UPDATE from before it reads comparisons until it commits, so a transaction holding it
 *   neither runs inside an import nor lets one start: what it reads of comparisons and texts
 *   stays true until it commits. Without it, a project addition during an import found a
 *   comparison missing that the import then inserted (a unique violation), or set a quiz item's
 *   gold that the import then overwrote with another answer from its file.
 */
async function takeLocks<DB>(trx: Kysely<DB>, opts: WriteTransactionOptions): Promise<void> {
  if (opts.serialize === undefined && !opts.ledger) return;
  await sql`SELECT set_config('lock_timeout', ${`${BUSY_TIMEOUT_MS}ms`}, true)`.execute(trx);
  try {
    if (opts.serialize !== undefined)
      await sql`SELECT pg_advisory_xact_lock(hashtext(current_schema() || ${`:${opts.serialize}`}))`.execute(
        trx,
      );
    if (opts.ledger) await sql`SELECT 1 FROM ledger_head WHERE id = 1 FOR KEY SHARE`.execute(trx);
  } catch (e) {
    throw isLockTimeout(e) ? storeBusy(undefined, BUSY_TIMEOUT_MS, e) : e;
  }
  await sql`SET LOCAL lock_timeout TO DEFAULT`.execute(trx);
}

export interface WriteTransactionOptions {
  /**
   * PostgreSQL: the name of a lock (an advisory lock of the store's schema) that the transaction
   * takes first, for transactions that check rows that do not exist yet (no row to lock): they
   * run one at a time, as every writer does on SQLite.
   */
  readonly serialize?: string;
  /**
   * PostgreSQL: hold the ledger head (see takeLocks), for a transaction that writes
   * comparisons or texts, or whose writes the ledger's triggers check against the ledger.
   * SQLite's write lock already excludes the ledger's writers.
   */
  readonly ledger?: boolean;
}

/**
 * A transaction that writes. On SQLite it begins IMMEDIATE, taking the write lock before its
 * first read: a deferred one that reads first and writes later gets SQLITE_BUSY at once, without
 * waiting for busy_timeout, when another connection — the server's ledger appender — commits in
 * between (its snapshot is stale, or the two would deadlock). PostgreSQL's row locks need none
 * of this, except where `opts` asks for it.
 */
export async function writeTransaction<DB, T>(
  db: Kysely<DB>,
  fn: (trx: Kysely<DB>) => Promise<T>,
  opts: WriteTransactionOptions = {},
): Promise<T> {
  if (!(db.getExecutor().adapter instanceof SqliteAdapter)) {
    return db.transaction().execute(async (trx) => {
      await takeLocks(trx, opts);
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
