/**
 * Schema migrations, in order: one file each, listed here explicitly. Each runs once per store
 * inside Kysely's migrator (which keeps its own bookkeeping tables and a lock, so concurrent
 * processes do not migrate twice). A migration receives the dialect name for the few places
 * where SQL differs. Never edit a migration that has shipped; add the next one.
 */
import type { Migration, MigrationProvider } from "kysely";
import { initial } from "./0001_initial.js";
import { collection } from "./0002_collection.js";
import { taskOutcome } from "./0003_task_outcome.js";
import type { DialectName } from "./types.js";

export type { DialectName } from "./types.js";

const MIGRATIONS: readonly [string, (dialect: DialectName) => Migration][] = [
  ["0001_initial", initial],
  ["0002_collection", collection],
  ["0003_task_outcome", taskOutcome],
];

/** The migrations' names, in order. */
export const MIGRATION_NAMES: readonly string[] = MIGRATIONS.map(([name]) => name);

export function migrationProvider(dialect: DialectName): MigrationProvider {
  return {
    async getMigrations() {
      return Object.fromEntries(MIGRATIONS.map(([name, make]) => [name, make(dialect)]));
    },
  };
}
