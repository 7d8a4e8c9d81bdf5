import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { contentDigest } from "../../src/core/digest.js";
import { KeelError } from "../../src/core/errors.js";
import type { Judgment, Parsed } from "../../src/core/types.js";
import { DigestCache, packBatch, SentTexts, unpackBatch } from "../../src/io/packed.js";
import { parseJudgmentsInWorker } from "../../src/io/parallel.js";
import { openStore } from "../../src/store/store.js";
import { collect, fixedClock, makeJudgments } from "../helpers/data.js";
import { tempDir } from "../helpers/stores.js";

const dir = tempDir();

describe("packed batches", () => {
  it("round-trip every field, send each text once, and keep rejections in line order", () => {
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
    const { records, texts } = unpackBatch(
      structuredClone(packBatch(parsed, sent, new DigestCache())),
    );
    expect(records.map((r) => r.line)).toEqual([1, 2, 3]);
    const [a, bad, c] = records;
    expect(bad).toMatchObject({ ok: false, raw: "{" });
    expect(!bad!.ok && bad!.error.message).toBe("f:2: bad");
    const { prompt, response_a, response_b, ...rest } = js[0]!;
    expect(a!.ok && a!.record).toEqual({
      ...rest,
      digests: [contentDigest(prompt), contentDigest(response_a), contentDigest(response_b)],
    });
    expect(c!.ok && c!.record.choice).toBe("tie");
    expect(texts.find((t) => t.digest === contentDigest(js[1]!.prompt))).toEqual({
      digest: contentDigest(js[1]!.prompt),
      body: JSON.stringify(js[1]!.prompt),
      is_chat: 1,
    });
    // The same texts again are not resent.
    expect(unpackBatch(packBatch(parsed, sent, new DigestCache())).texts).toEqual([]);
  });
});

describe("parsing in a worker thread", () => {
  const rows = makeJudgments(300, 3);
  const file = join(dir, "j.jsonl");
  writeFileSync(file, rows.map((r, i) => (i === 700 ? "{broken" : JSON.stringify(r))).join("\n"));

  it("imports the same ledger as parsing in the main thread, with the same errors", async () => {
    const a = await openStore(join(dir, "a.db"), { create: true, now: fixedClock() });
    const b = await openStore(join(dir, "b.db"), { create: true, now: fixedClock() });
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
    expect(err1).toMatch(/j\.jsonl:701: invalid JSON/);
    const skipped: number[] = [];
    const r1 = await a.importJudgments(f.parse(file, {}), { skipInvalid: true });
    const r2 = await b.importJudgments(parseJudgmentsInWorker("judgments", file), {
      skipInvalid: true,
      onReject: (line) => void skipped.push(line),
    });
    expect(skipped).toEqual([701]);
    expect(r2).toEqual(r1);
    const ja = await collect(a.judgments());
    const jb = await collect(b.judgments());
    expect(jb).toEqual(ja);
    expect((await b.verifyLedger()).ok).toBe(true);
    await a.close();
    await b.close();
  });

  it("reports a missing file as the worker saw it", async () => {
    await expect(
      collect(parseJudgmentsInWorker("judgments", join(dir, "nope.jsonl"))),
    ).rejects.toThrow(/nope\.jsonl: cannot read: no such file/);
  });
});
