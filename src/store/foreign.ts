/**
 * Telling a keel store from another application's database before touching it. Opening a store
 * applies keel's pending migrations; run on someone else's database they would add keel's
 * tables to it (and, failing halfway, leave half of them). A database is keel's to migrate
 * when it is empty, or when its migration record shows keel's first migration.
 */
import { KeelError } from "../core/errors.js";
import { MIGRATION_NAMES } from "./migrations/index.js";

/** Kysely's bookkeeping tables (the record of applied migrations, and its lock). */
export const MIGRATION_TABLE = "kysely_migration";
const BOOKKEEPING = new Set([MIGRATION_TABLE, "kysely_migration_lock"]);

/** What a database holds before keel migrates it. */
export interface ExistingSchema {
  /** Tables and views (SQLite: of the file; PostgreSQL: of the store's schema). */
  readonly tables: readonly string[];
  /** Names in the migration record, or undefined when there is no record. */
  readonly applied: readonly string[] | undefined;
}

/** Refuses a non-empty database that keel did not create. */
export function checkKeelDatabase(location: string, existing: ExistingSchema): void {
  const others = existing.tables.filter((t) => !BOOKKEEPING.has(t));
  if (others.length === 0 || existing.applied?.includes(MIGRATION_NAMES[0]!)) return;
  const shown = others.slice(0, 5).join(", ") + (others.length > 5 ? ", …" : "");
  throw new KeelError(
    "KEEL_E_STORE",
    `${location} is not a keel store: it holds other tables (${shown}) and no record of keel's migrations; it was left unchanged`,
    {
      hint: others.every((t) => FIRST_MIGRATION_TABLES.has(t))
        ? "its tables have the names of those keel's first migration makes: if it is a store whose first `keel init` stopped half-way (keel before 2026-12-06 did not run it in one transaction), no keel command wrote to it since, so delete it (a SQLite file with its -wal and -shm files, or the PostgreSQL schema) and run keel init again; if it is another application's, pass --db a keel store or a new path"
        : "pass --db a keel store, or a new path for keel init to create one (for PostgreSQL, ?schema=NAME keeps a store in a schema of its own)",
    },
  );
}

/** The tables migration 0001 creates (an interrupted first `keel init` leaves some of them). */
const FIRST_MIGRATION_TABLES = new Set([
  "texts",
  "comparisons",
  "raters",
  "judgments",
  "ledger_head",
]);

/** Whether a database holds a keel store (the record of keel's first migration). */
export function holdsStore(existing: ExistingSchema): boolean {
  return existing.applied?.includes(MIGRATION_NAMES[0]!) ?? false;
}

/**
 * Refuses an empty database where a store was expected: every command but `keel init` reads or
 * appends to an existing store, and one that made a new, empty store at a mistyped path or schema
 * would report on (or collect judgments into) nothing, say `ledger verify`'s "OK: 0 judgments".
 */
export function checkHoldsStore(location: string, existing: ExistingSchema): void {
  if (holdsStore(existing)) return;
  throw new KeelError("KEEL_E_STORE", `no keel store at ${location}: the database is empty`, {
    hint: "create one with `keel init` and the same --db (or pass --db an existing store)",
  });
}
