/**
 * Bringing a store's schema up to this keel's: pending migrations applied all or none, in the
 * dialect's migration transaction. A store migrated by a newer keel is refused, and so is a
 * non-empty database that keel did not create (see foreign.ts).
 */
import { Migrator } from "kysely";
import { KeelError } from "../core/errors.js";
import type { StoreDialect } from "./dialect.js";
import { checkKeelDatabase } from "./foreign.js";
import { MIGRATION_NAMES, migrationProvider } from "./migrations/index.js";
import { dropSqliteLeftovers } from "./migrations/leftovers.js";

/** Applies pending migrations; returns the names of those applied (empty when up to date). */
export async function migrateStore(dialect: StoreDialect): Promise<string[]> {
  const existing = await dialect.existingSchema();
  checkKeelDatabase(dialect.location, existing);
  const applied = existing.applied ?? [];
  const unknown = applied.filter((name) => !MIGRATION_NAMES.includes(name));
  if (unknown.length > 0) throw newerStore(dialect, `it has migrations ${unknown.join(", ")}`);
  if (MIGRATION_NAMES.every((name) => applied.includes(name))) return [];
  const migrator = new Migrator({
    db: dialect.db,
    provider: migrationProvider(dialect.name),
    // Kysely looks its bookkeeping tables up by name across schemas; pin them to ours.
    ...(dialect.schema ? { migrationTableSchema: dialect.schema } : {}),
  });
  const results = await dialect.migrationTransaction(async () => {
    // A keel before 2026-12-06 could leave a SQLite store half-way through a migration.
    if (dialect.name === "sqlite") await dropSqliteLeftovers(dialect.db);
    const { error, results } = await migrator.migrateToLatest();
    if (!error) return results ?? [];
    const msg = error instanceof Error ? error.message : String(error);
    // Kysely's own words for a record of migrations this keel does not have.
    if (/^corrupted migrations/.test(msg)) throw newerStore(dialect, msg);
    // A migration's own refusal keeps its code and its advice.
    const own = error instanceof KeelError ? error : undefined;
    throw new KeelError(
      own?.code ?? "KEEL_E_STORE",
      `migrating the store at ${dialect.location} failed (it was left as it was): ${msg}`,
      { cause: error, ...(own?.hint ? { hint: own.hint } : {}) },
    );
  });
  return results.filter((r) => r.status === "Success").map((r) => r.migrationName);
}

function newerStore(dialect: StoreDialect, detail: string): KeelError {
  return new KeelError(
    "KEEL_E_STORE_SCHEMA",
    `the store at ${dialect.location} was migrated by a newer keel: ${detail}`,
    { hint: "upgrade keel" },
  );
}
