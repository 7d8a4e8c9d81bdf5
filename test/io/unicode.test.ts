/**
 * Text end to end: what a file holds is what the store, the ledger and every export give back,
 * byte for byte — non-BMP characters, combining marks (NFC and NFD are different texts), joiners,
 * bidirectional marks, BOMs and CRLF line ends — and what cannot be held exactly (invalid UTF-8,
 * lone surrogates, NUL) is refused at its file:line, never stored changed.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Content, Judgment } from "../../src/core/types.js";
import { exportFormat } from "../../src/io/exporters.js";
import {
  judgmentToPairwise,
  parseCategoricalRefBatches,
  parsePairwiseBatches,
} from "../../src/io/formats/crowdkit.js";
import { judgmentToJson } from "../../src/io/formats/judgments.js";
import { readLineBatches } from "../../src/io/lines.js";
import { readPromptFile } from "../../src/io/prompts.js";
import { importFormat } from "../../src/io/registry.js";
import { Utf8Check } from "../../src/io/utf8.js";
import { runCli } from "../helpers/cli.js";
import { collect, fixedClock } from "../helpers/data.js";
import { initedStore, storedJudgments } from "../helpers/import-store.js";
import { fakeStdin } from "../helpers/stdin.js";
import { dialectFixtures, tempDir } from "../helpers/stores.js";

const root = tempDir("keel-unicode-");

describe("CSV line numbers", () => {
  /**
   * A quoted cell holding "\r\n" (rejected: cells are ids), then a row in Latin-1. csv-parse
   * counts the quoted "\r\n" as two lines; keel's UTF-8 check counts one.
   */
  const file = Buffer.concat([
    Buffer.from('worker,left,right,label\r\nw1,"a\r\nb",y,y\r\nw2,caf'),
    Buffer.from([0xe9]),
    Buffer.from(',y,y\r\nw3,"x\ry",y,y\r\nw4,x,y,x\r\n'),
  ]);

  it("count lines as every reader does, one per \\n, past quoted \\r\\n and \\r", async () => {
    const { dir } = await initedStore(root);
    const p = join(dir, "pairs.csv");
    writeFileSync(p, file);
    const parsed = (await collect(parsePairwiseBatches(p))).flat();
    expect(parsed.map((x) => [x.line, x.ok ? "ok" : x.error.message])).toEqual([
      [3, `${p}:3: left: must not contain control characters`],
      [4, `${p}:4: invalid UTF-8 at byte offset 6 of the line (byte 0xe9)`],
      [5, `${p}:5: left: must not contain control characters`],
      [6, "ok"],
    ]);
  });

  it("charge invalid UTF-8 to its own row: --skip-invalid never stores U+FFFD", async () => {
    const { dir, db } = await initedStore(root);
    writeFileSync(join(dir, "pairs.csv"), file);
    const rejects = join(dir, "rej.jsonl");
    const r = await runCli([
      "import",
      join(dir, "pairs.csv"),
      "--skip-invalid",
      "--rejects",
      rejects,
      "--db",
      db,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const stored = await storedJudgments(db);
    expect(stored.map((j) => [j.rater_id, j.response_a, j.response_b])).toEqual([["w4", "x", "y"]]);
    const lines = readFileSync(rejects, "utf8").trim().split("\n");
    expect(lines.map((l) => (JSON.parse(l) as { line: number }).line)).toEqual([3, 4, 5]);
  });

  it("Utf8Check.lineAt numbers bytes the same however the stream is chunked", async () => {
    const bytes = Buffer.from("a\r\nb\n\n\u00e9\rc\r\n\u{1d518}\nend");
    const expected = [...bytes.keys()].map(
      (at) => 1 + [...bytes.subarray(0, at)].filter((b) => b === 10).length,
    );
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 6 }),
        fc.array(fc.nat(bytes.length - 1), { minLength: 1, maxLength: 8 }),
        async (cuts, asked) => {
          const edges = [0, ...cuts.sort((a, b) => a - b), bytes.length];
          const chunks = edges.slice(1).map((e, i) => bytes.subarray(edges[i], e));
          const check = new Utf8Check("f");
          await collect(Readable.from(chunks).pipe(check));
          for (const at of asked.sort((a, b) => a - b)) expect(check.lineAt(at)).toBe(expected[at]);
        },
      ),
    );
  });

  it("place a malformed record after a quoted \\r\\n at its own line", async () => {
    const { dir } = await initedStore(root);
    const p = join(dir, "pairs.csv");
    // A quote inside an unquoted field: the row is set aside, the next one read.
    writeFileSync(p, 'worker,left,right,label\r\nw1,"a\r\nb",y,y\r\nw2,x"y,z,w\r\nw3,c,d,c\r\n');
    const parsed = (await collect(parsePairwiseBatches(p))).flat();
    // (w1's item id holds a line break, which ids may not: set aside at its own last line)
    expect(parsed.map((x) => [x.ok, x.line])).toEqual([
      [false, 3],
      [false, 4],
      [true, 5],
    ]);
    const bad = parsed[1]!;
    expect(bad.ok ? "" : bad.error.message).toBe(
      `${p}:4: malformed CSV: Invalid Opening Quote: a quote is found on field 1, value is "x"`,
    );
    // A quoted field that does not end at a comma ends the parse, at the record's first line.
    writeFileSync(p, 'worker,left,right,label\r\nw1,"a\r\nb",y,y\r\nw2,"x"y,z,w\r\n');
    await expect(collect(parsePairwiseBatches(p))).rejects.toMatchObject({
      where: { file: p, line: 4 },
      message: expect.stringContaining("malformed CSV quoting"),
    });
  });
});

describe("a byte-order mark", () => {
  it("is taken off standard input however the pipe cuts it", async () => {
    const bytes = Buffer.from('\ufeff{"a":"é"}\n{"b":1}');
    for (const cut of [1, 2, 3, 4]) {
      fakeStdin([bytes.subarray(0, 1), bytes.subarray(1, cut), bytes.subarray(cut)]);
      const lines = (await collect(readLineBatches("-"))).flatMap((b) => b.lines);
      expect(lines, `cut at ${cut}`).toEqual(['{"a":"é"}', '{"b":1}']);
    }
  });

  it("cut short is the whole input: not UTF-8, with its place", async () => {
    fakeStdin([Buffer.from([0xef]), Buffer.from([0xbb])]);
    await expect(collect(readLineBatches("-"))).rejects.toThrow(
      "-:1: invalid UTF-8 at byte offset 0 of the line (byte 0xef)",
    );
  });
});

describe("prompt files", () => {
  it("refuse a lone surrogate at its line: it has no UTF-8 form to tokenize or send", async () => {
    const { dir } = await initedStore(root);
    const p = join(dir, "prompts.jsonl");
    writeFileSync(p, '"caf\u00e9 \ud835\udd18"\n{"prompt":"x\\ud800y"}\n');
    await expect(readPromptFile(p)).rejects.toThrow(
      `${p}:2: prompt: must be valid Unicode text (it holds a lone UTF-16 surrogate`,
    );
    writeFileSync(p, '"caf\u00e9 \ud835\udd18"\n{"content":"e\u0301 \u200d"}\n');
    expect(await readPromptFile(p)).toEqual(["café 𝔘", "e\u0301 \u200d"]);
  });
});

/** Texts that look alike and are not alike: each must come back as itself, never normalised. */
const TRICKY = [
  "caf\u00e9",
  "cafe\u0301",
  "\u{1d518}\u{1f600}\u{1f469}\u200d\u{1f469}\u200d\u{1f467}",
  "a\u200db\u200c\u2060c\ufeff",
  "rtl \u200f\u202egnp.exe\u202c \u2066x\u2069",
  "\u0001\u001b[31m\u007f\u0085\u009b",
  "tab\tcr\rcrlf\r\nls\u2028ps\u2029",
  "\ufeffBOM first",
  " ",
  "",
  '"quoted", comma\nline',
];
/** Ids: any text the id schema takes (no controls, bidi marks or invisibles), commas and quotes included. */
const idChar = fc.oneof(
  fc.constantFrom(
    "a",
    "Z",
    ",",
    '"',
    " ",
    "=",
    "\u00e9",
    "e\u0301",
    "\u{1d518}",
    "\u{1f600}",
    "\u0301",
    "\u05d0",
  ),
  fc
    .string({ unit: "binary", minLength: 1, maxLength: 1 })
    .filter((c) => /^[^\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]$/u.test(c)),
);
const id = fc.string({ unit: idChar, minLength: 1, maxLength: 12 }).filter((s) => s.length <= 256);
const text = fc.oneof(
  fc.constantFrom(...TRICKY),
  fc.string({ unit: "binary", maxLength: 40 }).filter((s) => !s.includes("\u0000")),
);
const content: fc.Arbitrary<Content> = fc.oneof(
  { weight: 4, arbitrary: text },
  {
    weight: 1,
    arbitrary: fc.array(
      fc.record({ role: fc.constantFrom("user", "assistant", "r\u00f4le"), content: text }),
      { minLength: 1, maxLength: 3 },
    ),
  },
);
const judgmentArb = fc.record({
  comparison_id: id,
  prompt: content,
  response_a: content,
  response_b: content,
  rater_id: id,
  choice: fc.constantFrom("a", "b", "tie") as fc.Arbitrary<Judgment["choice"]>,
});
/** Judgments a store takes as they are: one per comparison and rater, one set of texts per comparison. */
const judgmentsArb = fc
  .uniqueArray(judgmentArb, { selector: (j) => j.comparison_id, minLength: 1, maxLength: 12 })
  .chain((js) =>
    fc.tuple(fc.constant(js), fc.array(fc.tuple(fc.nat(js.length - 1), id), { maxLength: 6 })),
  )
  .map(([js, extra]) => {
    const out: Judgment[] = [...js];
    const seen = new Set(js.map((j) => `${j.comparison_id}\u0000${j.rater_id}`));
    for (const [k, rater] of extra) {
      const j = { ...js[k]!, rater_id: rater };
      const key = `${j.comparison_id}\u0000${rater}`;
      if (!seen.has(key)) out.push(j);
      seen.add(key);
    }
    return out;
  });

const jsonl = (rows: readonly unknown[]) => rows.map((r) => `${JSON.stringify(r)}\n`).join("");

describe("round trips keep every text byte for byte", () => {
  for (const fixture of dialectFixtures()) {
    it(`import → export → import, each format, gives back the same bytes and ledger (${fixture.name})`, async () => {
      const dir = join(root, `rt-${fixture.name}`);
      mkdirSync(dir, { recursive: true });
      const path = (name: string) => join(dir, name);
      const importFile = async (file: string, key: string) => {
        const store = await fixture.open({ now: fixedClock() });
        const format = importFormat(key);
        await store.importJudgments(format.parse(file, {}) as AsyncIterable<never>);
        return store;
      };
      const exportTo = async (
        store: Awaited<ReturnType<typeof importFile>>,
        key: string,
        out: string,
      ) => {
        const e = exportFormat(key).open(out, {});
        for await (const j of store.judgments()) await e.write(j);
        await e.commit();
        return readFileSync(out);
      };
      await fc.assert(
        fc.asyncProperty(judgmentsArb, async (js) => {
          // A BOM and CRLF line ends in; and once more without a newline after the last line.
          const crlf = `\ufeff${jsonl(js).replaceAll("\n", "\r\n")}`;
          writeFileSync(path("in.jsonl"), crlf);
          writeFileSync(path("in2.jsonl"), crlf.slice(0, -2));
          const first = await importFile(path("in.jsonl"), "judgments");
          const second = await importFile(path("in2.jsonl"), "judgments");
          try {
            const stored = await collect(first.judgments());
            expect(stored.map(judgmentToJson)).toEqual(js);
            expect((await collect(second.judgments())).map(judgmentToJson)).toEqual(js);
            const out = await exportTo(first, "judgments", path("out.jsonl"));
            expect(out.toString("utf8")).toBe(jsonl(js));
            const again = await importFile(path("out.jsonl"), "judgments");
            try {
              expect((await again.verifyLedger()).ok).toBe(true);
              expect(await again.ledgerHead()).toEqual(await first.ledgerHead());
              expect(await exportTo(again, "judgments", path("out2.jsonl"))).toEqual(out);
            } finally {
              await again.close();
            }
            // TRL: each distinct pair once (a re-import dedupes pairs that several raters gave).
            const trl = (await exportTo(first, "trl", path("out.trl.jsonl"))).toString("utf8");
            const trlBack = await importFile(path("out.trl.jsonl"), "trl");
            try {
              const again = await exportTo(trlBack, "trl", path("2.trl.jsonl"));
              const distinct = [...new Set(trl.split("\n").filter(Boolean))];
              expect(again.toString("utf8")).toBe(distinct.map((l) => `${l}\n`).join(""));
            } finally {
              await trlBack.close();
            }
            // crowd-kit pairwise: the CSV reads back as the rows it was written from.
            await exportTo(first, "crowd-kit-pairwise", path("out.pairs.csv"));
            const rows = (await collect(parsePairwiseBatches(path("out.pairs.csv")))).flat();
            expect(rows.map((r) => (r.ok ? r.record : r.error.message))).toEqual(
              stored.flatMap((j) => judgmentToPairwise(j) ?? []),
            );
            // crowd-kit categorical: the table names the stored comparisons and raters.
            const table = await exportTo(first, "crowd-kit", path("out.csv"));
            const refs = (await collect(parseCategoricalRefBatches(path("out.csv")))).flat();
            expect(refs.map((r) => (r.ok ? r.record : r.error.message))).toEqual(
              stored.map((j) => ({
                comparison_id: j.comparison_id,
                rater_id: j.rater_id,
                choice: j.choice,
              })),
            );
            const dup = await second.importJudgments(parseCategoricalRefBatches(path("out.csv")));
            expect([dup.appended, dup.duplicates, dup.conflictingDuplicates]).toEqual([
              0,
              js.length,
              0,
            ]);
            expect(table.subarray(0, 3).toString()).not.toBe("\ufeff");
          } finally {
            await first.close();
            await second.close();
          }
        }),
        // PostgreSQL's stores cost a schema and its migrations each.
        { numRuns: fixture.name === "sqlite" ? 12 : 3, seed: 20261206 },
      );
    }, 120_000);
  }
});
