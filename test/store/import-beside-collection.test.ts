/**
 * A `keel import` in its transaction while the collection writes to the same PostgreSQL store
 * (`keel project add`, the server's skips). The import holds the ledger head FOR UPDATE from
 * its first batch to COMMIT; a project addition did not look at it, so it read comparisons the
 * import was about to insert or re-gold, and a skip waited for the whole import. Each test
 * pauses a real import between two batches (a gate, not a sleep) and runs the other write on
 * its own connection.
 */
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import type { Choice, Judgment, Parsed } from "../../src/core/types.js";
import {
  addItems,
  collectionDb,
  createProject,
  recordSkip,
} from "../../src/store/collection/index.js";
import { type FeedbackStore, type ImportReport, openStore } from "../../src/store/store.js";
import { PG_URL } from "../helpers/stores.js";

const schemas: string[] = [];
afterAll(async () => {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await client.end();
});

let n = 0;

/** A fresh store, and a second connection to it that names itself (to watch it wait). */
async function twoConnections(): Promise<{
  importer: FeedbackStore;
  other: FeedbackStore;
  app: string;
}> {
  const schema = `keel_ibc_${process.pid}_${n++}`;
  schemas.push(schema);
  const importer = await openStore(PG_URL, { schema, create: true });
  const app = `keel_ibc_${process.pid}_${n++}`;
  const sep = PG_URL.includes("?") ? "&" : "?";
  const other = await openStore(`${PG_URL}${sep}application_name=${app}`, { schema });
  return { importer, other, app };
}

function judgment(id: string, rater: string, gold?: Choice, prompt?: string): Parsed<Judgment> {
  return {
    ok: true,
    line: 1,
    record: {
      comparison_id: id,
      prompt: prompt ?? `prompt ${id}`,
      response_a: `a ${id}`,
      response_b: `b ${id}`,
      rater_id: rater,
      choice: "a",
      ...(gold ? { gold } : {}),
    },
  };
}

/**
 * Imports `first`, then waits at the gate (the import's transaction open, its first batch
 * written), then imports `second`. `paused` resolves once the first batch is in.
 */
function pausedImport(store: FeedbackStore, first: Parsed<Judgment>[], second: Parsed<Judgment>[]) {
  let resume!: () => void;
  const gate = new Promise<void>((r) => {
    resume = r;
  });
  let paused!: () => void;
  const inTransaction = new Promise<void>((r) => {
    paused = r;
  });
  const done: Promise<ImportReport> = store.importJudgments(
    (async function* () {
      yield first;
      paused();
      await gate;
      yield second;
    })(),
  );
  return { paused: inTransaction, resume, done };
}

/** Resolves true once connection `app` waits for a lock, false if `settled` comes first. */
async function waitsForLock(app: string, settled: () => boolean): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    for (;;) {
      if (settled()) return false;
      const r = await c.query(
        "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
        [app],
      );
      if ((r.rowCount ?? 0) > 0) return true;
      await new Promise((res) => setTimeout(res, 10));
    }
  } finally {
    await c.end();
  }
}

/** Runs `p`, noting when it settles. */
function watched<T>(p: Promise<T>) {
  let settled = false;
  const result = p.then(
    (v) => {
      settled = true;
      return { ok: true as const, value: v };
    },
    (e: unknown) => {
      settled = true;
      return { ok: false as const, error: e as Error & { code?: string } };
    },
  );
  return { result, settled: () => settled };
}

describe("a project addition while an import is in its transaction (PostgreSQL)", () => {
  it("waits for the import: a quiz item's gold is not overwritten by the import's", async () => {
    const { importer, other, app } = await twoConnections();
    try {
      await importer.importJudgments(
        (async function* () {
          yield [judgment("X", "r0")];
        })(),
      );
      const db = collectionDb(other);
      await createProject(db, { project_id: "p", name: "p" }, new Date());
      // The import reads X (no gold yet) in its first batch and sets gold b in its second.
      const imp = pausedImport(importer, [judgment("X", "r1")], [judgment("X", "r2", "b")]);
      await imp.paused;
      const quiz = { comparison_id: "X", prompt: "prompt X", response_a: "a X", response_b: "b X" };
      const add = watched(
        addItems(db, "p", [{ kind: "quiz", batch: "q", comparison: { ...quiz, gold: "a" } }]),
      );
      await waitsForLock(app, add.settled);
      imp.resume();
      expect((await imp.done).appended).toBe(2);
      // Before: the quiz item went in with gold a, and the import then made it b without a word.
      const r = await add.result;
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe("KEEL_E_CONFLICT");
        expect(r.error.message).toContain("gold contradicts the stored gold b");
      }
      const row = await other.db
        .selectFrom("comparisons")
        .select("gold")
        .where("comparison_id", "=", "X")
        .executeTakeFirstOrThrow();
      expect(row.gold).toBe("b");
      expect((await other.verifyLedger()).ok).toBe(true);
    } finally {
      await importer.close();
      await other.close();
    }
  });

  it("waits for the import: a comparison both add is stored once, and both succeed", async () => {
    const { importer, other, app } = await twoConnections();
    try {
      const db = collectionDb(other);
      await createProject(db, { project_id: "p", name: "p" }, new Date());
      // W and Z share their prompt: the import's first batch stores it, the addition stores it
      // too, and the import stores Z in its second batch.
      const imp = pausedImport(
        importer,
        [judgment("W", "r1", undefined, "shared")],
        [judgment("Z", "r1", undefined, "shared")],
      );
      await imp.paused;
      const z = { comparison_id: "Z", prompt: "shared", response_a: "a Z", response_b: "b Z" };
      const add = watched(addItems(db, "p", [{ kind: "task", batch: "b", comparison: z }]));
      await waitsForLock(app, add.settled);
      imp.resume();
      // Before: the addition found no Z, waited on the prompt the import had stored (not yet
      // committed), and once the import had committed Z, failed on comparisons' unique key with
      // the driver's error.
      const report = await imp.done;
      expect(report.appended).toBe(2);
      expect(await add.result).toEqual({ ok: true, value: { added: 1, existing: 0 } });
      expect(await other.countJudgments({ project: "p" })).toBe(1);
      expect((await other.verifyLedger()).ok).toBe(true);
    } finally {
      await importer.close();
      await other.close();
    }
  });
});

describe("a skip while an import is in its transaction (PostgreSQL)", () => {
  it("gives up after the busy timeout with KEEL_E_BUSY, as a judgment does, instead of waiting for the whole import", async () => {
    const { importer, other } = await twoConnections();
    try {
      const imp = pausedImport(importer, [judgment("A", "r1")], [judgment("B", "r1")]);
      await imp.paused;
      const skip = watched(
        recordSkip(
          collectionDb(other),
          { project_id: "p", user_id: "u", comparison_id: "C", reason: "unclear", note: null },
          new Date(),
        ),
      );
      // Before, the skip waited for the import's COMMIT: let the import go on only if the skip
      // is still waiting well past the busy timeout, so that the test ends either way.
      const stuck = setTimeout(imp.resume, 15_000);
      const r = await skip.result;
      clearTimeout(stuck);
      imp.resume();
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe("KEEL_E_BUSY");
        expect(r.error.message).toContain("the store is busy with another write");
      }
      expect((await imp.done).appended).toBe(2);
      // Nothing was written; the same skip goes through now.
      expect(
        await recordSkip(
          collectionDb(other),
          { project_id: "p", user_id: "u", comparison_id: "C", reason: "unclear", note: null },
          new Date(),
        ),
      ).toBe("recorded");
    } finally {
      await importer.close();
      await other.close();
    }
  }, 30_000);
});
