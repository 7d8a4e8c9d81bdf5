import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import type { Judgment, JudgmentRef, Parsed, Rater } from "../../src/core/types.js";
import type { JudgmentInput } from "../../src/store/append.js";
import { GENESIS_HASH } from "../../src/store/ledger.js";
import { storeStats } from "../../src/store/stats.js";
import { asBatches, collect, fixedClock, makeJudgments } from "../helpers/data.js";
import { dialectFixtures } from "../helpers/stores.js";

function stripLedger(e: Record<string, unknown>): Judgment {
  const { seq: _s, recorded_at: _r, prev_hash: _p, hash: _h, ...rest } = e;
  return rest as unknown as Judgment;
}

for (const fx of dialectFixtures()) {
  describe(`FeedbackStore on ${fx.name}`, () => {
    it("starts empty with the genesis head and a valid (empty) ledger", async () => {
      const store = await fx.open();
      expect(await store.ledgerHead()).toEqual({ seq: 0, hash: GENESIS_HASH });
      const v = await store.verifyLedger();
      expect(v.ok).toBe(true);
      expect(v.rows).toBe(0);
      const s = await storeStats(store);
      expect(s.judgments).toBe(0);
      expect(s.per_rater).toEqual([]);
      await store.close();
    });

    it("imports judgments, gives them back in order, and chains them", async () => {
      const store = await fx.open({ now: fixedClock() });
      const input = makeJudgments(30, 3);
      const report = await store.importJudgments(asBatches(input, 17));
      expect(report).toMatchObject({
        read: 90,
        appended: 90,
        newComparisons: 30,
        duplicates: 0,
        rejected: 0,
      });
      const back = await collect(store.judgments({ pageSize: 7 }));
      expect(back.map((e) => stripLedger(e as unknown as Record<string, unknown>))).toEqual(
        input.map((j) => ({
          ...j,
          ...(j.comparison_id === "c0" || j.comparison_id.endsWith("0") ? {} : {}),
        })),
      );
      expect(back.map((e) => e.seq)).toEqual(Array.from({ length: 90 }, (_, i) => i + 1));
      expect(back[0]!.prev_hash).toBe(GENESIS_HASH);
      for (let i = 1; i < back.length; i++) expect(back[i]!.prev_hash).toBe(back[i - 1]!.hash);
      expect(report.head).toEqual({ seq: 90, hash: back[89]!.hash });
      expect(await store.ledgerHead()).toEqual(report.head);
      const v = await store.verifyLedger({ pageSize: 11 });
      expect(v).toMatchObject({ ok: true, rows: 90, head: report.head });
      await store.close();
    });

    it("gives each comparison's first judgment once, in ledger order, across pages", async () => {
      const store = await fx.open({ now: fixedClock() });
      // Judgments of 12 comparisons by 3 raters, interleaved: the comparisons' first judgments
      // are scattered through the ledger, and later ones come back to earlier comparisons.
      const all = makeJudgments(12, 3);
      const shuffled = [...all].sort(
        (x, y) =>
          ((Number(x.rater_id.slice(1)) * 7 + Number(x.comparison_id.slice(1))) % 5) -
          ((Number(y.rater_id.slice(1)) * 7 + Number(y.comparison_id.slice(1))) % 5),
      );
      await store.importJudgments(asBatches(shuffled, 5));
      const ledger = await collect(store.judgments());
      const firsts = ledger.filter(
        (e, i) => ledger.findIndex((f) => f.comparison_id === e.comparison_id) === i,
      );
      for (const pageSize of [1, 4, 5000]) {
        const got = await collect(store.firstJudgments({ pageSize }));
        expect(got).toEqual(firsts);
      }
      expect(firsts).toHaveLength(12);
      expect(await store.countJudgedComparisons()).toBe(12);
      await store.close();
    });

    it("stores chat content and preserves it exactly", async () => {
      const store = await fx.open();
      const j: Judgment = {
        comparison_id: "chat1",
        prompt: [
          { role: "system", content: "be brief" },
          { role: "user", content: 'hi ☃ \u2028 "quoted"' },
        ],
        response_a: [{ role: "assistant", content: "hello" }],
        response_b: "plain text answer",
        rater_id: "r",
        choice: "b",
        flags: ["unsafe_a"],
        shown_order: "ba",
        rationale: "b is fine",
      };
      await store.importJudgments(asBatches([j]));
      const [back] = await collect(store.judgments());
      expect(stripLedger(back as unknown as Record<string, unknown>)).toEqual(j);
      expect((await store.verifyLedger()).ok).toBe(true);
      await store.close();
    });

    it("reports duplicate (comparison, rater) pairs instead of doubling them", async () => {
      const store = await fx.open();
      const js = makeJudgments(5, 2);
      await store.importJudgments(asBatches(js));
      const again = [
        js[0]!,
        { ...js[1]!, choice: js[1]!.choice === "a" ? ("b" as const) : ("a" as const) },
      ];
      const within = [
        { ...js[0]!, rater_id: "new" },
        { ...js[0]!, rater_id: "new" },
      ];
      const r = await store.importJudgments(asBatches([...again, ...within]), {
        source: "dups.jsonl",
      });
      expect(r.appended).toBe(1);
      expect(r.duplicates).toBe(3);
      expect(r.conflictingDuplicates).toBe(1);
      expect(r.duplicateExamples[0]).toMatchObject({
        comparison_id: "c0",
        rater_id: "r0",
        where: { file: "dups.jsonl", line: 1 },
      });
      expect(await store.countJudgments()).toBe(11);
      expect((await store.verifyLedger()).ok).toBe(true);
      await store.close();
    });

    it("finds a duplicate of a judgment an earlier batch of the same import wrote, cached or not", async () => {
      const store = await fx.open();
      const first = makeJudgments(1, 1)[0]!;
      // Later batches: enough new comparisons to push the first out of the appender's cache.
      const fresh = Array.from({ length: 20_500 }, (_, i) => ({
        ...first,
        comparison_id: `n${i}`,
        gold: undefined,
      }));
      async function* batches() {
        yield* asBatches([first], 1);
        yield* asBatches([{ ...first, choice: "b" as const }], 1); // cached comparison
        yield* asBatches([{ ...first, rater_id: "another" }], 1); // same comparison, new rater
        yield* asBatches(fresh, 4096);
        yield* asBatches([first], 1); // forgotten by the cache, found in the store
        yield* asBatches([{ ...first, rater_id: "another", choice: "tie" as const }], 1);
      }
      const r = await store.importJudgments(batches());
      expect(r.appended).toBe(2 + fresh.length);
      expect(r.duplicates).toBe(3);
      expect(r.conflictingDuplicates).toBe(2);
      expect(await store.countJudgments()).toBe(2 + fresh.length);
      await store.close();
    });

    it("keeps the comparisons of one batch however many new ones it brings (bounded cache)", async () => {
      const store = await fx.open();
      const old = makeJudgments(1, 1);
      await store.importJudgments(asBatches(old));
      // One batch: the stored comparison, then more new ones than the appender's cache keeps
      // (it forgets its oldest half at 20,000), then the stored comparison and a new one again.
      const fresh = Array.from({ length: 20_500 }, (_, i) => ({
        ...old[0]!,
        comparison_id: `n${i}`,
        gold: undefined,
      }));
      const batch = [
        { ...old[0]!, rater_id: "x" },
        ...fresh,
        { ...old[0]!, rater_id: "y" },
        { ...fresh[0]!, rater_id: "y" },
        { ...fresh[0]!, rater_id: "r0" },
      ];
      const r = await store.importJudgments(asBatches(batch, batch.length));
      expect(r.appended).toBe(batch.length - 1);
      expect(r.newComparisons).toBe(fresh.length);
      expect(r.duplicates).toBe(1);
      expect(await store.countJudgments()).toBe(batch.length);
      expect((await store.verifyLedger()).ok).toBe(true);
      await store.close();
    });

    it("is all-or-nothing: a bad line in the middle leaves the store unchanged", async () => {
      const store = await fx.open();
      await store.importJudgments(asBatches(makeJudgments(3, 1)));
      const head = await store.ledgerHead();
      const good = makeJudgments(40, 2).slice(6);
      const batches = async function* (): AsyncGenerator<Parsed<JudgmentInput>[]> {
        yield good.slice(0, 30).map((record, i) => ({ ok: true as const, line: i + 1, record }));
        yield [
          {
            ok: false as const,
            line: 31,
            raw: "{",
            error: new KeelError("KEEL_E_INVALID_RECORD", "invalid JSON", {
              where: { file: "x.jsonl", line: 31 },
            }),
          },
        ];
        yield good.slice(30).map((record, i) => ({ ok: true as const, line: i + 32, record }));
      };
      await expect(store.importJudgments(batches())).rejects.toThrow("x.jsonl:31: invalid JSON");
      expect(await store.countJudgments()).toBe(3);
      expect(await store.ledgerHead()).toEqual(head);
      expect((await storeStats(store)).comparisons).toBe(3);
      // With skipInvalid, the good lines go in and the bad one is set aside.
      const rejected: number[] = [];
      const r = await store.importJudgments(batches(), {
        skipInvalid: true,
        onReject: (line) => void rejected.push(line),
      });
      expect(rejected).toEqual([31]);
      expect(r.appended).toBe(good.length);
      expect((await store.verifyLedger()).ok).toBe(true);
      await store.close();
    });

    it("refuses a comparison id that names different texts, naming file, line and field", async () => {
      const store = await fx.open();
      const [j] = makeJudgments(1, 1);
      await store.importJudgments(asBatches([j!]));
      const clash = { ...j!, rater_id: "other", response_b: "something else" };
      await expect(
        store.importJudgments(asBatches([clash]), { source: "b.jsonl" }),
      ).rejects.toThrow(/b\.jsonl:1: response_b: differs from the stored comparison "c0"/);
      const goldClash = { ...j!, rater_id: "other", gold: "b" as const };
      await expect(store.importJudgments(asBatches([goldClash]))).rejects.toMatchObject({
        code: "KEEL_E_CONFLICT",
      });
      expect(await store.countJudgments()).toBe(1);
      await store.close();
    });

    it("attaches label-only judgments to stored comparisons, and rejects unknown ones", async () => {
      const store = await fx.open();
      await store.importJudgments(asBatches(makeJudgments(2, 1)));
      const refs: JudgmentRef[] = [
        { comparison_id: "c1", rater_id: "crowd", choice: "tie" },
        { comparison_id: "nope", rater_id: "crowd", choice: "a" },
      ];
      await expect(
        store.importJudgments(asBatches(refs), { source: "labels.csv" }),
      ).rejects.toThrow(/labels\.csv:2: task: comparison "nope" is not in the store/);
      const r = await store.importJudgments(asBatches(refs.slice(0, 1)));
      expect(r.appended).toBe(1);
      const all = await collect(store.judgments());
      expect(all[2]).toMatchObject({
        comparison_id: "c1",
        rater_id: "crowd",
        choice: "tie",
        prompt: all[1]!.prompt,
      });
      await store.close();
    });

    it("sets gold answers and rater attributes", async () => {
      const store = await fx.open();
      await store.importJudgments(asBatches(makeJudgments(3, 2)));
      const r = await store.importGold(
        asBatches([
          { comparison_id: "c1", gold: "b" as const },
          { comparison_id: "c0", gold: "a" as const },
        ]),
      );
      expect(r).toMatchObject({ read: 2, written: 1, unchanged: 1 });
      await expect(
        store.importGold(asBatches([{ comparison_id: "c0", gold: "b" as const }])),
      ).rejects.toMatchObject({
        code: "KEEL_E_CONFLICT",
      });
      await expect(
        store.importGold(asBatches([{ comparison_id: "zz", gold: "b" as const }])),
      ).rejects.toMatchObject({
        code: "KEEL_E_NOT_FOUND",
      });
      // One rater per batch, r0 twice: two raters written, not three.
      const raters = await store.importRaters(
        asBatches<Rater>(
          [
            { rater_id: "r0", attributes: { locale: "de" } },
            { rater_id: "r9", attributes: {} },
            { rater_id: "r0", attributes: { locale: "de" } },
          ],
          1,
        ),
      );
      expect(raters).toMatchObject({ read: 3, written: 2, rejected: 0 });
      expect(await store.raters()).toEqual([
        { rater_id: "r0", attributes: { locale: "de" } },
        { rater_id: "r1", attributes: {} },
        { rater_id: "r9", attributes: {} },
      ]);
      const s = await storeStats(store);
      expect(s.gold_comparisons).toBe(2);
      // r0 judged c0 with "a" (gold a) and c1 with "b" (gold b).
      expect(s.per_rater.find((x) => x.rater_id === "r0")).toMatchObject({
        judgments: 3,
        gold_seen: 2,
        gold_correct: 2,
      });
      expect(s.choices).toEqual({ a: 2, b: 2, tie: 2 });
      expect(s.prompts).toBe(3);
      await store.close();
    });

    it("blocks UPDATE and DELETE of judgments at the database level", async () => {
      const store = await fx.open();
      await store.importJudgments(asBatches(makeJudgments(2, 1)));
      await expect(
        store.rawExecute("UPDATE judgments SET choice = 'b' WHERE seq = 1"),
      ).rejects.toThrow(/append-only/);
      await expect(store.rawExecute("DELETE FROM judgments WHERE seq = 1")).rejects.toThrow(
        /append-only/,
      );
      await store.close();
    });
  });
}
