/** `keel ledger verify` against tampering the main ledger suite does not try. */
import { sql } from "kysely";
import { beforeEach, describe, expect, it } from "vitest";
import { type FeedbackStore, openStore } from "../../src/store/store.js";
import { asBatches, collect, makeJudgments } from "../helpers/data.js";
import { dialectFixtures, PG_URL } from "../helpers/stores.js";

/** A store of 5 comparisons × 2 raters whose ledger verifies, to tamper with. */
async function verifiedStore(
  fx: ReturnType<typeof dialectFixtures>[number],
): Promise<FeedbackStore> {
  const store = await fx.open();
  await store.importJudgments(asBatches(makeJudgments(5, 2)));
  expect((await store.verifyLedger()).ok).toBe(true);
  return store;
}

for (const fx of dialectFixtures()) {
  describe(`keel ledger verify on ${fx.name}: texts`, () => {
    let store: FeedbackStore;
    beforeEach(async () => {
      store = await verifiedStore(fx);
      return () => store.close();
    });

    /** Deletes a text from under its comparisons, foreign keys notwithstanding. */
    const deleteText = async (digest: string) => {
      if (fx.name === "sqlite") {
        await fx.tamper(store, [
          "PRAGMA foreign_keys = OFF",
          `DELETE FROM texts WHERE digest = '${digest}'`,
          "PRAGMA foreign_keys = ON",
        ]);
      } else {
        await fx.tamper(store, [
          ...["prompt_digest", "a_digest", "b_digest"].map(
            (c) => `ALTER TABLE comparisons DROP CONSTRAINT comparisons_${c}_fkey`,
          ),
          `DELETE FROM texts WHERE digest = '${digest}'`,
        ]);
      }
    };

    it.each([
      ["response text", "b_digest", "response B"],
      ["prompt text", "prompt_digest", "its prompt"],
    ] as const)(
      "detects a deleted %s, at the first judgment that needs it",
      async (_, column, named) => {
        const c = await store.db
          .selectFrom("comparisons")
          .selectAll()
          .where("comparison_id", "=", "c2")
          .executeTakeFirstOrThrow();
        const first = (await collect(store.judgments())).find((e) => e.comparison_id === "c2")!;
        await deleteText(c[column]);
        const v = await store.verifyLedger({ pageSize: 3 });
        expect(v.ok).toBe(false);
        expect(v.firstBreak).toMatchObject({ kind: "text-missing", seq: first.seq });
        expect(v.firstBreak!.message).toContain(named);
      },
    );

    it("reports an edited text no judgment refers to at row 0, after any row's break", async () => {
      await fx.tamper(store, [
        `INSERT INTO texts (digest, body, is_chat) VALUES ('${"f".repeat(64)}', 'orphan', 0)`,
      ]);
      const v = await store.verifyLedger({ pageSize: 3 });
      expect(v.firstBreak).toMatchObject({ kind: "text-edited", seq: 0 });
      expect(v.firstBreak!.message).toContain("no judgment refers to it");
      await fx.tamper(store, ["DELETE FROM judgments WHERE seq = 6"]);
      const w = await store.verifyLedger({ pageSize: 3 });
      expect(w.firstBreak).toMatchObject({ kind: "missing", seq: 6 });
    });

    it("checks every text when pages shrink to hold long texts", async () => {
      const long = await fx.open();
      try {
        await long.importJudgments(
          asBatches(
            Array.from({ length: 100 }, (_, i) => ({
              comparison_id: `long${i}`,
              prompt: `p${i} ${"x".repeat(i % 2 === 1 ? 400_000 : 10)}`,
              response_a: `a${i}`,
              response_b: `b${i}`,
              rater_id: "r1",
              choice: "a" as const,
            })),
            20,
          ),
        );
        expect(await long.verifyLedger()).toMatchObject({ ok: true, texts: 300 });
        await fx.tamper(long, [
          "UPDATE texts SET body = body || '!' WHERE digest = (SELECT max(digest) FROM texts)",
        ]);
        const v = await long.verifyLedger();
        expect(v.texts).toBe(300);
        expect(v.firstBreak).toMatchObject({ kind: "text-edited" });
      } finally {
        await long.close();
      }
    });

    it("reads of a store with unparseable JSON columns fail with a keel error, not a crash", async () => {
      await fx.tamper(store, [
        "UPDATE judgments SET flags = 'oops' WHERE seq = 2",
        "UPDATE raters SET attributes = '{bad' WHERE rater_id = 'r1'",
      ]);
      await expect(collect(store.judgments())).rejects.toMatchObject({
        code: "KEEL_E_LEDGER_BROKEN",
        message: expect.stringContaining("judgment row 2"),
      });
      await expect(store.raters()).rejects.toMatchObject({
        code: "KEEL_E_STORE",
        message: expect.stringContaining('rater "r1"'),
      });
      expect((await store.verifyLedger()).firstBreak).toMatchObject({ kind: "edited", seq: 2 });
    });

    it("detects a text whose chat flag was flipped", async () => {
      const t = await store.db
        .selectFrom("texts")
        .select("digest")
        .limit(1)
        .executeTakeFirstOrThrow();
      await fx.tamper(store, [
        `UPDATE texts SET is_chat = 1 - is_chat WHERE digest = '${t.digest}'`,
      ]);
      expect((await store.verifyLedger()).firstBreak).toMatchObject({ kind: "text-edited" });
    });
  });
}

for (const fx of dialectFixtures()) {
  describe(`keel ledger verify on ${fx.name}: a live store`, () => {
    it("accepts an anchored head the ledger has grown past, and refuses one it lacks", async () => {
      const store = await fx.open();
      try {
        const all = makeJudgments(6, 2);
        const empty = await store.ledgerHead();
        await store.importJudgments(asBatches(all.slice(0, 5)));
        const anchored = await store.ledgerHead();
        await store.importJudgments(asBatches(all.slice(5)));
        const v = await store.verifyLedger({ expectHead: anchored.hash, pageSize: 2 });
        expect(v).toMatchObject({ ok: true, anchoredAt: anchored.seq });
        expect(await store.verifyLedger({ expectHead: empty.hash })).toMatchObject({
          ok: true,
          anchoredAt: 0,
        });
        const other = await store.verifyLedger({ expectHead: "e".repeat(64) });
        expect(other.firstBreak).toMatchObject({ kind: "head-mismatch", seq: all.length });
      } finally {
        await store.close();
      }
    });

    /** Another process's handle on the same store. */
    const reopen = async (store: FeedbackStore) => {
      if (fx.name === "sqlite") return openStore(store.location);
      const r = await sql<{ s: string }>`SELECT current_schema() AS s`.execute(store.db);
      return openStore(PG_URL, { schema: r.rows[0]!.s });
    };

    it("verifies the ledger as it was when it began, whatever is appended meanwhile", async () => {
      const store = await fx.open();
      const other = await reopen(store);
      try {
        const all = makeJudgments(8, 2);
        await store.importJudgments(asBatches(all.slice(0, 5)));
        const before = await store.ledgerHead();
        let appended = false;
        const v = await store.verifyLedger({
          pageSize: 2,
          onProgress: async () => {
            if (appended) return;
            appended = true;
            await other.importJudgments(asBatches(all.slice(5)));
          },
        });
        expect(v.firstBreak).toBeUndefined();
        expect(v.ok).toBe(true);
        expect(v.head).toEqual(before);
        expect((await store.ledgerHead()).seq).toBe(all.length);
        expect((await store.verifyLedger()).ok).toBe(true);
      } finally {
        await other.close();
        await store.close();
      }
    });
  });
}

for (const fx of dialectFixtures()) {
  describe(`keel ledger verify on ${fx.name}: where the break is`, () => {
    let store: FeedbackStore;
    beforeEach(async () => {
      store = await verifiedStore(fx);
      return () => store.close();
    });

    it("names an edited text at the first judgment that refers to it, with the field", async () => {
      const c = await store.db
        .selectFrom("comparisons")
        .selectAll()
        .where("comparison_id", "=", "c2")
        .executeTakeFirstOrThrow();
      const first = (await collect(store.judgments())).find((e) => e.comparison_id === "c2")!;
      await fx.tamper(store, [`UPDATE texts SET body = 'tampered' WHERE digest = '${c.b_digest}'`]);
      const b = (await store.verifyLedger({ pageSize: 3 })).firstBreak!;
      expect(b).toEqual({
        kind: "text-edited",
        seq: first.seq,
        message: `row ${first.seq} (comparison "c2"): its response B (text ${c.b_digest.slice(0, 12)}…) does not match its digest (edited)`,
      });
    });

    it("prefers an earlier row's break to an edited text of a later row, and the reverse", async () => {
      const c4 = await store.db
        .selectFrom("comparisons")
        .selectAll()
        .where("comparison_id", "=", "c4")
        .executeTakeFirstOrThrow();
      await fx.tamper(store, [
        `UPDATE texts SET body = 'tampered' WHERE digest = '${c4.a_digest}'`,
        "UPDATE judgments SET choice = CASE choice WHEN 'a' THEN 'b' ELSE 'a' END WHERE seq = 2",
      ]);
      expect((await store.verifyLedger()).firstBreak).toMatchObject({ kind: "edited", seq: 2 });
      const c0 = await store.db
        .selectFrom("comparisons")
        .selectAll()
        .where("comparison_id", "=", "c0")
        .executeTakeFirstOrThrow();
      await fx.tamper(store, [`UPDATE texts SET body = 'x' WHERE digest = '${c0.prompt_digest}'`]);
      expect((await store.verifyLedger()).firstBreak).toMatchObject({
        kind: "text-edited",
        seq: 1,
        message: expect.stringContaining('row 1 (comparison "c0"): its prompt'),
      });
    });

    it("says the head was rewritten when only its hash changed, at the last row", async () => {
      const head = await store.ledgerHead();
      await fx.tamper(store, [`UPDATE ledger_head SET hash = '${"e".repeat(64)}' WHERE id = 1`]);
      const b = (await store.verifyLedger()).firstBreak!;
      expect(b).toMatchObject({ kind: "head-mismatch", seq: head.seq });
      expect(b.message).toBe(
        `the recorded head (row 10, hash eeeeeeeeeeee…) is not row 10's hash ${head.hash.slice(0, 12)}…: the head was rewritten, or row 10 was replaced`,
      );
    });

    it("tells a head whose sequence number was rewritten from rows appended outside keel", async () => {
      await fx.tamper(store, ["UPDATE ledger_head SET seq = 7 WHERE id = 1"]);
      const b = (await store.verifyLedger()).firstBreak!;
      expect(b).toMatchObject({ kind: "head-mismatch", seq: 8 });
      expect(b.message).toContain("carries the hash of row 10, the chain's end");
      expect(b.message).toContain("the head's sequence number was rewritten");
    });

    it("tells rows appended outside keel to a ledger whose recorded head is still empty", async () => {
      await fx.tamper(store, [
        `UPDATE ledger_head SET seq = 0, hash = '${"0".repeat(64)}' WHERE id = 1`,
      ]);
      const b = (await store.verifyLedger()).firstBreak!;
      expect(b).toMatchObject({ kind: "head-mismatch", seq: 1 });
      expect(b.message).toContain("rows 1..10 were appended outside keel");
    });

    it("says rows were removed from the end when the chain stops short of the head", async () => {
      await fx.tamper(store, ["DELETE FROM judgments WHERE seq >= 9"]);
      const b = (await store.verifyLedger()).firstBreak!;
      expect(b).toMatchObject({ kind: "head-mismatch", seq: 9 });
      expect(b.message).toContain("rows 9..10 were removed from the end");
    });

    it("names a judgment whose comparison was deleted", async () => {
      const first = (await collect(store.judgments())).find((e) => e.comparison_id === "c3")!;
      if (fx.name === "sqlite") {
        await fx.tamper(store, [
          "PRAGMA foreign_keys = OFF",
          "DELETE FROM comparisons WHERE comparison_id = 'c3'",
          "PRAGMA foreign_keys = ON",
        ]);
      } else {
        await fx.tamper(store, [
          "ALTER TABLE judgments DROP CONSTRAINT judgments_comparison_id_fkey",
          "DELETE FROM comparisons WHERE comparison_id = 'c3'",
        ]);
      }
      expect((await store.verifyLedger()).firstBreak).toEqual({
        kind: "edited",
        seq: first.seq,
        message: `row ${first.seq}: its comparison "c3" is missing from the store (deleted)`,
      });
    });
  });
}
