/**
 * Numbers through the ledger, on every dialect: what a judgment's hash covers must be what the
 * database gives back, so that `ledger verify` recomputes the hash of every append — latencies
 * at the edges of a double, sequence numbers past 2^31 and near 2^53, created_at texts the
 * database could reformat, and judgments moved from one dialect to the other by export and
 * import. A value the store cannot give back exactly is refused at append, never hashed.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { contentDigest } from "../../src/core/digest.js";
import { KeelError } from "../../src/core/errors.js";
import { encodeLedgerPrefix } from "../../src/core/ledger-record.js";
import type { Judgment, LedgerEntry } from "../../src/core/types.js";
import { DigestCache, packBatch, SentTexts } from "../../src/io/packed.js";
import { chainHash } from "../../src/store/ledger.js";
import { type FeedbackStore, openStore } from "../../src/store/store.js";
import { runCli } from "../helpers/cli.js";
import { collect, fixedClock } from "../helpers/data.js";
import { dialectFixtures, PG_URL, schemasDroppedAfterAll, tempDir } from "../helpers/stores.js";

function judgment(i: number, extra: Partial<Judgment> = {}): Judgment {
  return {
    comparison_id: `c${i}`,
    prompt: "p",
    response_a: "a",
    response_b: "b",
    rater_id: "r",
    choice: "a",
    ...extra,
  };
}

/** The hash of a judgment as read back, recomputed from what the database returned. */
function rehash(e: LedgerEntry): string {
  return chainHash(e.prev_hash, {
    seq: e.seq,
    comparison_id: e.comparison_id,
    rater_id: e.rater_id,
    choice: e.choice,
    prompt: contentDigest(e.prompt),
    response_a: contentDigest(e.response_a),
    response_b: contentDigest(e.response_b),
    created_at: e.created_at ?? null,
    latency_ms: e.latency_ms ?? null,
    shown_order: e.shown_order ?? null,
    rationale: e.rationale ?? null,
    flags: e.flags ?? null,
    recorded_at: e.recorded_at,
  });
}

/** Latencies at the edges of what JSON and a double write: -0, subnormals, exponents, 2^53 ± 1. */
const LATENCIES = [
  0,
  -0,
  1e-7,
  0.1 + 0.2,
  1234.5678,
  1e10,
  1e21,
  2 ** 53 - 1,
  2 ** 53 + 1,
  5e-324,
  Number.MAX_VALUE,
];

/** Texts `created_at` may hold; the store keeps text, so a database never reformats them. */
const CREATED = [
  "2026-03-01T10:00:00Z",
  "2026-03-01T10:00:00.123+05:30",
  "2026-03-01T10:00:00.123456789-00:00",
  "0999-01-01T00:00:00Z",
  "2016-12-31T23:59:60Z",
  "+010000-01-01T00:00:00.000Z",
];

for (const d of dialectFixtures()) {
  describe(`ledger numbers on ${d.name}`, () => {
    let store: FeedbackStore | undefined;
    afterEach(async () => {
      await store?.close();
      store = undefined;
    });

    it("hashes every latency and created_at as the database gives it back", async () => {
      store = await d.open({ now: fixedClock() });
      const inputs = [
        ...LATENCIES.map((latency_ms, i) => judgment(i, { latency_ms })),
        ...CREATED.map((created_at, i) => judgment(100 + i, { created_at })),
      ];
      const appended = await store.appendJudgments(inputs);
      expect(appended.appended).toBe(inputs.length);
      const back = await collect(store.judgments());
      expect(back.map((e) => JSON.stringify(e.latency_ms ?? null))).toEqual(
        inputs.map((j) => JSON.stringify(j.latency_ms ?? null)),
      );
      expect(back.map((e) => e.created_at ?? null)).toEqual(
        inputs.map((j) => j.created_at ?? null),
      );
      expect(back.map(rehash)).toEqual(appended.rows.map((r) => r.hash));
      const report = await store.verifyLedger();
      expect(report.firstBreak).toBeUndefined();
      expect(report.ok).toBe(true);
    });

    it("stores what a parsing thread's columns hashed (each record's judgment part encoded there)", async () => {
      store = await d.open({ now: fixedClock() });
      const inputs = LATENCIES.map((latency_ms, i) => judgment(i, { latency_ms }));
      const columns = packBatch(
        inputs.map((record, i) => ({ ok: true as const, line: i + 1, record })),
        new SentTexts(),
        new DigestCache(),
      );
      const report = await store.importJudgments(
        (async function* () {
          yield columns;
        })(),
      );
      expect(report.appended).toBe(inputs.length);
      const back = await collect(store.judgments());
      expect(back.map((e) => JSON.stringify(e.latency_ms))).toEqual(
        inputs.map((j) => JSON.stringify(j.latency_ms)),
      );
      expect((await store.verifyLedger()).firstBreak).toBeUndefined();
      const infinite = packBatch(
        [{ ok: true, line: 7, record: judgment(99, { latency_ms: Number.POSITIVE_INFINITY }) }],
        new SentTexts(),
        new DigestCache(),
      );
      const err = await store
        .importJudgments(
          (async function* () {
            yield infinite;
          })(),
          { source: "in.jsonl" },
        )
        .catch((e: unknown) => e);
      expect((err as KeelError).code).toBe("KEEL_E_INVALID_RECORD");
      expect((err as KeelError).message).toMatch(
        /in\.jsonl:7\b.*: latency_ms: must be a finite number, not Infinity/,
      );
      expect(await store.countJudgments()).toBe(inputs.length);
    });

    it("refuses a latency it cannot store and hash exactly, naming the field; writes nothing", async () => {
      for (const latency_ms of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
        store = await d.open({ now: fixedClock() });
        const err = await store
          .appendJudgments([judgment(1), judgment(2, { latency_ms })])
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(KeelError);
        expect((err as KeelError).code).toBe("KEEL_E_INVALID_RECORD");
        expect((err as KeelError).message).toMatch(
          /line 2\b.*: latency_ms: must be a finite number/,
        );
        expect((err as KeelError).message).toContain(String(latency_ms));
        expect((await store.ledgerHead()).seq).toBe(0);
        expect(await store.countJudgments()).toBe(0);
        expect((await store.verifyLedger()).ok).toBe(true);
        await store.close();
        store = undefined;
      }
    });

    it("refuses a string it would store as another (a lone surrogate), naming the field", async () => {
      // UTF-8 has no lone surrogate: both dialects stored U+FFFD in its place, and verify then
      // called the row (or the prompt) edited.
      const cases: [string, Partial<Judgment>][] = [
        ["rationale", { rationale: "x\ud800y" }],
        ["rater_id", { rater_id: "r\udc00" }],
        ["created_at", { created_at: "2026-03-01T10:00:00Z\ud800" }],
        ["flags", { flags: ["ok", "\ud83d"] }],
        ["prompt", { prompt: "p\ud800" }],
        ["response_b", { response_b: "\ud83d\ude00\ud83d" }],
      ];
      store = await d.open({ now: fixedClock() });
      for (const [field, extra] of cases) {
        const err = await store
          .appendJudgments([judgment(1), judgment(2, extra)])
          .catch((e: unknown) => e);
        expect(err, field).toBeInstanceOf(KeelError);
        expect((err as KeelError).code, field).toBe("KEEL_E_INVALID_RECORD");
        expect((err as KeelError).message).toMatch(
          new RegExp(`line 2\\b.*: ${field}: must be valid Unicode`),
        );
        expect((err as KeelError).message).toContain("lone UTF-16 surrogate");
      }
      expect(await store.countJudgments()).toBe(0);
      // A chat message list is stored as JSON, which escapes the surrogate: kept exactly.
      await store.appendJudgments([
        judgment(3, { prompt: [{ role: "user", content: "p\ud800" }], response_a: "\ud83d\ude00" }),
      ]);
      const back = await collect(store.judgments());
      expect(back[0]!.prompt).toEqual([{ role: "user", content: "p\ud800" }]);
      expect((await store.verifyLedger()).firstBreak).toBeUndefined();
    });

    it("refuses a NUL character on both dialects, naming the field", async () => {
      // PostgreSQL refused it as a store error (its text type cannot hold one), SQLite kept it:
      // the same call succeeded or failed by dialect.
      store = await d.open({ now: fixedClock() });
      for (const [field, extra] of [
        ["rationale", { rationale: "a\u0000b" }],
        ["comparison_id", { comparison_id: "c\u0000" }],
        ["flags", { flags: ["\u0000"] }],
        ["response_a", { response_a: "x\u0000" }],
      ] as [string, Partial<Judgment>][]) {
        const err = await store
          .appendJudgments([judgment(1), judgment(2, extra)])
          .catch((e: unknown) => e);
        expect(err, field).toBeInstanceOf(KeelError);
        expect((err as KeelError).code, field).toBe("KEEL_E_INVALID_RECORD");
        expect((err as KeelError).message).toMatch(
          new RegExp(`line 2\\b.*: ${field}: must not contain NUL characters`),
        );
      }
      expect(await store.countJudgments()).toBe(0);
      // inside a chat message list it is JSON's \u0000 escape: stored and read back exactly
      await store.appendJudgments([
        judgment(3, { prompt: [{ role: "user", content: "p\u0000" }] }),
      ]);
      expect((await collect(store.judgments()))[0]!.prompt).toEqual([
        { role: "user", content: "p\u0000" },
      ]);
      expect((await store.verifyLedger()).firstBreak).toBeUndefined();
    });

    it("numbers and hashes rows past 2^31 as it reads them back", async () => {
      store = await d.open({ now: fixedClock() });
      const start = 2 ** 31 + 5;
      await d.tamper(store, [`UPDATE ledger_head SET seq = ${start} WHERE id = 1`]);
      const appended = await store.appendJudgments([judgment(1), judgment(2)]);
      expect(appended.rows.map((r) => r.seq)).toEqual([start + 1, start + 2]);
      const back = await collect(store.judgments());
      expect(back.map((e) => e.seq)).toEqual([start + 1, start + 2]);
      expect(back.map(rehash)).toEqual(appended.rows.map((r) => r.hash));
      expect(await store.ledgerHead()).toEqual({ seq: start + 2, hash: appended.head.hash });
    });

    it("refuses to number a row past 2^53 - 1 instead of reusing a sequence number", async () => {
      store = await d.open({ now: fixedClock() });
      const last = Number.MAX_SAFE_INTEGER - 1;
      await d.tamper(store, [`UPDATE ledger_head SET seq = ${last} WHERE id = 1`]);
      const one = await store.appendJudgments([judgment(1)]);
      expect(one.rows.map((r) => r.seq)).toEqual([Number.MAX_SAFE_INTEGER]);
      const err = await store.appendJudgments([judgment(2)]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KeelError);
      expect((err as KeelError).code).toBe("KEEL_E_STORE");
      expect((err as KeelError).message).toContain(`after row ${Number.MAX_SAFE_INTEGER}`);
      expect(await store.countJudgments()).toBe(1);
    });
  });
}

describe("ledger numbers on PostgreSQL whatever extra_float_digits says", () => {
  const schemas = schemasDroppedAfterAll();

  it("reads float8 back exactly with extra_float_digits = 0 in the URL", async () => {
    // PostgreSQL before 12 printed 15 digits by default; an administrator's setting of 0 (or
    // the URL's) does so still: 0.1 + 0.2 came back as 0.3, and verify called the row edited.
    const schema = `keel_t_${process.pid}_${Date.now().toString(36)}_efd`;
    schemas.push(schema);
    const url = new URL(PG_URL);
    url.searchParams.set("options", "-c extra_float_digits=0");
    const store = await openStore(url.toString(), { schema, create: true, now: fixedClock() });
    try {
      const appended = await store.appendJudgments([
        judgment(1, { latency_ms: 0.1 + 0.2 }),
        judgment(2, { latency_ms: 1234.5678901234567 }),
      ]);
      const back = await collect(store.judgments());
      expect(back.map((e) => e.latency_ms)).toEqual([0.1 + 0.2, 1234.5678901234567]);
      expect(back.map(rehash)).toEqual(appended.rows.map((r) => r.hash));
      expect((await store.verifyLedger()).firstBreak).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});

describe("ledger numbers from one dialect to the other", () => {
  it("exports from SQLite, imports into PostgreSQL and back: each verifies, encodings equal", async () => {
    const [sqlite, postgres] = dialectFixtures();
    const dir = tempDir("keel-numbers-");
    const lines = [
      '{"comparison_id":"c0","prompt":"p","response_a":"a","response_b":"b","rater_id":"r","choice":"a","latency_ms":-0}',
      '{"comparison_id":"c1","prompt":"p","response_a":"a","response_b":"b","rater_id":"r","choice":"b","latency_ms":1e-7}',
      '{"comparison_id":"c2","prompt":"p","response_a":"a","response_b":"b","rater_id":"r","choice":"a","latency_ms":0.30000000000000004}',
      '{"comparison_id":"c3","prompt":"p","response_a":"a","response_b":"b","rater_id":"r","choice":"tie","latency_ms":1E10,"created_at":"2026-03-01T10:00:00.123+05:30"}',
      '{"comparison_id":"c4","prompt":"p","response_a":"a","response_b":"b","rater_id":"r","choice":"a","latency_ms":5e-324,"created_at":"0999-01-01T00:00:00Z"}',
      '{"comparison_id":"c5","prompt":"p","response_a":"a","response_b":"b","rater_id":"r","choice":"b","latency_ms":1234.5678901234567,"created_at":"2026-03-01T10:00:00.123456789-00:00"}',
    ];
    const input = join(dir, "in.jsonl");
    writeFileSync(input, `${lines.join("\n")}\n`);
    const stores: FeedbackStore[] = [];
    const dbOf = (s: FeedbackStore) =>
      s.dialectName === "sqlite" ? s.location : `${PG_URL}?schema=${s.schema!}`;
    try {
      for (const fx of [sqlite!, postgres!, sqlite!]) {
        const s = await fx.open();
        stores.push(s);
        await s.close();
      }
      let file = input;
      const exported: string[] = [];
      for (const [i, s] of stores.entries()) {
        // On the main thread: a worker's start from sources costs seconds (the parsing thread's
        // columns are the test above).
        const imp = await runCli(["import", file, "--db", dbOf(s), "-q", "--no-parallel"]);
        expect(imp.stderr).toBe("");
        expect(imp.code).toBe(0);
        file = join(dir, `out${i}.jsonl`);
        const exp = await runCli(["export", "-f", "judgments", "-o", file, "--db", dbOf(s), "-q"]);
        expect(exp.code).toBe(0);
        exported.push(readFileSync(file, "utf8"));
      }
      expect(exported[1]).toBe(exported[0]);
      expect(exported[2]).toBe(exported[0]);
      const prefixes: string[][] = [];
      for (const s of stores) {
        const open = await openStore(dbOf(s));
        try {
          expect((await open.verifyLedger()).firstBreak).toBeUndefined();
          const back = await collect(open.judgments());
          prefixes.push(
            back.map((e) =>
              encodeLedgerPrefix({
                choice: e.choice,
                comparison_id: e.comparison_id,
                created_at: e.created_at ?? null,
                flags: e.flags ?? null,
                latency_ms: e.latency_ms ?? null,
                prompt: contentDigest(e.prompt),
                rater_id: e.rater_id,
                rationale: e.rationale ?? null,
              }),
            ),
          );
        } finally {
          await open.close();
        }
      }
      expect(prefixes[0]).toHaveLength(lines.length);
      expect(prefixes[1]).toEqual(prefixes[0]);
      expect(prefixes[2]).toEqual(prefixes[0]);
    } finally {
      for (const s of stores) await s.close();
    }
  });
});
