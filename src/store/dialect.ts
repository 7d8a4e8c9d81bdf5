/**
 * A dialect is a small factory result: a Kysely instance for the shared query layer, and a
 * write transaction that hands out a `LedgerWriter`. Each dialect folder (sqlite/, postgres/)
 * has the same file names; dialects override these hooks, they do not fork the store.
 */
import type { Kysely } from "kysely";
import { KeelError } from "../core/errors.js";
import type { ExistingSchema } from "./foreign.js";
import type { DialectName } from "./migrations/index.js";
import type { Database } from "./schema.js";
import type { LedgerWriter } from "./writer.js";

/**
 * How long a write waits for another connection's hold on the ledger (SQLite's write lock,
 * PostgreSQL's head row) before failing with KEEL_E_STORE "busy": the same on both dialects.
 */
export const BUSY_TIMEOUT_MS = 10_000;

/**
 * A write that gave up waiting `waitedMs` for another's hold on the store: nothing was written,
 * and trying again later works. `location` names the store when the caller knows it.
 */
export function storeBusy(
  location: string | undefined,
  waitedMs: number,
  cause: unknown,
): KeelError {
  // KEEL_E_BUSY: exit 75, the code scripts retry on (not 74, "store unavailable").
  return new KeelError(
    "KEEL_E_BUSY",
    "the store is busy with another write (another import?); try again",
    {
      ...(location !== undefined ? { where: { file: location } } : {}),
      hint: `keel waited ${waitedMs / 1000} s for its lock`,
      cause,
    },
  );
}

/** PostgreSQL's lock_not_available: a lock not granted within lock_timeout. */
export function isLockTimeout(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === "55P03";
}

export interface StoreDialect {
  readonly name: DialectName;
  readonly db: Kysely<Database>;
  /** File path or connection URL with any password removed (for messages). */
  readonly location: string;
  /** PostgreSQL schema the store lives in, when not the connection's default. */
  readonly schema?: string;
  /**
   * Runs `fn` in a write transaction holding the ledger head. `bulk` marks a large import: the
   * dialect may relax checks that the ledger writer already guarantees (see each dialect).
   * `tx` runs queries inside the same transaction (the collection server's checks at commit).
   */
  writeTransaction<T>(
    fn: (w: LedgerWriter, tx: Kysely<Database>) => Promise<T>,
    opts?: { bulk?: boolean },
  ): Promise<T>;
  /** What the database holds before migrating (see foreign.ts). */
  existingSchema(): Promise<ExistingSchema>;
  /**
   * Runs the schema migrations `fn` so that a failure leaves the database as it was. SQLite
   * wraps them, Kysely's bookkeeping tables included, in one transaction; PostgreSQL's
   * migrator already runs them in one (its DDL is transactional).
   */
  migrationTransaction<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
