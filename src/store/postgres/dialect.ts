/**
 * PostgreSQL through `pg`: the store for many raters and several server processes. Bulk writes
 * send whole columns as arrays and insert with `unnest`, one statement per table per batch.
 * The ledger head row is locked FOR UPDATE for the length of a write transaction, so concurrent
 * writers in any number of processes append to one chain, one after the other. This module is
 * the dialect's factory; the pool is set up in connection.ts, its errors translated in
 * errors.ts, and the ledger written by writer.ts.
 */
import { Kysely, PostgresDialect, sql } from "kysely";
import type pg from "pg";
import { KeelError } from "../../core/errors.js";
import { redactUrl } from "../../core/redact.js";
import { BUSY_TIMEOUT_MS, isLockTimeout, type StoreDialect, storeBusy } from "../dialect.js";
import { MIGRATION_TABLE } from "../foreign.js";
import type { Database as Schema } from "../schema.js";
import type { LedgerHead, LedgerWriter } from "../writer.js";
import { createPool, translatingPool } from "./connection.js";
import { storeError } from "./errors.js";
import { PostgresWriter } from "./writer.js";

export interface PostgresOptions {
  readonly url: string;
  /** Schema to use; tests give each suite its own. */
  readonly schema?: string;
  /** Create `schema` if it does not exist (default true); false makes a missing one an error. */
  readonly createSchema?: boolean;
  readonly maxConnections?: number;
  /** How long a write waits for another's hold on the ledger head (default BUSY_TIMEOUT_MS). */
  readonly busyTimeoutMs?: number;
}

/**
 * `CREATE SCHEMA IF NOT EXISTS`, for any number of processes at once: PostgreSQL's IF NOT
 * EXISTS does not stop two sessions that both found no schema from both creating it, and the
 * later one fails on pg_namespace's unique index (two `keel init` of one new schema at once).
 * A schema that exists once the error is in is the other session's, and fine. Any other
 * failure (say, no CREATE privilege) is not a failure to connect, and says so.
 */
async function createSchema(client: pg.PoolClient, opts: PostgresOptions): Promise<void> {
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${opts.schema}`);
  } catch (e) {
    const r = await client
      .query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [opts.schema])
      .catch(() => undefined);
    if (r !== undefined && r.rowCount === 1) return;
    // A read-only connection, a lost one: said as any statement's would be.
    const own =
      (e as { code?: unknown }).code === "42501" ? e : storeError(e, redactUrl(opts.url), false);
    if (own instanceof KeelError) throw own;
    throw new KeelError(
      "KEEL_E_STORE",
      `cannot create schema ${opts.schema} at ${redactUrl(opts.url)}: ${(e as Error).message}`,
      {
        hint: "check that the user may create schemas in the database (GRANT CREATE ON DATABASE), or create the schema first",
        cause: e,
      },
    );
  }
}

/**
 * A new store needs a UTF8 database: keel stores any Unicode text, and a LATIN1 (or other)
 * database takes some texts and refuses the first one outside its character set, a rater's
 * judgment of an emoji or a CJK prompt included, long after `keel init` said the store was ready.
 */
async function checkEncoding(client: pg.PoolClient, opts: PostgresOptions): Promise<void> {
  const r = await client.query<{ e: string }>("SELECT current_setting('server_encoding') AS e");
  const encoding = r.rows[0]?.e;
  if (encoding === undefined || encoding === "UTF8") return;
  throw new KeelError(
    "KEEL_E_STORE",
    `cannot make a keel store at ${redactUrl(opts.url)}: the database's encoding is ${encoding}, and keel stores any Unicode text (it needs UTF8)`,
    {
      hint: "create a UTF8 database for it (CREATE DATABASE … TEMPLATE template0 ENCODING 'UTF8') and pass its URL",
    },
  );
}

export async function openPostgres(opts: PostgresOptions): Promise<StoreDialect> {
  if (opts.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(opts.schema)) {
    throw new KeelError(
      "KEEL_E_USAGE",
      `invalid PostgreSQL schema name ${JSON.stringify(opts.schema)}`,
    );
  }
  const pool = createPool(opts);
  const schema = await currentSchema(pool, opts);
  const location = `${redactUrl(opts.url)} (schema ${schema})`;
  const db = new Kysely<Schema>({
    dialect: new PostgresDialect({ pool: translatingPool(pool, location) }),
  });
  const busyTimeout = opts.busyTimeoutMs ?? BUSY_TIMEOUT_MS;
  return {
    name: "postgres",
    db,
    location: redactUrl(opts.url),
    schema,
    async writeTransaction<T>(
      fn: (w: LedgerWriter, tx: Kysely<Schema>) => Promise<T>,
      _opts?: { bulk?: boolean },
    ): Promise<T> {
      return db.transaction().execute(async (trx) => {
        // As SQLite's busy timeout: a writer behind another (a long import) gives up after
        // busyTimeout with KEEL_E_STORE instead of waiting without limit (a rater's submission
        // hung for the whole import); the rest of the transaction runs under the usual setting.
        await sql`SELECT set_config('lock_timeout', ${`${busyTimeout}ms`}, true)`.execute(trx);
        let head: { rows: LedgerHead[] };
        try {
          head =
            await sql<LedgerHead>`SELECT seq, hash FROM ledger_head WHERE id = 1 FOR UPDATE`.execute(
              trx,
            );
        } catch (e) {
          if (isLockTimeout(e)) throw storeBusy(location, busyTimeout, e);
          throw e;
        }
        await sql`SET LOCAL lock_timeout TO DEFAULT`.execute(trx);
        const row = head.rows[0];
        if (!row) throw new KeelError("KEEL_E_STORE_SCHEMA", "the ledger_head row is missing");
        return fn(new PostgresWriter(trx, row), trx);
      });
    },
    async existingSchema() {
      const r = await sql<{ name: string }>`
        SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ${schema}
      `.execute(db);
      const tables = r.rows.map((t) => t.name);
      if (!tables.includes(MIGRATION_TABLE)) return { tables, applied: undefined };
      const applied = await sql<{ name: string }>`
        SELECT name FROM ${sql.id(schema, MIGRATION_TABLE)}
      `.execute(db);
      return { tables, applied: applied.rows.map((m) => m.name) };
    },
    migrationTransaction: (fn) => fn(),
    async close() {
      await db.destroy();
    },
  };
}

/**
 * Checks the database through one connection (for a new store: its encoding, and the schema
 * made), and names the schema the store lives in; a failure ends the pool.
 */
async function currentSchema(pool: pg.Pool, opts: PostgresOptions): Promise<string> {
  let schema: string;
  try {
    const client = await pool.connect();
    try {
      if (opts.createSchema ?? true) await checkEncoding(client, opts);
      if (opts.schema && (opts.createSchema ?? true)) await createSchema(client, opts);
      // The schema the store lives in (from `schema`, or the URL's search_path, or the default):
      // Kysely's migrator must be told, or it finds another schema's bookkeeping tables.
      const r = await client.query<{ s: string | null }>("SELECT current_schema() AS s");
      const current = r.rows[0]?.s;
      if (!current) {
        throw new KeelError(
          "KEEL_E_STORE",
          opts.schema
            ? `no keel store at ${redactUrl(opts.url)}: schema ${opts.schema} does not exist`
            : "the connection's search_path names no existing schema",
          {
            hint: opts.schema
              ? "check the schema's name, or create the store with `keel init` (which creates the schema)"
              : "create the schema first, or pass a URL whose search_path starts with an existing schema",
          },
        );
      }
      schema = current;
    } finally {
      client.release();
    }
  } catch (e) {
    await pool.end().catch(() => undefined);
    if (e instanceof KeelError) throw e;
    throw new KeelError(
      "KEEL_E_STORE",
      `cannot connect to PostgreSQL at ${redactUrl(opts.url)}: ${(e as Error).message}`,
      {
        hint: "check that the server is running and the URL (host, port, database, user) is right",
      },
    );
  }
  return schema;
}
