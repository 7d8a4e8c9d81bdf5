/**
 * Several processes on one store, and stores that cannot be used as they are: a clear
 * KEEL_E_BUSY or KEEL_E_STORE naming the store, never a driver's raw error (which reads as an internal error,
 * HTTP 500 in the server).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { collectionDb, createProject, createUser } from "../../src/store/collection/index.js";
import { openPostgres } from "../../src/store/postgres/dialect.js";
import { openSqlite } from "../../src/store/sqlite/dialect.js";
import { storeStats } from "../../src/store/stats.js";
import { FeedbackStore, openStore } from "../../src/store/store.js";
import { makeJudgments } from "../helpers/data.js";
import { failure } from "../helpers/errors.js";
import { PG_URL, tempDir } from "../helpers/stores.js";

const dir = tempDir("keel-conc-");
let n = 0;

const pgSchemas: string[] = [];
afterAll(async () => {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  for (const s of pgSchemas) await client.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await client.end();
});

async function* once<T>(batch: T[]) {
  yield batch;
}

function parsed(count: number) {
  return makeJudgments(count, 1).map((record, i) => ({ ok: true as const, line: i + 1, record }));
}

describe("two `keel init` of one new PostgreSQL schema at once", () => {
  it("both succeed: the later CREATE SCHEMA finds the other's, instead of a unique violation", async () => {
    const schema = `keel_conc_${process.pid}_${n++}`;
    pgSchemas.push(schema);
    // Another session has created the schema and not committed yet: ours waits on its row in
    // pg_namespace, then fails on the unique index when it commits (IF NOT EXISTS was checked
    // before the wait).
    const other = new pg.Client({ connectionString: PG_URL });
    await other.connect();
    await other.query("BEGIN");
    await other.query(`CREATE SCHEMA ${schema}`);
    const opening = openStore(PG_URL, { schema, create: true }).then(
      (s) => s,
      (e: unknown) => e as Error,
    );
    await new Promise((r) => setTimeout(r, 300));
    await other.query("COMMIT");
    await other.end();
    const store = await opening;
    if (store instanceof Error) throw store;
    expect(store.schema).toBe(schema);
    expect((await store.verifyLedger()).ok).toBe(true);
    await store.close();
  });
});

describe("a SQLite store another connection holds the write lock of", () => {
  it("a collection write (the server's, keel project) says the store is busy", async () => {
    const path = join(dir, `busy${n++}.db`);
    await (await openStore(path, { create: true })).close();
    const other = new Database(path);
    other.exec("BEGIN IMMEDIATE");
    const store = new FeedbackStore(openSqlite({ path, busyTimeoutMs: 50 }), () => new Date());
    try {
      const db = collectionDb(store);
      // A multi-statement write (BEGIN IMMEDIATE) and a single statement alike.
      for (const write of [
        () => createProject(db, { project_id: "p", name: "p" }, new Date()),
        () => createUser(db, { login: "ann", role: "rater" }, new Date()),
      ]) {
        const e = await failure(write());
        expect(e).toBeInstanceOf(KeelError);
        expect(e.code).toBe("KEEL_E_BUSY");
        expect(e.message).toContain("the store is busy with another write");
        expect(e.where?.file).toBe(path);
      }
    } finally {
      other.exec("ROLLBACK");
      other.close();
      await store.close();
    }
  });
});

describe("a SQLite store that cannot be written", () => {
  // SQLite opens a file this user may not write read-only without a word (root may write any
  // file, so the test opens it read-only itself): reading works, the first write fails.
  it("refuses an import, a judgment and a collection write with KEEL_E_STORE naming it", async () => {
    const path = join(dir, `ro${n++}.db`);
    await (await openStore(path, { create: true })).close();
    const store = new FeedbackStore(openSqlite({ path, readonly: true }), () => new Date());
    try {
      expect((await store.verifyLedger()).ok).toBe(true);
      const writes: (() => Promise<unknown>)[] = [
        () => store.importJudgments(once(parsed(3))),
        () => store.appendJudgments(makeJudgments(1, 1)),
        () => createProject(collectionDb(store), { project_id: "p", name: "p" }, new Date()),
      ];
      for (const write of writes) {
        const e = await failure(write());
        expect(e).toBeInstanceOf(KeelError);
        expect(e.code).toBe("KEEL_E_STORE");
        expect(e.message).toContain("the store cannot be written");
        expect(e.where?.file).toBe(path);
      }
      expect((await store.ledgerHead()).seq).toBe(0);
    } finally {
      await store.close();
    }
  });
});

describe("--db naming a directory", () => {
  it("says it is a directory", async () => {
    const path = join(dir, `adir${n++}`);
    mkdirSync(path);
    for (const create of [false, true]) {
      const e = await failure(openStore(path, { create }));
      expect(e.code).toBe("KEEL_E_STORE");
      expect(e.message).toBe(`${path}: cannot open SQLite database: it is a directory`);
      expect(e.where?.file).toBe(path);
    }
  });
});

describe("keel stats while another connection appends (PostgreSQL)", () => {
  it("counts one snapshot: judgments, the head, the per-rater and per-choice sums agree", async () => {
    const schema = `keel_conc_${process.pid}_${n++}`;
    pgSchemas.push(schema);
    const writer = await openStore(PG_URL, { schema, create: true });
    const reader = await openStore(PG_URL, { schema });
    let stop = false;
    let i = 0;
    const appending = (async () => {
      while (!stop) {
        await writer.appendJudgments([
          {
            comparison_id: `c${i % 7}`,
            prompt: "p",
            response_a: "x",
            response_b: "y",
            rater_id: `r${i++}`,
            choice: "a",
          },
        ]);
      }
    })();
    try {
      const seen: string[] = [];
      for (let k = 0; k < 40; k++) {
        const s = await storeStats(reader);
        const perRater = s.per_rater.reduce((sum, r) => sum + r.judgments, 0);
        const choices = s.choices.a + s.choices.b + s.choices.tie;
        seen.push(
          [s.judgments, s.head.seq, perRater, choices, s.raters, s.per_rater.length].join(","),
        );
      }
      const n0 = (row: string) => row.split(",")[0];
      expect(seen).toEqual(seen.map((row) => Array(6).fill(n0(row)).join(",")));
      expect(i).toBeGreaterThan(0);
    } finally {
      stop = true;
      await appending;
      await writer.close();
      await reader.close();
    }
  });
});

describe("a PostgreSQL store another connection holds the ledger head of", () => {
  it("gives up after the busy timeout with KEEL_E_BUSY, as SQLite does, instead of waiting without limit", async () => {
    const schema = `keel_conc_${process.pid}_${n++}`;
    pgSchemas.push(schema);
    const store = new FeedbackStore(
      await openPostgres({ url: PG_URL, schema, createSchema: true, busyTimeoutMs: 300 }),
      () => new Date(),
    );
    try {
      await store.migrate();
      const other = new pg.Client({ connectionString: PG_URL });
      await other.connect();
      try {
        await other.query("BEGIN");
        await other.query(`SELECT seq FROM ${schema}.ledger_head WHERE id = 1 FOR UPDATE`);
        const e = await failure(store.appendJudgments(makeJudgments(2, 1)));
        expect(e).toBeInstanceOf(KeelError);
        expect(e.code).toBe("KEEL_E_BUSY");
        expect(e.message).toContain("the store is busy with another write");
        // It names the store: the database alone would not say which of its stores is busy.
        expect(e.where?.file).toContain(`(schema ${schema})`);
        await other.query("COMMIT");
      } finally {
        await other.end();
      }
      // The lock released, the same append goes through.
      expect((await store.appendJudgments(makeJudgments(2, 1))).rows).toHaveLength(2);
      expect((await store.verifyLedger()).ok).toBe(true);
    } finally {
      await store.close();
    }
  });
});
