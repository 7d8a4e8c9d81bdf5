/**
 * A bulk SQLite import that outgrows the store drops the secondary indexes no ledger write reads
 * and builds them again before COMMIT; a rollback brings them back untouched.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { DEFERRABLE_INDEXES, openSqlite, SqliteWriter } from "../../src/store/sqlite/dialect.js";
import { FeedbackStore, openStore } from "../../src/store/store.js";
import { asBatches, fixedClock, makeJudgments } from "../helpers/data.js";
import { tempDir } from "../helpers/stores.js";

const dir = tempDir("keel-bulk-");
let n = 0;

/** A new keel store file (schema migrated), closed again. */
async function newStoreFile(): Promise<string> {
  const path = join(dir, `b${n++}.db`);
  const store = await openStore(path, { create: true });
  await store.close();
  return path;
}

function indexSql(raw: Database.Database): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const name of DEFERRABLE_INDEXES) {
    out[name] = raw
      .prepare<[string], { sql: string }>("SELECT sql FROM sqlite_master WHERE name = ?")
      .get(name)?.sql;
  }
  return out;
}

async function storeOver(path: string, deferIndexesAfter: number): Promise<FeedbackStore> {
  const store = new FeedbackStore(openSqlite({ path, deferIndexesAfter }), fixedClock());
  await store.migrate();
  return store;
}

/** `count` judgment rows from `seq` on (raw rows: the writer checks nothing of them). */
function rows(seq: number, count: number, comparison_id = "c") {
  return Array.from({ length: count }, (_, i) => ({
    seq: seq + i,
    comparison_id,
    rater_id: `x${seq + i}`,
    choice: "a" as const,
    created_at: null,
    latency_ms: null,
    shown_order: null,
    rationale: null,
    flags: null,
    recorded_at: "2026-06-01T00:00:00.000Z",
    prev_hash: "0".repeat(64),
    hash: "1".repeat(64),
  }));
}

const batchOf = (judgments: ReturnType<typeof rows>) => ({
  texts: [],
  comparisons: [],
  gold: [],
  raters: [],
  judgments,
});

describe("SQLite bulk import: deferred secondary indexes", () => {
  it("drops them inside the transaction once past the threshold and the store's size", async () => {
    const path = await newStoreFile();
    const raw = new Database(path);
    const before = indexSql(raw);
    expect(Object.values(before).every((s) => s !== undefined)).toBe(true);
    raw.pragma("foreign_keys = OFF");
    raw.exec("BEGIN IMMEDIATE");
    const w = new SqliteWriter(raw, { deferIndexesAfter: 3 });
    await w.write(batchOf(rows(1, 2)));
    expect(indexSql(raw)).toEqual(before); // 2 < 3: still maintained
    await w.write(batchOf(rows(3, 2)));
    expect(Object.values(indexSql(raw))).toEqual([undefined, undefined]);
    raw.pragma("temp_store = FILE");
    w.restoreIndexes();
    expect(indexSql(raw)).toEqual(before);
    // The rebuild sorts in memory, then leaves the connection's setting as it found it.
    expect(raw.pragma("temp_store", { simple: true })).toBe(1);
    raw.exec("ROLLBACK");
    raw.close();
  });

  it("keeps them when the store already holds more than the import", async () => {
    const path = await newStoreFile();
    const first = await storeOver(path, 10);
    await first.importJudgments(asBatches(makeJudgments(20, 3)));
    await first.close();
    const raw = new Database(path);
    const before = indexSql(raw);
    raw.pragma("foreign_keys = OFF");
    raw.exec("BEGIN IMMEDIATE");
    const w = new SqliteWriter(raw, { deferIndexesAfter: 10 });
    expect(w.head.seq).toBe(60);
    await w.write(batchOf(rows(61, 30, "c0")));
    expect(indexSql(raw)).toEqual(before); // 30 appended ≤ 60 stored
    raw.exec("ROLLBACK");
    raw.close();
  });

  it("a committed import has them back, and the ledger verifies", async () => {
    const path = await newStoreFile();
    const store = await storeOver(path, 10);
    const report = await store.importJudgments(asBatches(makeJudgments(40, 3), 16));
    expect(report.appended).toBe(120);
    expect((await store.verifyLedger()).ok).toBe(true);
    await store.close();
    const raw = new Database(path, { readonly: true });
    const after = indexSql(raw);
    expect(after.comparisons_prompt).toMatch(/CREATE INDEX "comparisons_prompt"/);
    expect(after.judgments_rater).toMatch(/CREATE INDEX "judgments_rater"/);
    expect(raw.pragma("integrity_check", { simple: true })).toBe("ok");
    const plan = raw
      .prepare("EXPLAIN QUERY PLAN SELECT seq FROM judgments WHERE rater_id = ?")
      .all("r1") as { detail: string }[];
    expect(plan.map((p) => p.detail).join(" ")).toContain("judgments_rater");
    raw.close();
  });

  it("an import that fails after dropping them rolls back with them intact", async () => {
    const path = await newStoreFile();
    const raw0 = new Database(path, { readonly: true });
    const before = indexSql(raw0);
    raw0.close();
    const store = await storeOver(path, 10);
    const good = makeJudgments(40, 3);
    async function* batches() {
      yield* asBatches(good, 16);
      // A conflicting comparison: same id, other texts. Without skipInvalid this throws.
      yield* asBatches([{ ...good[0]!, rater_id: "late", response_a: "something else" }]);
    }
    await expect(store.importJudgments(batches())).rejects.toThrow(/c0/);
    expect((await store.ledgerHead()).seq).toBe(0);
    await store.close();
    const raw = new Database(path, { readonly: true });
    expect(indexSql(raw)).toEqual(before);
    expect(raw.pragma("integrity_check", { simple: true })).toBe("ok");
    raw.close();
  });
});
