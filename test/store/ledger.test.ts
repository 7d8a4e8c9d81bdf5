import fc from "fast-check";
import { beforeEach, describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/core/canonical.js";
import {
  chainHash,
  encodeLedgerRecord,
  GENESIS_HASH,
  type LedgerRecord,
} from "../../src/store/ledger.js";
import type { FeedbackStore } from "../../src/store/store.js";
import { asBatches, collect, makeJudgments } from "../helpers/data.js";
import { dialectFixtures } from "../helpers/stores.js";

describe("ledger record encoding", () => {
  it("is byte-identical to canonical JSON of the same record (nulls omitted)", () => {
    const nullable = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });
    fc.assert(
      fc.property(
        fc.record({
          seq: fc.nat(),
          comparison_id: fc.string(),
          rater_id: fc.string(),
          choice: fc.constantFrom("a" as const, "b" as const, "tie" as const),
          prompt: fc.string(),
          response_a: fc.string(),
          response_b: fc.string(),
          created_at: nullable(fc.string()),
          latency_ms: nullable(fc.double({ noNaN: true, noDefaultInfinity: true })),
          shown_order: nullable(fc.constantFrom("ab" as const, "ba" as const)),
          rationale: nullable(fc.string()),
          flags: nullable(fc.array(fc.string())),
          recorded_at: fc.string(),
        }),
        (r: LedgerRecord) => {
          const obj: Record<string, unknown> = { v: 1 };
          for (const [k, v] of Object.entries(r)) if (v !== null) obj[k] = v;
          expect(encodeLedgerRecord(r)).toBe(canonicalJson(obj));
        },
      ),
    );
  });
});

/** Builds an INSERT for a row an attacker forges with a correct hash for its content. */
async function forgedInsert(
  store: FeedbackStore,
  f: { seq: number; prevHash: string; comparison_id: string; rater_id: string; choice: "a" | "b" },
): Promise<{ sql: string; hash: string }> {
  const c = await store.db
    .selectFrom("comparisons")
    .selectAll()
    .where("comparison_id", "=", f.comparison_id)
    .executeTakeFirstOrThrow();
  const recorded_at = "2026-06-01T00:00:00.000Z";
  const hash = chainHash(f.prevHash, {
    seq: f.seq,
    comparison_id: f.comparison_id,
    rater_id: f.rater_id,
    choice: f.choice,
    prompt: c.prompt_digest,
    response_a: c.a_digest,
    response_b: c.b_digest,
    created_at: null,
    latency_ms: null,
    shown_order: null,
    rationale: null,
    flags: null,
    recorded_at,
  });
  return {
    hash,
    sql:
      "INSERT INTO judgments (seq, comparison_id, rater_id, choice, recorded_at, prev_hash, hash) VALUES " +
      `(${f.seq}, '${f.comparison_id}', '${f.rater_id}', '${f.choice}', '${recorded_at}', '${f.prevHash}', '${hash}')`,
  };
}

for (const fx of dialectFixtures()) {
  describe(`keel ledger verify on ${fx.name}`, () => {
    let store: FeedbackStore;
    let hashes: string[];

    beforeEach(async () => {
      store = await fx.open();
      await store.importJudgments(asBatches(makeJudgments(5, 2)));
      hashes = (await collect(store.judgments())).map((e) => e.hash);
      expect((await store.verifyLedger()).ok).toBe(true);
      return () => store.close();
    });

    const firstBreak = async (expectHead?: string) => {
      const v = await store.verifyLedger(
        expectHead ? { expectHead, pageSize: 3 } : { pageSize: 3 },
      );
      expect(v.ok).toBe(false);
      return v.firstBreak!;
    };

    /** SQL that adds rater mallory and, after `renumber`, a forged row at `seq` linked to `prevHash`. */
    const forgedMallory = async (seq: number, prevHash: string, renumber: string[] = []) => [
      "INSERT INTO raters (rater_id, attributes, first_seen) VALUES ('mallory', '{}', 'now')",
      ...renumber,
      (
        await forgedInsert(store, {
          seq,
          prevHash,
          comparison_id: "c1",
          rater_id: "mallory",
          choice: "b",
        })
      ).sql,
    ];

    it("detects an edited row", async () => {
      await fx.tamper(store, [
        "UPDATE judgments SET choice = CASE choice WHEN 'a' THEN 'b' ELSE 'a' END WHERE seq = 4",
      ]);
      expect(await firstBreak()).toMatchObject({ kind: "edited", seq: 4 });
    });

    it("detects an edited row whose hash was recomputed, at the next link", async () => {
      const forged = await forgedInsert(store, {
        seq: 4,
        prevHash: hashes[2]!,
        comparison_id: "c1",
        rater_id: "r1",
        choice: "a",
      });
      await fx.tamper(store, ["DELETE FROM judgments WHERE seq = 4", forged.sql]);
      expect(forged.hash).not.toBe(hashes[3]);
      expect(await firstBreak()).toMatchObject({ kind: "unlinked", seq: 5 });
    });

    it("detects a deleted row", async () => {
      await fx.tamper(store, ["DELETE FROM judgments WHERE seq = 6"]);
      expect(await firstBreak()).toMatchObject({ kind: "missing", seq: 6 });
    });

    it("detects a row inserted in the middle (later rows renumbered)", async () => {
      await fx.tamper(
        store,
        await forgedMallory(4, hashes[2]!, [
          "UPDATE judgments SET seq = -seq WHERE seq >= 4",
          "UPDATE judgments SET seq = 1 - seq WHERE seq < 0",
        ]),
      );
      expect(await firstBreak()).toMatchObject({
        kind: "moved",
        seq: 5,
        message: expect.stringContaining(
          "row 5 was written as row 4: rows were inserted before it",
        ),
      });
    });

    it("detects a row inserted before the first (every row renumbered)", async () => {
      await fx.tamper(
        store,
        await forgedMallory(1, GENESIS_HASH, [
          "UPDATE judgments SET seq = -seq",
          "UPDATE judgments SET seq = 1 - seq WHERE seq < 0",
        ]),
      );
      expect(await firstBreak()).toMatchObject({
        kind: "moved",
        seq: 2,
        message: expect.stringContaining(
          "row 2 was written as row 1: rows were inserted before it",
        ),
      });
    });

    it("says how many rows are missing where a run of rows was deleted", async () => {
      await fx.tamper(store, ["DELETE FROM judgments WHERE seq = 6"]);
      expect((await firstBreak()).message).toBe("row 6 is missing (deleted)");
      await fx.tamper(store, ["DELETE FROM judgments WHERE seq = 7"]);
      expect(await firstBreak()).toMatchObject({
        kind: "missing",
        seq: 6,
        message: "rows 6..7 are missing (deleted)",
      });
    });

    it("detects a row appended outside keel, even with a valid hash", async () => {
      await fx.tamper(store, await forgedMallory(11, hashes[9]!));
      expect(await firstBreak()).toMatchObject({ kind: "head-mismatch", seq: 11 });
    });

    it("detects reordered rows", async () => {
      await fx.tamper(store, [
        "UPDATE judgments SET seq = -1 WHERE seq = 4",
        "UPDATE judgments SET seq = 4 WHERE seq = 5",
        "UPDATE judgments SET seq = 5 WHERE seq = -1",
      ]);
      expect(await firstBreak()).toMatchObject({ kind: "moved", seq: 4 });
    });

    it("detects an edited prompt or response text", async () => {
      const c = await store.db
        .selectFrom("comparisons")
        .selectAll()
        .where("comparison_id", "=", "c2")
        .executeTakeFirstOrThrow();
      await fx.tamper(store, [`UPDATE texts SET body = 'tampered' WHERE digest = '${c.a_digest}'`]);
      expect(await firstBreak()).toMatchObject({ kind: "text-edited" });
    });

    it("detects a comparison re-pointed at other texts, at its first judgment", async () => {
      await fx.tamper(store, [
        "UPDATE comparisons SET a_digest = b_digest WHERE comparison_id = 'c2'",
      ]);
      expect(await firstBreak()).toMatchObject({ kind: "edited", seq: 5 });
    });

    it("a rewritten chain with a rewritten head is caught only against an anchored head", async () => {
      const anchored = (await store.ledgerHead()).hash;
      const forged = await forgedInsert(store, {
        seq: 10,
        prevHash: hashes[8]!,
        comparison_id: "c4",
        rater_id: "r1",
        choice: "b",
      });
      await fx.tamper(store, [
        "DELETE FROM judgments WHERE seq = 10",
        forged.sql,
        `UPDATE ledger_head SET hash = '${forged.hash}' WHERE id = 1`,
      ]);
      expect((await store.verifyLedger()).ok).toBe(true);
      expect(await firstBreak(anchored)).toMatchObject({ kind: "head-mismatch", seq: 10 });
    });
  });
}
