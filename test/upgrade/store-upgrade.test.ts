/**
 * Stores written by older keels, opened by this one. The fixtures are SQLite stores made by
 * the keel of the commit in their names (test/fixtures/upgrade/*.json says how, and holds what
 * that keel printed for `ledger head`, `stats --json` and `project show --json`): opening one
 * migrates it, and the ledger, its head and every count stay as they were.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { openStore } from "../../src/store/store.js";
import { runCli } from "../helpers/cli.js";
import { failure } from "../helpers/errors.js";
import { tempDir } from "../helpers/stores.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "upgrade");
const dir = tempDir("keel-upgrade-");
let n = 0;

interface Expected {
  readonly head: { seq: number; hash: string };
  readonly stats: unknown;
  readonly project_show?: unknown;
}

/** A fresh copy of fixture `name` and what the keel that made it printed. */
function fixture(name: string): { path: string; expected: Expected } {
  const path = join(dir, `${n++}-${name}.db`);
  writeFileSync(path, gunzipSync(readFileSync(join(FIXTURES, `${name}.db.gz`))));
  const expected = JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), "utf8")) as Expected;
  return { path, expected };
}

function sqlite(path: string, statements: readonly string[]): void {
  const raw = new Database(path);
  for (const s of statements) raw.exec(s);
  raw.close();
}

function tableNames(path: string): string[] {
  const raw = new Database(path, { readonly: true });
  const names = raw
    .prepare<[], { name: string }>("SELECT name FROM sqlite_master ORDER BY name")
    .all()
    .map((r) => r.name);
  raw.close();
  return names;
}

async function json(args: string[]): Promise<unknown> {
  const r = await runCli([...args, "--json"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

/** The ledger verifies against the old keel's head, and stats are what it printed. */
async function expectIntact(path: string, expected: Expected): Promise<void> {
  const verify = await runCli([
    "ledger",
    "verify",
    "--db",
    path,
    "--expect-head",
    expected.head.hash,
  ]);
  expect(verify.code, verify.stderr).toBe(0);
  expect(await json(["ledger", "head", "--db", path])).toEqual(expected.head);
  expect(await json(["stats", "--db", path])).toEqual(expected.stats);
}

/**
 * What keel 4daaa38…e09be84 left in a store when killed inside migration 0002: they ran SQLite
 * migrations a statement at a time, so the first of 0002's statements were committed and 0002
 * was not recorded. (The SQL is the text those keels issued, as sqlite_master kept it.)
 */
const HALF_OF_0002 = [
  `CREATE TABLE "settings" ("key" text primary key, "value" text not null) without rowid`,
  `CREATE TABLE "users" ("user_id" text primary key, "login" text not null unique, "display_name" text not null, "role" text not null check (role IN ('owner', 'admin', 'reviewer', 'rater')), "password_hash" text, "disabled" integer default 0 not null, "created_at" text not null) without rowid`,
  `CREATE TABLE "sessions" ("token_hash" text primary key, "user_id" text not null references "users" ("user_id"), "csrf_token" text not null, "created_at" text not null, "expires_at" text not null) without rowid`,
  `CREATE INDEX "sessions_user" on "sessions" ("user_id")`,
];

describe("a store from before migration 0002 (keel 4daaa38)", () => {
  it("is migrated on open with its ledger, head and stats as they were", async () => {
    const { path, expected } = fixture("store-0001-4daaa38");
    const store = await openStore(path);
    expect(store.appliedOnOpen).toEqual(["0002_collection", "0003_task_outcome"]);
    await store.close();
    await expectIntact(path, expected);
  });

  it("left half-way through 0002 by a keel that migrated without a transaction, is completed", async () => {
    const { path, expected } = fixture("store-0001-4daaa38");
    sqlite(path, HALF_OF_0002);
    // Before the leftovers were recognised: `table "settings" already exists`, at every open.
    const store = await openStore(path);
    expect(store.appliedOnOpen).toEqual(["0002_collection", "0003_task_outcome"]);
    await store.close();
    await expectIntact(path, expected);
    // The same schema as a store migrated in one go.
    const whole = fixture("store-0001-4daaa38");
    await (await openStore(whole.path)).close();
    expect(tableNames(path)).toEqual(tableNames(whole.path));
  });

  it("keeps a leftover that holds rows, and fails naming it, leaving the store as it was", async () => {
    const { path } = fixture("store-0001-4daaa38");
    sqlite(path, [...HALF_OF_0002, `INSERT INTO settings VALUES ('secret', 'not keel''s')`]);
    const before = tableNames(path);
    const e = await failure(openStore(path));
    expect(e.code).toBe("KEEL_E_STORE");
    expect(e.message).toContain('table "settings" already exists');
    expect(tableNames(path)).toEqual(before);
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare("SELECT value FROM settings").pluck().get()).toBe("not keel's");
    raw.close();
  });

  it("keeps a table of another shape by a name 0002 uses, and fails naming it", async () => {
    const { path } = fixture("store-0001-4daaa38");
    sqlite(path, [HALF_OF_0002[0]!, "CREATE TABLE users (x integer)"]);
    const before = tableNames(path);
    const e = await failure(openStore(path));
    expect(e.message).toContain('table "settings" already exists');
    expect(tableNames(path)).toEqual(before);
  });
});

describe("a store from before migration 0003 (keel 152928e, with collection data)", () => {
  it("keeps its projects, users, judgments and skips, and holds one outcome per task from now on", async () => {
    const { path, expected } = fixture("store-0002-152928e");
    const store = await openStore(path);
    expect(store.appliedOnOpen).toEqual(["0003_task_outcome"]);
    await store.close();
    await expectIntact(path, expected);
    expect(await json(["project", "show", "helpful", "--db", path])).toEqual(expected.project_show);
    // 0003's trigger is in place: a judgment of a task the rater skipped is refused.
    const raw = new Database(path);
    const skip = raw
      .prepare<[], { user_id: string; comparison_id: string }>(
        "SELECT user_id, comparison_id FROM skips ORDER BY created_at LIMIT 1",
      )
      .get()!;
    expect(() =>
      raw
        .prepare(
          "INSERT INTO judgments (seq, comparison_id, rater_id, choice, recorded_at, prev_hash, hash) VALUES (999, ?, ?, 'a', 'now', 'x', 'y')",
        )
        .run(skip.comparison_id, skip.user_id),
    ).toThrow(/the rater skipped this comparison/);
    expect(raw.prepare("SELECT count(*) FROM skips").pluck().get()).toBe(5);
    raw.close();
  });
});
