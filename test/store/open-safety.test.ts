/**
 * Opening a store touches only keel's own databases: another application's database is refused
 * and left byte for byte as it was, a migration that fails leaves the schema as it was (every
 * dialect), an older store is still brought up to date, and a write that meets another
 * process's lock says the store is busy.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Migrator, sql } from "kysely";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { contentDigest } from "../../src/core/digest.js";
import type { StoreDialect } from "../../src/store/dialect.js";
import { chainHash, GENESIS_HASH } from "../../src/store/ledger.js";
import { migrationProvider } from "../../src/store/migrations/index.js";
import { openPostgres } from "../../src/store/postgres/dialect.js";
import { openSqlite } from "../../src/store/sqlite/dialect.js";
import { FeedbackStore, openStore } from "../../src/store/store.js";
import { makeJudgments } from "../helpers/data.js";
import { failure } from "../helpers/errors.js";
import { PG_URL, tempDir } from "../helpers/stores.js";

const dir = tempDir("keel-open-");
let n = 0;

const pgSchemas: string[] = [];
afterAll(async () => {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  for (const s of pgSchemas) await client.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await client.end();
});

interface Target {
  readonly name: string;
  /** A fresh, empty database or schema: its `--db` target and a dialect over it. */
  fresh(): Promise<{
    target: string;
    schema?: string;
    dialect: () => Promise<StoreDialect>;
    /** Its tables, read without keel's checks. */
    tables: () => Promise<string[]>;
  }>;
}

const TARGETS: Target[] = [
  {
    name: "sqlite",
    async fresh() {
      const path = join(dir, `s${n++}.db`);
      writeFileSync(path, "");
      const tables = async () => {
        const raw = new Database(path, { readonly: true });
        const names = raw
          .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
          .all()
          .map((r) => r.name);
        raw.close();
        return names.sort();
      };
      return { target: path, dialect: async () => openSqlite({ path }), tables };
    },
  },
  {
    name: "postgres",
    async fresh() {
      const schema = `keel_open_${process.pid}_${n++}`;
      pgSchemas.push(schema);
      const dialect = () => openPostgres({ url: PG_URL, schema });
      const tables = async () => {
        const d = await dialect();
        const names = [...(await d.existingSchema()).tables].sort();
        await d.close();
        return names;
      };
      return { target: PG_URL, schema, dialect, tables };
    },
  },
];

describe("a SQLite database that is not a keel store", () => {
  it("is refused by every command, keel init included, and left unchanged", async () => {
    const path = join(dir, "app.sqlite");
    const app = new Database(path);
    app.exec("CREATE TABLE users (id, name); INSERT INTO users VALUES (1, 'ann')");
    app.close();
    const before = readFileSync(path);
    for (const create of [false, true]) {
      const e = await failure(openStore(path, { create }));
      expect(e.code).toBe("KEEL_E_STORE");
      expect(e.message).toContain("is not a keel store: it holds other tables (users)");
      expect(e.hint).not.toContain("stopped half-way");
      expect(readFileSync(path).equals(before)).toBe(true);
    }
  });

  it("with only tables named as keel's first migration's, says how an interrupted init is undone", async () => {
    const path = join(dir, "half-init.db");
    const half = new Database(path);
    // What an old keel killed inside its first `keel init` left: 0001's first tables, no record.
    half.exec(
      "CREATE TABLE texts (digest TEXT PRIMARY KEY, body TEXT); CREATE TABLE comparisons (id)",
    );
    half.close();
    const e = await failure(openStore(path, { create: true }));
    expect(e.code).toBe("KEEL_E_STORE");
    expect(e.message).toContain("is not a keel store");
    expect(e.hint).toMatch(/first `keel init` stopped half-way.*delete it.*keel init again/);
    expect(e.hint).toContain("if it is another application's");
  });

  it("is fine when empty: keel init makes it a store", async () => {
    const path = join(dir, "empty.db");
    writeFileSync(path, "");
    const store = await openStore(path, { create: true });
    expect(store.appliedOnOpen).toEqual(["0001_initial", "0002_collection", "0003_task_outcome"]);
    await store.close();
  });
});

for (const t of TARGETS) {
  describe(`an empty database on ${t.name}`, () => {
    it("is refused by every opener but keel init, and left untouched", async () => {
      const { target, schema, dialect, tables } = await t.fresh();
      await (await dialect()).close(); // PostgreSQL: an empty schema
      const before = t.name === "sqlite" ? readFileSync(target) : undefined;
      const e = await failure(openStore(target, schema ? { schema } : {}));
      expect(e.code).toBe("KEEL_E_STORE");
      expect(e.message).toMatch(/^no keel store at .*: the database is empty$/);
      expect(e.hint).toContain("keel init");
      expect(await tables()).toEqual([]);
      if (before) expect(readFileSync(target).equals(before)).toBe(true);
      const store = await openStore(target, { create: true, ...(schema ? { schema } : {}) });
      await store.close();
      const reopened = await openStore(target, schema ? { schema } : {});
      expect(reopened.appliedOnOpen).toEqual([]);
      await reopened.close();
    });
  });
}

describe("a PostgreSQL schema that does not exist", () => {
  it("is not created by an opener but keel init", async () => {
    const schema = `keel_open_${process.pid}_${n++}`;
    pgSchemas.push(schema);
    const e = await failure(openStore(`${PG_URL}?schema=${schema}`));
    expect(e.code).toBe("KEEL_E_STORE");
    expect(e.message).toContain(`schema ${schema} does not exist`);
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      const r = await client.query(
        "SELECT 1 FROM information_schema.schemata WHERE schema_name = $1",
        [schema],
      );
      expect(r.rowCount).toBe(0);
    } finally {
      await client.end();
    }
    const store = await openStore(`${PG_URL}?schema=${schema}`, { create: true });
    await store.close();
  });
});

for (const t of TARGETS) {
  describe(`migrations on ${t.name}`, () => {
    it("refuses a non-empty schema that keel did not create", async () => {
      const { target, schema, dialect, tables } = await t.fresh();
      const d = await dialect();
      await sql`CREATE TABLE users (id integer, name text)`.execute(d.db);
      await d.close();
      const e = await failure(openStore(target, schema ? { schema } : {}));
      expect(e.code).toBe("KEEL_E_STORE");
      expect(await tables()).toEqual(["users"]);
    });

    it("leaves the schema as it was when a migration fails, and upgrades an older store", async () => {
      const { target, schema, dialect, tables } = await t.fresh();
      // A store as the first keel release left it: 0001 only.
      const d = await dialect();
      const migrator = new Migrator({
        db: d.db,
        provider: migrationProvider(d.name),
        ...(d.schema ? { migrationTableSchema: d.schema } : {}),
      });
      expect((await migrator.migrateTo("0001_initial")).error).toBeUndefined();
      // A table in the way of 0002's fifth table: 0002 fails after creating four others.
      await sql`CREATE TABLE invitations (x integer)`.execute(d.db);
      await d.close();
      const before = await tables();

      const e = await failure(openStore(target, schema ? { schema } : {}));
      expect(e.code).toBe("KEEL_E_STORE");
      expect(e.message).toContain("migrating the store");
      expect(await tables()).toEqual(before);
      const after = await dialect();
      expect((await after.existingSchema()).applied).toEqual(["0001_initial"]);

      await sql`DROP TABLE invitations`.execute(after.db);
      await after.close();
      const store = await openStore(target, schema ? { schema } : {});
      expect(store.appliedOnOpen).toEqual(["0002_collection", "0003_task_outcome"]);
      await store.close();
      const reopened = await openStore(target, schema ? { schema } : {});
      expect(reopened.appliedOnOpen).toEqual([]);
      await reopened.close();
    });
  });
}

for (const t of TARGETS) {
  describe(`migration 0003 on ${t.name}`, () => {
    it("refuses a store that holds a task both judged and skipped, naming it, and leaves it as it was", async () => {
      const { target, schema, dialect } = await t.fresh();
      const opts = schema ? { schema } : {};
      // A store as keel left it before 0003: a judgment of c1 by u1, and u1's skip of c1.
      const d = await dialect();
      const migrator = new Migrator({
        db: d.db,
        provider: migrationProvider(d.name),
        ...(d.schema ? { migrationTableSchema: d.schema } : {}),
      });
      expect((await migrator.migrateTo("0002_collection")).error).toBeUndefined();
      const [p, a, b] = ["the prompt", "yes", "no"].map((x) => contentDigest(x));
      const row = {
        seq: 1,
        comparison_id: "c1",
        rater_id: "u1",
        choice: "a" as const,
        created_at: null,
        latency_ms: null,
        shown_order: null,
        rationale: null,
        flags: null,
        recorded_at: "2026-01-01T00:00:00.000Z",
      };
      const hash = chainHash(GENESIS_HASH, {
        ...row,
        prompt: p!,
        response_a: a!,
        response_b: b!,
      });
      for (const statement of [
        `INSERT INTO texts (digest, body, is_chat) VALUES ('${p}', 'the prompt', 0), ('${a}', 'yes', 0), ('${b}', 'no', 0)`,
        `INSERT INTO comparisons (comparison_id, prompt_digest, a_digest, b_digest) VALUES ('c1', '${p}', '${a}', '${b}')`,
        "INSERT INTO raters (rater_id, attributes, first_seen) VALUES ('u1', '{}', 'then')",
        `INSERT INTO judgments (seq, comparison_id, rater_id, choice, recorded_at, prev_hash, hash) VALUES (1, 'c1', 'u1', 'a', '${row.recorded_at}', '${GENESIS_HASH}', '${hash}')`,
        `UPDATE ledger_head SET seq = 1, hash = '${hash}' WHERE id = 1`,
        "INSERT INTO skips (project_id, user_id, comparison_id, reason, created_at) VALUES ('p1', 'u1', 'c1', 'unclear', 'then')",
      ]) {
        await sql.raw(statement).execute(d.db);
      }
      await d.close();

      const e = await failure(openStore(target, opts));
      expect(e.code).toBe("KEEL_E_CONFLICT");
      expect(e.message).toContain(
        "failed (it was left as it was): 1 task has both a judgment and a skip, recorded before keel kept one outcome per task: " +
          'rater "u1" judged comparison "c1" (ledger row 1) and skipped it in project "p1"',
      );
      expect(e.hint).toContain("DELETE FROM skips WHERE EXISTS");
      const after = await dialect();
      expect((await after.existingSchema()).applied).toEqual(["0001_initial", "0002_collection"]);
      const skips = await sql<{ n: number }>`SELECT count(*) AS n FROM skips`.execute(after.db);
      expect(Number(skips.rows[0]!.n)).toBe(1);
      // The hint's statement, then the store opens, with its ledger intact.
      await sql
        .raw(e.hint!.slice(e.hint!.indexOf("DELETE"), e.hint!.lastIndexOf(")")))
        .execute(after.db);
      await after.close();
      const store = await openStore(target, opts);
      try {
        expect(store.appliedOnOpen).toEqual(["0003_task_outcome"]);
        expect(await store.verifyLedger()).toMatchObject({ ok: true, rows: 1 });
      } finally {
        await store.close();
      }
    });
  });
}

for (const t of TARGETS) {
  describe(`a store from a newer keel on ${t.name}`, () => {
    it("is refused by every opener, keel init included, and left as it was", async () => {
      const { target, schema, dialect } = await t.fresh();
      const opts = schema ? { schema } : {};
      await (await openStore(target, { create: true, ...opts })).close();
      const d = await dialect();
      await sql`INSERT INTO kysely_migration (name, timestamp) VALUES ('0099_future', 'then')`.execute(
        d.db,
      );
      await d.close();
      for (const create of [false, true]) {
        const e = await failure(openStore(target, { create, ...opts }));
        expect(e.code).toBe("KEEL_E_STORE_SCHEMA");
        expect(e.message).toContain("was migrated by a newer keel: it has migrations 0099_future");
        expect(e.hint).toBe("upgrade keel");
      }
      const after = await dialect();
      expect((await after.existingSchema()).applied).toContain("0099_future");
      await after.close();
    });
  });
}

describe("a SQLite store another process is writing to", () => {
  it("says the store is busy instead of failing with a raw SQLite error", async () => {
    const path = join(dir, "busy.db");
    await (await openStore(path, { create: true })).close();
    const other = new Database(path);
    other.exec("BEGIN IMMEDIATE");
    try {
      // An up-to-date store opens without the write lock (reading goes on during an import).
      const store = new FeedbackStore(openSqlite({ path, busyTimeoutMs: 50 }), () => new Date());
      expect(await store.migrate()).toEqual([]);
      const batch = makeJudgments(2, 1).map((record, i) => ({
        ok: true as const,
        line: i + 1,
        record,
      }));
      const e = await failure(
        store.importJudgments(
          (async function* () {
            yield batch;
          })(),
        ),
      );
      // Busy: try again (exit 75, as the CLI reference tells scripts), not "store unavailable".
      expect(e.code).toBe("KEEL_E_BUSY");
      expect(e.exitCode).toBe(75);
      expect(e.message).toContain(
        "the store is busy with another write (another import?); try again",
      );
      await store.close();
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
  });
});
