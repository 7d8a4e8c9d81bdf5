/**
 * Ctrl-C (or SIGTERM) during `keel import`: the import is one transaction, so it is rolled back;
 * the command says so and exits 130 instead of ending without a word, leaves no temporary file,
 * and the next import works. Also the batch source's stop on its own.
 */

import { getEventListeners } from "node:events";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { untilAborted } from "../../src/cli/actions/import.js";
import { KeelError } from "../../src/core/errors.js";
import { runCli } from "../helpers/cli.js";
import { makeJudgments } from "../helpers/data.js";
import { failure } from "../helpers/errors.js";
import { dialectFixtures, PG_URL, tempDir, verifiedLedgerRows } from "../helpers/stores.js";

const root = tempDir("keel-import-interrupt-");
let n = 0;

const ledgerRows = verifiedLedgerRows;

/** Resolves once `path` exists (the store's WAL: the import has opened it). */
async function appears(path: string): Promise<void> {
  while (!existsSync(path)) await new Promise((r) => setTimeout(r, 5));
}

/** Resolves once a transaction holds the ledger head of the store at `url` (the import's). */
async function headLocked(url: string): Promise<void> {
  const schema = new URL(url).searchParams.get("schema");
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    for (;;) {
      const r = await client.query(
        `SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
         JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relname = 'ledger_head' AND l.mode = 'RowShareLock' AND l.granted`,
        [schema],
      );
      if (r.rowCount) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    await client.end();
  }
}

const postgres = dialectFixtures().find((f) => f.name === "postgres")!;

describe("keel import interrupted", () => {
  const rows = makeJudgments(10_000, 3).map((j) => JSON.stringify(j));

  // On PostgreSQL the import must also roll back and let go of the ledger head's row lock, or
  // the next import waits for it. (Fewer rows there: the signal comes once the lock is taken.)
  it.each([
    ["SIGINT", "in a worker", "sqlite", []],
    ["SIGTERM", "in a worker", "sqlite", []],
    ["SIGINT", "in the main thread", "sqlite", ["--no-parallel"]],
    ["SIGINT", "in a worker", "postgres", []],
  ] as const)(
    "by %s %s says so, imports nothing, and the next import works (%s)",
    async (signal, _, dialect, extra) => {
      const lines = dialect === "sqlite" ? rows : rows.slice(0, 3000);
      const dir = join(root, `d${n++}`);
      mkdirSync(dir);
      const db = dialect === "sqlite" ? join(dir, "k.db") : postgres.target();
      const file = join(dir, "in.jsonl");
      writeFileSync(file, `${lines.join("\n")}\n`);
      writeFileSync(join(dir, "seed.jsonl"), `${rows[0]}\n`);
      expect((await runCli(["init", "--db", db, "-q"])).code).toBe(0);
      const seed = ["import", join(dir, "seed.jsonl"), "--db", db, "-q", "--no-parallel"];
      expect((await runCli(seed)).code).toBe(0);
      const args = ["import", file, "--db", db, "--skip-invalid", "-q", ...extra];
      const run = runCli(args);
      await (dialect === "sqlite" ? appears(`${db}-wal`) : headLocked(db));
      process.emit(signal, signal);
      const r = await run;
      expect(r.code).toBe(130);
      expect(r.stderr).toContain("stopping the import; nothing will be imported");
      expect(r.stderr).toContain(
        `KEEL_E_INTERRUPTED: ${file}: the import was interrupted: nothing was imported`,
      );
      expect(await ledgerRows(db)).toBe(1);
      expect(readdirSync(dir).filter((f) => !f.startsWith("k.db"))).toEqual([
        "in.jsonl",
        "seed.jsonl",
      ]);
      // Its handlers are gone: the next import runs to the end.
      const again = await runCli(["import", file, "--db", db, "-q", ...extra]);
      expect(again.code).toBe(0);
      expect(await ledgerRows(db)).toBe(lines.length);
    },
    60_000,
  );
});

describe("untilAborted", () => {
  async function* source(batches: number, thenWait = false): AsyncGenerator<number> {
    for (let i = 0; i < batches; i++) yield i;
    if (thenWait) await new Promise(() => undefined); // standard input that sends nothing
  }

  it("passes every batch through, leaving no listener on the signal between batches", async () => {
    const ac = new AbortController();
    const seen: number[] = [];
    for await (const b of untilAborted(source(5), ac.signal, "f")) {
      seen.push(b);
      expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    }
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  });

  it("stops at once when aborted while a batch is awaited, naming the file", async () => {
    const ac = new AbortController();
    const it = untilAborted(source(2, true), ac.signal, "in.jsonl");
    expect((await it.next()).value).toBe(0);
    expect((await it.next()).value).toBe(1);
    const waiting = it.next();
    ac.abort();
    const e = await failure(waiting);
    expect(e).toBeInstanceOf(KeelError);
    expect(e.code).toBe("KEEL_E_INTERRUPTED");
    expect(e.message).toBe(
      "in.jsonl: the import was interrupted: nothing was imported (an import is one transaction, rolled back)",
    );
  });
});
