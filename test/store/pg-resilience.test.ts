/**
 * PostgreSQL misbehaving under keel: a connection killed mid-transaction or mid-COMMIT, an
 * administrator's timeouts and read-only default on keel's role, a role without privileges or
 * out of connections, a database that is not UTF8, a URL whose own options set search_path.
 * Each gives KEEL_E_STORE naming the store and what to do (never a raw driver error, never a
 * crashed process), nothing of the failed transaction is written, and the next request works.
 * The timeouts and limits are set on a scratch role of this file's own, dropped afterwards.
 */
import { sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import type { Parsed } from "../../src/core/types.js";
import { openPostgres } from "../../src/store/postgres/dialect.js";
import { FeedbackStore, openStore } from "../../src/store/store.js";
import { makeJudgments } from "../helpers/data.js";
import { failure } from "../helpers/errors.js";
import { PG_URL } from "../helpers/stores.js";

const tag = `keel_t_pgres_${process.pid}_${Date.now().toString(36)}`;
const role = `${tag}_role`;
const latin1 = `${tag}_latin1`;
const schemas: string[] = [];
let n = 0;
let admin: pg.Client;

/** PG_URL with another user and/or more query parameters. */
function url(params: Record<string, string>, user?: string, database?: string): string {
  const u = new URL(PG_URL);
  if (user) u.username = user;
  if (database) u.pathname = `/${database}`;
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
}

function scratchSchema(): string {
  const s = `${tag}_${n++}`;
  schemas.push(s);
  return s;
}

/** A new store whose connections carry `app` as application_name (to find them and kill them). */
async function openTagged(schema: string, app: string, user?: string): Promise<FeedbackStore> {
  return openStore(url({ application_name: app }, user), { schema, create: true });
}

/** Ends the sessions named `app` (and matching `where`); waits until they are gone and heard. */
async function terminate(app: string, where = "true"): Promise<number> {
  const r = await admin.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid() AND ${where}`,
    [app],
  );
  const pids = r.rows.map((x) => x.pid);
  if (pids.length === 0) return 0;
  await admin.query("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", [pids]);
  await gone("pid = ANY($1::int[])", [pids]);
  // The FATAL message reaches the client a moment after the backend has gone.
  await new Promise((res) => setTimeout(res, 100));
  return pids.length;
}

/** Waits until no session matches `where`. */
async function gone(where: string, params: unknown[]): Promise<void> {
  for (let i = 0; i < 250; i++) {
    const left = await admin.query(`SELECT 1 FROM pg_stat_activity WHERE ${where}`, params);
    if (left.rowCount === 0) return;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`sessions still there: ${where}`);
}

function lines(count: number, raters = 2, from = 0): Parsed<ReturnType<typeof makeJudgments>[0]>[] {
  return makeJudgments(count, raters)
    .slice(from)
    .map((record, i) => ({ ok: true as const, line: i + 1, record }));
}

async function roleSetting(setting: string, value: string | undefined): Promise<void> {
  const db = new URL(PG_URL).pathname.slice(1);
  await admin.query(
    value === undefined
      ? `ALTER ROLE ${role} IN DATABASE "${db}" RESET ${setting}`
      : `ALTER ROLE ${role} IN DATABASE "${db}" SET ${setting} = '${value}'`,
  );
}

beforeAll(async () => {
  admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  const db = new URL(PG_URL).pathname.slice(1);
  await admin.query(`CREATE ROLE ${role} LOGIN`);
  await admin.query(`GRANT CREATE ON DATABASE "${db}" TO ${role}`);
});

afterAll(async () => {
  // Each step on its own: one that fails (a test that left a connection open) must not leave
  // the role behind.
  const steps = [
    ...schemas.map((s) => `DROP SCHEMA IF EXISTS ${s} CASCADE`),
    `DROP DATABASE IF EXISTS ${latin1} WITH (FORCE)`,
    `DROP OWNED BY ${role}`,
    `DROP ROLE ${role}`,
  ];
  for (const step of steps) await admin.query(step).catch(() => undefined);
  await admin.end();
});

describe("a connection killed under keel", () => {
  it("mid-import: the import fails whole with KEEL_E_STORE, the process lives, the next write works", async () => {
    const schema = scratchSchema();
    const app = `${schema}_app`;
    const store = await openTagged(schema, app);
    try {
      await store.appendJudgments(makeJudgments(2, 2));
      const before = await store.ledgerHead();
      const all = lines(40, 3);
      let killed = 0;
      async function* batches() {
        yield all.slice(0, 30);
        // The import's transaction is open and idle, waiting for its input: an administrator
        // ends it (pg_terminate_backend). The dropped client used to emit an unhandled "error".
        killed = await terminate(app, "state LIKE 'idle in transaction%'");
        yield all.slice(30);
      }
      const e = await failure(store.importJudgments(batches()));
      expect(killed).toBe(1);
      expect(e).toBeInstanceOf(KeelError);
      expect(e.code).toBe("KEEL_E_STORE");
      expect(e.message).toContain(schema);
      expect(e.message).toMatch(/lost the connection to PostgreSQL.*administrator command/);
      expect(e.message).toContain("nothing of it was written");
      expect(await store.ledgerHead()).toEqual(before);
      expect(await store.countJudgments()).toBe(4);
      const r = await store.appendJudgments(makeJudgments(3, 1).slice(2));
      expect(r.head.seq).toBe(5);
      expect((await store.verifyLedger()).ok).toBe(true);
    } finally {
      await store.close();
    }
  });

  it("mid-COMMIT: KEEL_E_STORE says the outcome is unknown; the ledger stays whole; retrying works", async () => {
    const schema = scratchSchema();
    const app = `${schema}_app`;
    const store = await openTagged(schema, app);
    try {
      // COMMIT runs the deferred trigger, which sleeps: long enough to be killed in it.
      await admin.query(`
        CREATE FUNCTION ${schema}.slow() RETURNS trigger LANGUAGE plpgsql AS
          $$ BEGIN PERFORM pg_sleep(3); RETURN NULL; END $$;
        CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON ${schema}.judgments
          DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ${schema}.slow()`);
      const killer = (async () => {
        for (let i = 0; i < 200; i++) {
          const k = await terminate(app, "state = 'active' AND query ILIKE 'commit%'");
          if (k > 0) return k;
          await new Promise((res) => setTimeout(res, 20));
        }
        return 0;
      })();
      const e = await failure(store.appendJudgments(makeJudgments(1, 2)));
      expect(await killer).toBe(1);
      expect(e.code).toBe("KEEL_E_STORE");
      expect(e.message).toMatch(/while committing.*may or may not have been saved/);
      expect(e.hint).toContain("reported as a duplicate");
      await admin.query(`DROP TRIGGER slow_commit ON ${schema}.judgments`);
      const head = await store.ledgerHead();
      expect(head.seq).toBe(await store.countJudgments());
      const again = await store.appendJudgments(makeJudgments(1, 2));
      expect(again.appended + again.duplicates.length).toBe(2);
      expect(await store.countJudgments()).toBe(2);
      expect((await store.verifyLedger()).ok).toBe(true);
    } finally {
      await store.close();
    }
  });

  it("while idle in the pool: the next request opens a new connection", async () => {
    const schema = scratchSchema();
    const app = `${schema}_app`;
    const store = await openTagged(schema, app);
    try {
      await Promise.all([store.countJudgments(), store.countJudgments(), store.countJudgments()]);
      expect(await terminate(app)).toBeGreaterThan(0);
      expect(await store.countJudgments()).toBe(0);
      const r = await store.appendJudgments(makeJudgments(2, 1));
      expect(r.head.seq).toBe(2);
    } finally {
      await store.close();
    }
  });
});

describe("an administrator's settings on keel's role", () => {
  it("statement_timeout: KEEL_E_STORE naming it; nothing written", async () => {
    const schema = scratchSchema();
    const store = await openTagged(schema, `${schema}_app`, role);
    await admin.query(`
      CREATE FUNCTION ${schema}.slow() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$;
      CREATE TRIGGER slow_insert AFTER INSERT ON ${schema}.judgments
        FOR EACH STATEMENT EXECUTE FUNCTION ${schema}.slow()`);
    await store.close();
    await roleSetting("statement_timeout", "200ms");
    try {
      const s = await openTagged(schema, `${schema}_app`, role);
      try {
        const e = await failure(s.appendJudgments(makeJudgments(2, 2)));
        expect(e.code).toBe("KEEL_E_STORE");
        expect(e.message).toContain(schema);
        expect(e.message).toContain("statement timeout");
        expect(e.hint).toContain("statement_timeout");
        expect(await s.countJudgments()).toBe(0);
        expect((await s.ledgerHead()).seq).toBe(0);
      } finally {
        await s.close();
      }
    } finally {
      await roleSetting("statement_timeout", undefined);
    }
  });

  it("idle_in_transaction_session_timeout during a slow import: KEEL_E_STORE naming it, all or nothing", async () => {
    const schema = scratchSchema();
    await roleSetting("idle_in_transaction_session_timeout", "300ms");
    try {
      const store = await openTagged(schema, `${schema}_app`, role);
      try {
        const all = lines(20, 2);
        async function* slowInput() {
          yield all.slice(0, 20);
          await new Promise((res) => setTimeout(res, 1000));
          yield all.slice(20);
        }
        const e = await failure(store.importJudgments(slowInput()));
        expect(e.code).toBe("KEEL_E_STORE");
        expect(e.message).toContain("idle-in-transaction timeout");
        expect(e.hint).toContain("idle_in_transaction_session_timeout");
        expect(await store.countJudgments()).toBe(0);
        expect((await store.ledgerHead()).seq).toBe(0);
        expect((await store.appendJudgments(makeJudgments(1, 1))).head.seq).toBe(1);
      } finally {
        await store.close();
      }
    } finally {
      await roleSetting("idle_in_transaction_session_timeout", undefined);
    }
  });

  it("default_transaction_read_only: reads work, a write is KEEL_E_STORE 'cannot be written'", async () => {
    const schema = scratchSchema();
    const made = await openTagged(schema, `${schema}_app`, role);
    await made.appendJudgments(makeJudgments(2, 1));
    await made.close();
    await roleSetting("default_transaction_read_only", "on");
    try {
      const store = await openStore(url({}, role), { schema });
      try {
        expect(await store.countJudgments()).toBe(2);
        expect((await store.verifyLedger()).ok).toBe(true);
        const e = await failure(store.appendJudgments(makeJudgments(3, 1)));
        expect(e.code).toBe("KEEL_E_STORE");
        expect(e.message).toContain("the store cannot be written");
        expect(e.message).toContain("default_transaction_read_only");
        expect(await store.countJudgments()).toBe(2);
      } finally {
        await store.close();
      }
      // Creating a store there says the same, not "may the user create schemas?".
      const e = await failure(openStore(url({}, role), { schema: scratchSchema(), create: true }));
      expect(e.code).toBe("KEEL_E_STORE");
      expect(e.message).toContain("read-only");
    } finally {
      await roleSetting("default_transaction_read_only", undefined);
    }
  });

  it("a role that may read but not write: KEEL_E_STORE naming the privilege", async () => {
    const schema = scratchSchema();
    const made = await openStore(PG_URL, { schema, create: true });
    await made.close();
    const reader = `${role}_r`;
    await admin.query(`CREATE ROLE ${reader} LOGIN`);
    try {
      await admin.query(`GRANT USAGE ON SCHEMA ${schema} TO ${reader}`);
      await admin.query(`GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${reader}`);
      const store = await openStore(url({}, reader), { schema });
      try {
        expect(await store.countJudgments()).toBe(0);
        const e = await failure(store.appendJudgments(makeJudgments(1, 1)));
        expect(e.code).toBe("KEEL_E_STORE");
        expect(e.message).toContain("permission denied");
        expect(e.hint).toContain("grant");
      } finally {
        await store.close();
      }
    } finally {
      await admin.query(`DROP OWNED BY ${reader}`);
      await admin.query(`DROP ROLE ${reader}`);
    }
  });

  it("a connection limit on the role: a request that needs one more is KEEL_E_STORE", async () => {
    const schema = scratchSchema();
    const made = await openTagged(schema, `${schema}_app`, role);
    await made.close();
    await gone("usename = $1", [role]);
    await admin.query(`ALTER ROLE ${role} CONNECTION LIMIT 1`);
    try {
      const store = await openStore(url({}, role), { schema });
      try {
        // The pool holds one connection; a second request at once needs another.
        const both = await Promise.allSettled([store.countJudgments(), store.verifyLedger()]);
        const failed = both.filter((r) => r.status === "rejected");
        expect(failed).toHaveLength(1);
        const e = (failed[0] as PromiseRejectedResult).reason as KeelError;
        expect(e.code).toBe("KEEL_E_STORE");
        expect(e.message).toContain("too many connections");
        expect(await store.countJudgments()).toBe(0);
      } finally {
        await store.close();
      }
    } finally {
      await admin.query(`ALTER ROLE ${role} CONNECTION LIMIT -1`);
    }
  });
});

describe("where the store lives", () => {
  it("?schema= wins over a search_path in the URL's own options", async () => {
    const wanted = scratchSchema();
    const other = scratchSchema();
    await admin.query(`CREATE SCHEMA ${other}`);
    const store = await openStore(
      url({ schema: wanted, options: `-c search_path=${other} -c statement_timeout=60000` }),
      { create: true },
    );
    try {
      expect(store.schema).toBe(wanted);
      await store.appendJudgments(makeJudgments(1, 1));
      const inOther = await admin.query(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = $1",
        [other],
      );
      expect(inOther.rowCount).toBe(0);
      const r = await admin.query(`SELECT count(*)::int AS n FROM ${wanted}.judgments`);
      expect(r.rows[0].n).toBe(1);
      // The URL's other settings still apply.
      const t = await sql<{ t: string }>`SELECT current_setting('statement_timeout') AS t`.execute(
        store.db,
      );
      expect(t.rows[0]?.t).toBe("1min");
    } finally {
      await store.close();
    }
  });

  it("a database that is not UTF8: `keel init` refuses it; an older store's foreign text is KEEL_E_STORE", async () => {
    await admin.query(
      `CREATE DATABASE ${latin1} TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'`,
    );
    const at = url({}, undefined, latin1);
    const e = await failure(openStore(at, { schema: "k", create: true }));
    expect(e.code).toBe("KEEL_E_STORE");
    expect(e.message).toContain("LATIN1");
    expect(e.hint).toContain("ENCODING 'UTF8'");
    const c = new pg.Client({ connectionString: at });
    await c.connect();
    try {
      expect((await c.query("SELECT 1 FROM pg_namespace WHERE nspname = 'k'")).rowCount).toBe(0);
      // A store made there before keel checked: Latin-1 text goes in, other text is refused.
      await c.query("CREATE SCHEMA k");
      const old = new FeedbackStore(
        await openPostgres({ url: at, schema: "k", createSchema: false }),
        () => new Date(),
      );
      await old.migrate();
      await old.close();
      const store = await openStore(at, { schema: "k" });
      try {
        const j = makeJudgments(1, 1)[0]!;
        await store.appendJudgments([{ ...j, prompt: "café" }]);
        const f = await failure(
          store.appendJudgments([{ ...j, comparison_id: "c2", prompt: "日本語 🎉" }]),
        );
        expect(f.code).toBe("KEEL_E_STORE");
        expect(f.message).toContain("LATIN1");
        expect(f.hint).toContain("UTF8");
        expect(await store.countJudgments()).toBe(1);
      } finally {
        await store.close();
      }
    } finally {
      await c.end();
    }
  });
});
