/**
 * The connection pool: its options (the URL's own, the schema's search_path, timeouts and
 * keep-alive), and the pool as Kysely's driver sees it, which turns every connection and
 * statement error into `storeError`'s and remembers why a checked-out client's connection dropped.
 */
import type { PostgresPool, PostgresPoolClient } from "kysely";
import pg from "pg";
import type { PostgresOptions } from "./dialect.js";
import { isConnectionLost, storeError } from "./errors.js";

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

/** The pool for `opts`, bigint columns read as numbers, and a dropped connection noted. */
export function createPool(opts: PostgresOptions): pg.Pool {
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
    // float8 is read back as text, which keeps every digit only while extra_float_digits > 0
    // (PostgreSQL 12+'s default, 1). Set to 0 or less — in postgresql.conf, for the database or
    // role, or in the URL's options — 0.1 + 0.2 came back as 0.3, and `ledger verify` called a
    // judgment with that latency edited. 3 gives the shortest exact text (17 digits before 12).
    // Queued ahead of every statement on this client; it fails only with the connection, which
    // the next statement reports, so it says nothing itself.
    client.query("SET extra_float_digits = 3").catch(() => {});
    // The pool listens for errors only while a client is idle. One checked out whose connection
    // drops between statements (an import's transaction waiting on its input, killed by an
    // administrator or idle_in_transaction_session_timeout) emits "error" with no listener, and
    // that ended the process; its next statement fails instead (`translatingPool`).
    client.on("error", (e) => {
      if (!droppedWith.has(client)) droppedWith.set(client, e);
    });
  });
  return pool;
}

/**
 * The pool as Kysely's driver sees it, with `storeError`'s translation on every connect and
 * every statement: the collection's writes and the readers go through Kysely too. A client whose
 * connection was lost answers every later statement (Kysely's ROLLBACK) with the first error,
 * which says what happened, instead of pg's "not queryable".
 */
export function translatingPool(pool: pg.Pool, location: string): PostgresPool {
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

/** Why a checked-out client's connection dropped, as pg reported it (see `createPool`). */
const droppedWith = new WeakMap<pg.PoolClient | pg.Client, unknown>();
