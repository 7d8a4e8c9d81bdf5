/**
 * PostgreSQL through `pg`: the store for many raters and several server processes. Bulk writes
 * send whole columns as arrays and insert with `unnest`, one statement per table per batch.
 * The ledger head row is locked FOR UPDATE for the length of a write transaction, so concurrent
 * writers in any number of processes append to one chain, one after the other.
 */
import {
  Kysely,
  PostgresDialect,
  type PostgresPool,
  type PostgresPoolClient,
  sql,
  type Transaction,
} from "kysely";
import pg from "pg";
import { KeelError } from "../../core/errors.js";
import { redactUrl } from "../../core/redact.js";
import type { Choice } from "../../core/types.js";
import { BUSY_TIMEOUT_MS, isLockTimeout, type StoreDialect, storeBusy } from "../dialect.js";
import { MIGRATION_TABLE } from "../foreign.js";
import type { Database as Schema } from "../schema.js";
import {
  type ComparisonRow,
  type LedgerHead,
  type LedgerWriter,
  pairKey,
  type WriteBatch,
} from "../writer.js";

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

const INT8_OID = 20;

/**
 * The pool's options: the URL's own `options` (`?options=-c …`) kept, with `schema`'s
 * search_path after them. pg lets a connection string's parameters override the pool's, so an
 * `options` in the URL that set search_path put the store in that schema and not the one asked.
 */
function connectionOptions(opts: PostgresOptions): {
  connectionString: string;
  options?: string;
} & ReturnType<typeof networkOptions> {
  return { ...pathOptions(opts), ...networkOptions(opts.url) };
}

/** Seconds to wait for a connection (and for a free one of the pool) unless the URL says. */
const CONNECT_TIMEOUT_S = 30;

/**
 * How long to wait for the server and how to notice it gone: a server that accepts the TCP
 * connection and never answers (a hung host, a half-open firewall) made every command wait for
 * ever, and a connection silently dropped by the network went unnoticed until the kernel's
 * two-hour keep-alive. The URL's `connect_timeout` (seconds, as libpq reads it) overrides the
 * default; 0 waits without limit.
 */
function networkOptions(url: string): {
  connectionTimeoutMillis: number;
  keepAlive: true;
  keepAliveInitialDelayMillis: number;
} {
  let seconds = CONNECT_TIMEOUT_S;
  try {
    const given = new URL(url).searchParams.get("connect_timeout");
    if (given !== null && /^\d+$/.test(given.trim())) seconds = Number(given.trim());
  } catch {
    // An unparseable URL: pg says what is wrong with it when it connects.
  }
  return {
    connectionTimeoutMillis: seconds * 1000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 60_000,
  };
}

function pathOptions(opts: PostgresOptions): { connectionString: string; options?: string } {
  if (!opts.schema) return { connectionString: opts.url };
  const ours = `-c search_path=${opts.schema}`;
  let u: URL;
  try {
    u = new URL(opts.url);
  } catch {
    return { connectionString: opts.url, options: ours };
  }
  const theirs = u.searchParams.get("options");
  if (theirs === null) return { connectionString: opts.url, options: ours };
  u.searchParams.delete("options");
  // PostgreSQL applies a startup option's settings in order: the last search_path wins.
  return { connectionString: u.toString(), options: `${theirs} ${ours}` };
}

/** Node's socket errors that mean the server cannot be reached or went away. */
const SOCKET_ERRORS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * A connection that is gone: SQLSTATE class 08, the server ending the session (57P01–57P05:
 * an administrator's pg_terminate_backend, a shutdown, the database dropped, idle_session_timeout;
 * 25P03: idle_in_transaction_session_timeout), a socket error, or pg's own words for a client
 * whose connection ended.
 */
function isConnectionLost(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === "string") {
    if (/^08|^57P0[1-5]$|^25P03$/.test(code) || SOCKET_ERRORS.has(code)) return true;
  }
  const message = (e as { message?: unknown } | null)?.message;
  return (
    typeof message === "string" &&
    /^Connection terminated|is not queryable$|timeout exceeded when trying to connect/.test(message)
  );
}

/**
 * PostgreSQL's refusals that are about the server, the connection or an administrator's
 * settings, not keel's logic, as KEEL_E_STORE naming the store and what to do: a connection
 * lost (killed, timed out, the server gone), a statement canceled (statement_timeout), a
 * read-only connection (a standby, default_transaction_read_only), the server out of resources
 * (too many clients), a missing privilege. Anything else (constraint and trigger errors, the
 * lock timeout, that callers look at) is passed through unchanged. `committing`: the error
 * came from COMMIT, whose outcome a lost connection leaves unknown.
 */
function storeError(e: unknown, location: string, committing: boolean): unknown {
  if (e instanceof KeelError) return e;
  const message = (e as Error | null)?.message ?? String(e);
  const code = (e as { code?: unknown } | null)?.code;
  const fail = (what: string, hint: string) =>
    new KeelError("KEEL_E_STORE", what, { where: { file: location }, hint, cause: e });
  if (/timeout exceeded when trying to connect|due to connection timeout/.test(message)) {
    return fail(
      `no connection to PostgreSQL within the connect timeout (${message}): nothing was written`,
      "the server did not answer, or every connection of this process's pool was busy: try again, or raise connect_timeout (seconds) in the URL",
    );
  }
  if (isConnectionLost(e)) {
    const idle = code === "25P03";
    return fail(
      committing
        ? `lost the connection to PostgreSQL while committing (${message}): the write may or may not have been saved`
        : `lost the connection to PostgreSQL (${message}): the transaction in progress was rolled back, nothing of it was written`,
      idle
        ? "the transaction stayed idle past idle_in_transaction_session_timeout (an import waiting on slow input holds its transaction open): raise it for keel's role (ALTER ROLE … SET idle_in_transaction_session_timeout = …), or import from a file"
        : `check that the server is running and reachable (an administrator may have ended the session), then try again: ${committing ? "a judgment already stored is reported as a duplicate, not stored twice" : "the next attempt opens a new connection"}`,
    );
  }
  if (code === "22P05") {
    return fail(
      `the store's database cannot hold this text: ${message}; nothing of the transaction was written`,
      "the database's encoding is not UTF8: move the store to a UTF8 database (keel export, then keel init and keel import into the new one)",
    );
  }
  if (code === "57014") {
    return fail(
      `PostgreSQL canceled a statement (${message}): the transaction was rolled back, nothing of it was written`,
      "statement_timeout (set for keel's role or database) is shorter than the statement needed: raise it for keel's role (ALTER ROLE … SET statement_timeout = …), or try again when the server is less busy",
    );
  }
  if (code === "25006") {
    return fail(
      `the store cannot be written: ${message} (the server is a read-only standby, or default_transaction_read_only is on for this role or database)`,
      "reading commands (stats, ledger verify, export) work on it; to write, connect to the primary, or turn default_transaction_read_only off for keel's role",
    );
  }
  if (typeof code === "string" && code.startsWith("53")) {
    return fail(
      `PostgreSQL is out of resources: ${message}`,
      "too many clients: raise the server's max_connections or run fewer keel processes; a full disk or memory: free some; then try again",
    );
  }
  if (code === "42501") {
    return fail(
      `PostgreSQL refused keel's role: ${message}`,
      "grant keel's role USAGE on the store's schema and SELECT, INSERT, UPDATE, DELETE on its tables, or connect as the role that created the store",
    );
  }
  return e;
}

/**
 * The pool as Kysely's driver sees it, with `storeError`'s translation on every connect and
 * every statement: the collection's writes and the readers go through Kysely too. A client whose
 * connection was lost answers every later statement (Kysely's ROLLBACK) with the first error,
 * which says what happened, instead of pg's "not queryable".
 */
function translatingPool(pool: pg.Pool, location: string): PostgresPool {
  return {
    async connect() {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (e) {
        throw storeError(e, location, false);
      }
      let lost: unknown;
      const query = (text: string, params: readonly unknown[]) => {
        if (lost !== undefined) return Promise.reject(lost);
        // A COMMIT sent on a connection already gone did not commit; one lost on the way might have.
        const committing = /^commit$/i.test(text.trim()) && !droppedWith.has(client);
        return client.query(text, params as unknown[]).catch((e: unknown) => {
          const reason = isConnectionLost(e) ? (droppedWith.get(client) ?? e) : e;
          const translated = storeError(reason, location, committing);
          if (isConnectionLost(reason)) lost = translated;
          throw translated;
        });
      };
      return {
        // Kysely passes a cursor only to a dialect configured with one; this one is not.
        query: query as unknown as PostgresPoolClient["query"],
        release: (destroy?: boolean) => client.release(destroy),
      };
    },
    end: () => pool.end(),
  };
}

/** Why a checked-out client's connection dropped, as pg reported it (see `openPostgres`). */
const droppedWith = new WeakMap<pg.PoolClient | pg.Client, unknown>();

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
  const pool = new pg.Pool({
    ...connectionOptions(opts),
    max: opts.maxConnections ?? 8,
    // bigint sequence numbers fit a double exactly up to 2^53.
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === INT8_OID
          ? (v: string) => Number(v)
          : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
    },
  });
  pool.on("error", () => {
    // An idle client's connection dropped; the pool replaces it. Queries report their own errors.
  });
  pool.on("connect", (client) => {
    // The pool listens for errors only while a client is idle. One checked out whose connection
    // drops between statements (an import's transaction waiting on its input, killed by an
    // administrator or idle_in_transaction_session_timeout) emits "error" with no listener, and
    // that ended the process; its next statement fails instead (`translatingPool`).
    client.on("error", (e) => {
      if (!droppedWith.has(client)) droppedWith.set(client, e);
    });
  });
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
      fn: (w: LedgerWriter) => Promise<T>,
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
        return fn(new PostgresWriter(trx, row));
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

class PostgresWriter implements LedgerWriter {
  readonly remote = true;

  constructor(
    private readonly trx: Transaction<Schema>,
    readonly head: LedgerHead,
  ) {}

  async findComparisons(ids: readonly string[]): Promise<Map<string, ComparisonRow>> {
    const out = new Map<string, ComparisonRow>();
    if (ids.length === 0) return out;
    const r = await sql<ComparisonRow>`
      SELECT comparison_id, prompt_digest, a_digest, b_digest, gold FROM comparisons
      WHERE comparison_id = ANY(${[...ids]}::text[])`.execute(this.trx);
    for (const row of r.rows) out.set(row.comparison_id, row);
    return out;
  }

  async findExistingPairs(
    pairs: readonly (readonly [string, string])[],
  ): Promise<Map<string, Choice>> {
    const out = new Map<string, Choice>();
    if (pairs.length === 0) return out;
    const r = await sql<{ comparison_id: string; rater_id: string; choice: Choice }>`
      SELECT j.comparison_id, j.rater_id, j.choice
      FROM judgments j
      JOIN unnest(${pairs.map((p) => p[0])}::text[], ${pairs.map((p) => p[1])}::text[]) AS u(c, r)
        ON j.comparison_id = u.c AND j.rater_id = u.r`.execute(this.trx);
    for (const row of r.rows) out.set(pairKey(row.comparison_id, row.rater_id), row.choice);
    return out;
  }

  async write(b: WriteBatch): Promise<void> {
    const t = this.trx;
    if (b.texts.length > 0) {
      await sql`
        INSERT INTO texts (digest, body, is_chat)
        SELECT * FROM unnest(${b.texts.map((x) => x.digest)}::text[], ${b.texts.map((x) => x.body)}::text[],
                             ${b.texts.map((x) => x.is_chat)}::int[])
        ON CONFLICT (digest) DO NOTHING`.execute(t);
    }
    if (b.comparisons.length > 0) {
      const c = b.comparisons;
      await sql`
        INSERT INTO comparisons (comparison_id, prompt_digest, a_digest, b_digest, gold)
        SELECT * FROM unnest(${c.map((x) => x.comparison_id)}::text[], ${c.map((x) => x.prompt_digest)}::text[],
                             ${c.map((x) => x.a_digest)}::text[], ${c.map((x) => x.b_digest)}::text[],
                             ${c.map((x) => x.gold)}::text[])`.execute(t);
    }
    if (b.gold.length > 0) {
      await sql`
        UPDATE comparisons SET gold = u.gold
        FROM unnest(${b.gold.map((g) => g.comparison_id)}::text[], ${b.gold.map((g) => g.gold)}::text[]) AS u(id, gold)
        WHERE comparisons.comparison_id = u.id`.execute(t);
    }
    if (b.raters.length > 0) {
      await sql`
        INSERT INTO raters (rater_id, attributes, first_seen)
        SELECT r, '{}', f FROM unnest(${b.raters.map((r) => r.rater_id)}::text[], ${b.raters.map((r) => r.first_seen)}::text[]) AS u(r, f)
        ON CONFLICT (rater_id) DO NOTHING`.execute(t);
    }
    if (b.judgments.length > 0) {
      const j = b.judgments;
      await sql`
        INSERT INTO judgments (seq, comparison_id, rater_id, choice, created_at, latency_ms, shown_order,
                               rationale, flags, recorded_at, prev_hash, hash)
        SELECT * FROM unnest(
          ${j.map((x) => x.seq)}::bigint[], ${j.map((x) => x.comparison_id)}::text[], ${j.map((x) => x.rater_id)}::text[],
          ${j.map((x) => x.choice)}::text[], ${j.map((x) => x.created_at)}::text[],
          ${j.map((x) => x.latency_ms)}::double precision[], ${j.map((x) => x.shown_order)}::text[],
          ${j.map((x) => x.rationale)}::text[], ${j.map((x) => x.flags)}::text[], ${j.map((x) => x.recorded_at)}::text[],
          ${j.map((x) => x.prev_hash)}::text[], ${j.map((x) => x.hash)}::text[])`.execute(t);
    }
  }

  async setHead(head: LedgerHead): Promise<void> {
    await sql`UPDATE ledger_head SET seq = ${head.seq}, hash = ${head.hash} WHERE id = 1`.execute(
      this.trx,
    );
  }

  async upsertRaters(
    rows: readonly { rater_id: string; attributes: string; first_seen: string }[],
  ): Promise<void> {
    if (rows.length === 0) return;
    await sql`
      INSERT INTO raters (rater_id, attributes, first_seen)
      SELECT * FROM unnest(${rows.map((r) => r.rater_id)}::text[], ${rows.map((r) => r.attributes)}::text[],
                           ${rows.map((r) => r.first_seen)}::text[])
      ON CONFLICT (rater_id) DO UPDATE SET attributes = excluded.attributes`.execute(this.trx);
  }
}
