/**
 * What an interrupted migration left in a SQLite store. Until 2026-12-06 keel ran SQLite
 * migrations without a transaction around them, one statement committed at a time (Kysely does
 * not wrap SQLite DDL), so a keel killed or failing inside 0002 left some of its tables, with no
 * record of 0002: every later open failed with `table "settings" already exists`, for good.
 * (PostgreSQL's migrator always ran them in one transaction; 0003 came after the change.)
 *
 * Such leftovers are recognised strictly: the objects the first pending migration creates, as
 * it creates them (compared by their SQL, got by running the migrations on an empty in-memory
 * database), with their tables empty — nothing could write to them while the migration was
 * unrecorded, since every keel refused to open the store. Anything else by one of those names
 * (another shape, or rows in it) is not keel's leftover: it stays, and the migration fails
 * naming it, as before.
 */
import Database from "better-sqlite3";
import { Kysely, Migrator, SqliteDialect, sql } from "kysely";
import { MIGRATION_NAMES, migrationProvider } from "./index.js";
import type { AnyDb } from "./types.js";

interface SchemaObject {
  readonly type: string;
  readonly name: string;
  readonly sql: string;
}

async function schemaObjects(db: AnyDb): Promise<Map<string, SchemaObject>> {
  // Autoindexes (no SQL) go with their tables.
  const rows = await sql<SchemaObject>`
    SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid`.execute(db);
  return new Map(rows.rows.map((r) => [r.name, r]));
}

/** The objects migration `name` creates on top of the ones before it, in creation order. */
async function createdBy(name: string): Promise<SchemaObject[]> {
  const db: AnyDb = new Kysely({
    dialect: new SqliteDialect({ database: new Database(":memory:") }),
  });
  try {
    const migrator = new Migrator({ db, provider: migrationProvider("sqlite") });
    const index = MIGRATION_NAMES.indexOf(name);
    const before = index > 0 ? MIGRATION_NAMES[index - 1]! : undefined;
    if (before !== undefined) throwIf((await migrator.migrateTo(before)).error);
    const had = await schemaObjects(db);
    throwIf((await migrator.migrateTo(name)).error);
    return [...(await schemaObjects(db)).values()].filter(
      (o) => !had.has(o.name) && !o.name.startsWith("kysely_"),
    );
  } finally {
    await db.destroy();
  }
}

function throwIf(error: unknown): void {
  if (error !== undefined) throw error;
}

const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Drops what an interrupted run of the first pending migration left (see above) and returns
 * the names dropped; drops nothing unless every leftover is one. Runs inside the migration's
 * transaction, reading the migration record there: another process may have migrated the
 * store since it was first read, and its new tables are not leftovers.
 */
export async function dropSqliteLeftovers(db: AnyDb): Promise<string[]> {
  const objects = await schemaObjects(db);
  if (!objects.has("kysely_migration")) return [];
  const applied = new Set(
    (await sql<{ name: string }>`SELECT name FROM kysely_migration`.execute(db)).rows.map(
      (r) => r.name,
    ),
  );
  // Before 0001 is recorded the store is not recognisably keel's (foreign.ts decides).
  if (!applied.has(MIGRATION_NAMES[0]!)) return [];
  const pending = MIGRATION_NAMES.find((n) => !applied.has(n));
  if (pending === undefined) return [];
  const expected = await createdBy(pending);
  const left = expected.filter((o) => objects.has(o.name));
  if (left.length === 0) return [];
  for (const o of left) {
    if (objects.get(o.name)!.sql !== o.sql || objects.get(o.name)!.type !== o.type) return [];
    if (o.type !== "table") continue;
    const rows = await sql.raw(`SELECT 1 FROM ${quoted(o.name)} LIMIT 1`).execute(db);
    if (rows.rows.length > 0) return [];
  }
  // Triggers and indexes first, then tables last-made first (a table may reference an earlier).
  const order = (o: SchemaObject) => (o.type === "table" ? 1 : 0);
  const drops = [...left].reverse().sort((a, b) => order(a) - order(b));
  for (const o of drops) {
    // An index or trigger on a dropped table went with it.
    if (!(await schemaObjects(db)).has(o.name)) continue;
    await sql.raw(`DROP ${o.type.toUpperCase()} ${quoted(o.name)}`).execute(db);
  }
  return left.map((o) => o.name);
}
