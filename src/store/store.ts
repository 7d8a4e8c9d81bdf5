/**
 * The feedback store: prompts, responses, comparisons, raters and the judgment ledger, over
 * SQLite (embedded default) or PostgreSQL, with one query layer (Kysely) for both. This module
 * opens a store; the store itself is `FeedbackStore` (feedback-store.ts), its imports are in
 * bulk-import.ts, its migrations in migrate.ts and its ledger check in verify-walk.ts.
 */
import { existsSync } from "node:fs";
import { KeelError } from "../core/errors.js";
import type { StoreDialect } from "./dialect.js";
import { FeedbackStore } from "./feedback-store.js";
import { checkHoldsStore, checkKeelDatabase } from "./foreign.js";
import { openPostgres } from "./postgres/dialect.js";
import { openSqlite } from "./sqlite/dialect.js";

export {
  type ImportBatch,
  type ImportOptions,
  type ImportReport,
  isColumns,
  type RecordImportReport,
} from "./bulk-import.js";
export { FeedbackStore } from "./feedback-store.js";
export type { EntryWithoutTexts, LedgerPageOptions, ProjectScope } from "./read.js";
export type { VerifyOptions } from "./verify-walk.js";

export interface OpenStoreOptions {
  /**
   * Make a new store where there is none: a new SQLite file, a PostgreSQL schema, an empty
   * database (default false: `keel init` creates stores, and every other opener expects one).
   */
  readonly create?: boolean;
  /** PostgreSQL schema (default: the connection's search_path). */
  readonly schema?: string;
  /** Clock for `recorded_at` (tests pin it). */
  readonly now?: () => Date;
}

export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//i.test(target);
}

/**
 * A `schema` query parameter (`postgres://…/db?schema=keel`, as Prisma and others write it) names
 * the PostgreSQL schema, and is taken out of the URL: the driver would ignore it and the store
 * would silently live in `public`. (`?options=-c search_path=…` works too.)
 */
export function schemaFromUrl(target: string): { url: string; schema?: string } {
  let u: URL;
  try {
    u = new URL(target);
  } catch {
    return { url: target };
  }
  const schema = u.searchParams.get("schema");
  if (schema === null) return { url: target };
  u.searchParams.delete("schema");
  return { url: u.toString(), schema };
}

export async function openStore(
  target: string,
  opts: OpenStoreOptions = {},
): Promise<FeedbackStore> {
  let dialect: StoreDialect;
  // An in-memory database is new by definition.
  const create = (opts.create ?? false) || target === ":memory:";
  if (isPostgresUrl(target)) {
    const { url, schema } = schemaFromUrl(target);
    const chosen = opts.schema ?? schema;
    dialect = await openPostgres({
      url,
      ...(chosen ? { schema: chosen } : {}),
      createSchema: create,
    });
  } else {
    if (!create && !existsSync(target)) {
      throw new KeelError("KEEL_E_STORE", `no keel store at ${target}`, {
        hint: "create one with `keel init` (or pass --db with an existing store's path or a postgres:// URL)",
      });
    }
    dialect = openSqlite({ path: target, mustHoldStore: !create });
  }
  const store = new FeedbackStore(dialect, opts.now ?? (() => new Date()));
  try {
    // SQLite checked this before touching the file; a PostgreSQL schema is only read here.
    if (!create && dialect.name === "postgres") {
      const existing = await dialect.existingSchema();
      checkKeelDatabase(dialect.location, existing);
      checkHoldsStore(`${dialect.location} (schema ${dialect.schema})`, existing);
    }
    store.appliedOnOpen = await store.migrate();
  } catch (e) {
    await dialect.close();
    throw e;
  }
  return store;
}
