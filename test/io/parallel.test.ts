import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { contentDigest } from "../../src/core/digest.js";
import { KeelError, reviveKeelError } from "../../src/core/errors.js";
import { encodeLedgerRecord } from "../../src/core/ledger-record.js";
import { CHOICES, type Judgment, type Parsed } from "../../src/core/types.js";
import { DigestCache, packBatch, SentTexts } from "../../src/io/packed.js";
import { parseJudgmentsInWorker } from "../../src/io/parallel.js";
import { collect, fixedClock, makeJudgments } from "../helpers/data.js";
import { dialectFixtures, tempDir } from "../helpers/stores.js";

const dir = tempDir();

describe("packed batches", () => {
  it("carry every field as columns, send each text once, and keep the rejected lines", () => {
    const js: Judgment[] = [
      {
        ...makeJudgments(1, 1)[0]!,
        gold: "b",
        shown_order: "ba",
        rationale: "r",
        flags: ["unsafe_a"],
      },
      {
        comparison_id: "c",
        prompt: [{ role: "user", content: "hi" }],
        response_a: "x",
        response_b: "y",
        rater_id: "r",
        choice: "tie",
      },
    ];
    const parsed: Parsed<Judgment>[] = [
      { ok: true, line: 1, record: js[0]! },
      {
        ok: false,
        line: 2,
        raw: "{",
        error: new KeelError("KEEL_E_INVALID_RECORD", "bad", { where: { file: "f", line: 2 } }),
      },
      { ok: true, line: 3, record: js[1]! },
    ];
    const sent = new SentTexts();
    const b = structuredClone(packBatch(parsed, sent, new DigestCache()));
    expect(b.n).toBe(2);
    expect([...b.line]).toEqual([1, 3]);
    expect(b.rejected).toHaveLength(1);
    expect(b.rejected[0]).toMatchObject({ line: 2, raw: "{" });
    expect(reviveKeelError(b.rejected[0]!.error).message).toBe("f:2: bad");
    const j = js[0]!;
    expect(b.comparison_id).toEqual([j.comparison_id, "c"]);
    expect(b.rater_id).toEqual([j.rater_id, "r"]);
    expect([...b.choice]).toEqual([CHOICES.indexOf(j.choice), 2]);
    expect([...b.gold]).toEqual([1 + CHOICES.indexOf("b"), 0]);
    expect(b.created_at).toEqual([j.created_at ?? "", ""]);
    expect(b.digests.slice(0, 3)).toEqual([
      contentDigest(j.prompt),
      contentDigest(j.response_a),
      contentDigest(j.response_b),
    ]);
    expect(JSON.parse(b.extras[0]!)).toEqual({
      shown_order: "ba",
      rationale: "r",
      flags: ["unsafe_a"],
    });
    expect(b.extras[1]).toBe("");
    // The ledger-record prefix is the start of the full record's canonical encoding.
    const full = encodeLedgerRecord({
      seq: 1,
      comparison_id: j.comparison_id,
      rater_id: j.rater_id,
      choice: j.choice,
      prompt: contentDigest(j.prompt),
      response_a: contentDigest(j.response_a),
      response_b: contentDigest(j.response_b),
      created_at: j.created_at ?? null,
      latency_ms: j.latency_ms ?? null,
      shown_order: "ba",
      rationale: "r",
      flags: ["unsafe_a"],
      recorded_at: "2026-01-01T00:00:00.000Z",
    });
    expect(full.startsWith(`${b.pre[0]!},"recorded_at":`)).toBe(true);
    const chat = b.texts.digest.indexOf(contentDigest(js[1]!.prompt));
    expect(b.texts.body[chat]).toBe(JSON.stringify(js[1]!.prompt));
    expect(b.texts.is_chat[chat]).toBe(1);
    // The same texts again are not resent.
    expect(packBatch(parsed, sent, new DigestCache()).texts.digest).toEqual([]);
  });

  it("forget the texts sent once they know `limit` of them, so memory stays bounded", () => {
    const sent = new SentTexts(2);
    expect(["a", "b", "a", "c", "a"].map((d) => sent.offer(d))).toEqual([
      true,
      true,
      false,
      true, // the third: the two before it are forgotten
      true,
    ]);
  });

  it("keep flags that come alone, and tell a missing latency from a latency of 0", () => {
    const base = makeJudgments(1, 1)[0]!;
    const { latency_ms: _, ...noLatency } = base;
    const parsed: Parsed<Judgment>[] = [
      { ok: true, line: 1, record: { ...noLatency, flags: ["unsafe_b"] } },
      { ok: true, line: 2, record: { ...base, rater_id: "r2", latency_ms: 0 } },
    ];
    const b = packBatch(parsed, new SentTexts(), new DigestCache());
    expect(JSON.parse(b.extras[0]!)).toEqual({ flags: ["unsafe_b"] });
    expect([...b.latency_ms]).toEqual([Number.NaN, 0]);
  });
});

for (const fx of dialectFixtures()) {
  describe(`parsing in a worker thread, into ${fx.name}`, () => {
    const rows = makeJudgments(300, 3);
    const file = join(dir, `j-${fx.name}.jsonl`);
    // Line 701 does not parse; line 851 parses and the store refuses it (c0 with other texts).
    const clash = { ...rows[0]!, rater_id: "clash", response_b: "other" };
    writeFileSync(
      file,
      rows
        .map((r, i) => (i === 700 ? "{broken" : JSON.stringify(i === 850 ? clash : r)))
        .join("\n"),
    );

    it("imports the same ledger as parsing in the main thread, with the same errors", async () => {
      const a = await fx.open({ now: fixedClock() });
      const b = await fx.open({ now: fixedClock() });
      const { importFormat } = await import("../../src/io/registry.js");
      const f = importFormat("judgments");
      if (f.kind !== "judgments") throw new Error("unexpected");
      const err1 = await a
        .importJudgments(f.parse(file, {}), { source: file })
        .catch((e: Error) => e.message);
      const err2 = await b
        .importJudgments(parseJudgmentsInWorker("judgments", file), { source: file })
        .catch((e: Error) => e.message);
      expect(err2).toBe(err1);
      expect(err1).toMatch(/\.jsonl:701: invalid JSON/);
      expect(await b.countJudgments()).toBe(0);
      const skipped: number[][] = [[], []];
      const r1 = await a.importJudgments(f.parse(file, {}), {
        skipInvalid: true,
        onReject: (line) => void skipped[0]!.push(line),
      });
      const r2 = await b.importJudgments(parseJudgmentsInWorker("judgments", file), {
        skipInvalid: true,
        onReject: (line) => void skipped[1]!.push(line),
      });
      expect(skipped).toEqual([
        [701, 851],
        [701, 851],
      ]);
      expect(r2).toEqual(r1);
      expect(r2.appended).toBe(rows.length - 2);
      const ja = await collect(a.judgments());
      const jb = await collect(b.judgments());
      expect(jb).toEqual(ja);
      expect((await b.verifyLedger()).ok).toBe(true);
      await a.close();
      await b.close();
    });
  });
}

describe("parsing in a worker thread", () => {
  it("refuses a line near the line cap by its file:line, as the main thread does", async () => {
    // 30 MB of text in one line: within the reader's cap, far over the schema's.
    const long = join(dir, "long.jsonl");
    const row = (id: string, prompt: string) =>
      JSON.stringify({ ...makeJudgments(1, 1)[0]!, comparison_id: id, prompt });
    writeFileSync(long, `${row("c1", "p")}\n${row("c2", "x".repeat(30 * 1024 * 1024))}\n`);
    const batches = await collect(parseJudgmentsInWorker("judgments", long));
    const rejected = batches.flatMap((b) => b.rejected);
    expect(rejected).toHaveLength(1);
    expect(reviveKeelError(rejected[0]!.error).message).toBe(
      `${long}:2: prompt: must be at most 1000000 characters`,
    );
  }, 60_000);

  it("reports a missing file as the worker saw it", async () => {
    await expect(
      collect(parseJudgmentsInWorker("judgments", join(dir, "nope.jsonl"))),
    ).rejects.toThrow(/nope\.jsonl: cannot read: no such file/);
  });
});
