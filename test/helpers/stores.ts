/**
 * One store suite, every dialect, a real database: `eachDialect` yields a factory for fresh,
 * isolated stores — a SQLite file in a temporary directory, or a PostgreSQL schema of its own
 * in the `test` database (dropped afterwards).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, expect } from "vitest";
import { type FeedbackStore, openStore } from "../../src/store/store.js";

export const PG_URL = process.env.KEEL_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export interface DialectFixture {
  readonly name: "sqlite" | "postgres";
  /** A fresh, empty store. */
  open(opts?: { now?: () => Date }): Promise<FeedbackStore>;
  /** Runs raw SQL against the store's database with the append-only guard lifted. */
  tamper(store: FeedbackStore, statements: string[]): Promise<void>;
  /**
   * Where a new store may be made, as `--db` takes it (a SQLite path, a PostgreSQL URL with its
   * own `?schema=`, dropped afterwards); nothing is created until `keel init` or `openStore`.
   */
  target(): string;
}

let counter = 0;

/** A list to push PostgreSQL schema names to: each is dropped after the file's tests. */
export function schemasDroppedAfterAll(): string[] {
  const schemas: string[] = [];
  afterAll(async () => {
    if (schemas.length === 0) return;
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await client.end();
  });
  return schemas;
}

export function tempDir(prefix = "keel-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function sqliteFixture(): DialectFixture {
  let dir: string | undefined;
  return {
    name: "sqlite",
    async open(opts = {}) {
      dir ??= tempDir();
      return openStore(join(dir, `s${counter++}.db`), {
        create: true,
        ...(opts.now ? { now: opts.now } : {}),
      });
    },
    async tamper(store, statements) {
      await store.rawExecute("DROP TRIGGER IF EXISTS judgments_no_update");
      await store.rawExecute("DROP TRIGGER IF EXISTS judgments_no_delete");
      for (const s of statements) await store.rawExecute(s);
    },
    target() {
      dir ??= tempDir();
      return join(dir, `s${counter++}.db`);
    },
  };
}

function postgresFixture(): DialectFixture {
  const schemas = schemasDroppedAfterAll();
  const newSchema = () => {
    const schema = `keel_t_${process.pid}_${Date.now().toString(36)}_${counter++}`;
    schemas.push(schema);
    return schema;
  };
  return {
    name: "postgres",
    async open(opts = {}) {
      const schema = newSchema();
      return openStore(PG_URL, { schema, create: true, ...(opts.now ? { now: opts.now } : {}) });
    },
    async tamper(store, statements) {
      await store.rawExecute("ALTER TABLE judgments DISABLE TRIGGER judgments_append_only");
      for (const s of statements) await store.rawExecute(s);
    },
    target() {
      const u = new URL(PG_URL);
      u.searchParams.set("schema", newSchema());
      return u.toString();
    },
  };
}

export function dialectFixtures(): DialectFixture[] {
  return [sqliteFixture(), postgresFixture()];
}

/** Another connection to `store`'s database: its SQLite file, or its PostgreSQL schema. */
export function reopenStore(store: FeedbackStore): Promise<FeedbackStore> {
  if (store.dialectName === "sqlite") return openStore(store.location);
  return openStore(PG_URL, { schema: store.schema! });
}

/** The rows of the ledger at `location` (a SQLite file or a PostgreSQL URL), after it verifies. */
export async function verifiedLedgerRows(location: string): Promise<number> {
  const store = await openStore(location);
  try {
    const report = await store.verifyLedger();
    expect(report.ok).toBe(true);
    return report.rows;
  } finally {
    await store.close();
  }
}
