/**
 * PostgreSQL's refusals as keel's errors: which failures mean a lost connection, and which of
 * the server's refusals (about the server, the connection or an administrator's settings, not
 * keel's logic) become KEEL_E_STORE naming the store and what to do.
 */
import { KeelError } from "../../core/errors.js";

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
export function isConnectionLost(e: unknown): boolean {
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
export function storeError(e: unknown, location: string, committing: boolean): unknown {
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
