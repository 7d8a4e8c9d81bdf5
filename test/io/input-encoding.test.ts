/**
 * Input that cannot be read as text: bytes that are not UTF-8 (JSONL and CSV) and lines over
 * the length cap. Each is refused as a bad line, `file:line: …`, all-or-nothing by default and
 * set aside with --skip-invalid; nothing is ever decoded to U+FFFD and stored.
 */
import { isUtf8 } from "node:buffer";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Judgment } from "../../src/core/types.js";
import { parseCategoricalBatches } from "../../src/io/formats/crowdkit.js";
import { parseJudgmentBatches } from "../../src/io/formats/judgments.js";
import { MAX_LINE_BYTES, readLineBatches, TOO_LONG_PREFIX_BYTES } from "../../src/io/lines.js";
import { detectFormat } from "../../src/io/registry.js";
import { firstInvalidUtf8, Utf8Check } from "../../src/io/utf8.js";
import { openStore } from "../../src/store/store.js";
import { runCli } from "../helpers/cli.js";
import { collect } from "../helpers/data.js";
import { fakeStdin } from "../helpers/stdin.js";
import { tempDir } from "../helpers/stores.js";

const root = tempDir("keel-encoding-");
let n = 0;
const MiB = 1024 * 1024;

const judgment = (id: string, prompt: string) =>
  JSON.stringify({
    comparison_id: id,
    prompt,
    response_a: "a",
    response_b: "b",
    rater_id: "r1",
    choice: "a",
  });

/** A fresh directory with an empty store; file names given to the CLI resolve inside it. */
async function setup(): Promise<{ dir: string; db: string; cli: typeof runCli }> {
  const dir = join(root, `d${n++}`);
  const db = join(dir, "k.db");
  mkdirSync(dir);
  const local = /^[\w.-]+\.(jsonl|csv)$/;
  const cli = (args: readonly string[]) =>
    runCli(args.map((a) => (local.test(a) ? join(dir, a) : a)));
  expect((await cli(["init", "--db", db, "-q"])).code).toBe(0);
  return { dir, db, cli };
}

async function storedJudgments(db: string): Promise<Judgment[]> {
  const store = await openStore(db);
  try {
    const out: Judgment[] = [];
    for await (const j of store.judgments()) out.push(j);
    return out;
  } finally {
    await store.close();
  }
}

function rejectsOf(path: string): { line: number; error: string; raw: string }[] {
  return readFileSync(path, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { line: number; error: string; raw: string });
}

/** "café" in Latin-1: the é is the single byte 0xe9, which UTF-8 cannot start a line with. */
const latin1Line = (id: string) =>
  Buffer.concat([
    Buffer.from(judgment(id, "caf@").split("@")[0]!),
    Buffer.from([0xe9]),
    Buffer.from(judgment(id, "caf@").split("@")[1]!),
  ]);

describe("invalid UTF-8 in JSONL", () => {
  it("is a bad line with its place, not U+FFFD", async () => {
    const dir = join(root, "lines");
    mkdirSync(dir, { recursive: true });
    const p = join(dir, "latin1.jsonl");
    writeFileSync(
      p,
      Buffer.concat([
        Buffer.from(`${judgment("c1", "ok")}\n`),
        latin1Line("c2"),
        Buffer.from("\n"),
      ]),
    );
    const offset = judgment("c2", "caf@").indexOf("@");
    await expect(collect(readLineBatches(p))).rejects.toThrow(
      `latin1.jsonl:2: invalid UTF-8 at byte offset ${offset} of the line (byte 0xe9)`,
    );
    const parsed = (await collect(parseJudgmentBatches(p))).flat();
    expect(parsed.map((x) => x.ok)).toEqual([true, false]);
    expect(parsed[1]).toMatchObject({ line: 2 });
    expect(!parsed[1]!.ok && parsed[1]!.error.message).toContain("latin1.jsonl:2: invalid UTF-8");
  });

  it("finds the bad line in a chunk of many, and a last line without a newline", async () => {
    const dir = join(root, "lines2");
    mkdirSync(dir, { recursive: true });
    const p = join(dir, "many.jsonl");
    const good = `${judgment("c", "ünïcödé ☃ 😀")}\n`.repeat(1500); // spans read chunks
    writeFileSync(
      p,
      Buffer.concat([Buffer.from(good), latin1Line("x"), Buffer.from("\n"), latin1Line("y")]),
    );
    const parsed = (await collect(parseJudgmentBatches(p))).flat();
    const bad = parsed.filter((x) => !x.ok).map((x) => x.line);
    expect(bad).toEqual([1501, 1502]);
    expect(parsed.filter((x) => x.ok).length).toBe(1500);
  });

  it("on the first line does not hide the format: detection reads the next line", async () => {
    const { dir, db, cli } = await setup();
    writeFileSync(
      join(dir, "first.jsonl"),
      Buffer.concat([latin1Line("c1"), Buffer.from(`\n${judgment("c2", "ok")}\n`)]),
    );
    expect(await detectFormat(join(dir, "first.jsonl"))).toBe("judgments");
    const refused = await cli(["import", "first.jsonl", "--db", db]);
    expect(refused.stderr).toContain("first.jsonl:1: invalid UTF-8");
    const r = await cli(["import", "first.jsonl", "--skip-invalid", "--db", db]);
    expect(r.code, r.stderr).toBe(0);
    expect((await storedJudgments(db)).map((j) => j.comparison_id)).toEqual(["c2"]);
  });

  for (const parallel of [[], ["--no-parallel"]]) {
    const how = parallel.length > 0 ? "on the main thread" : "in a worker";
    it(`stops the import with file:line, or is set aside with --skip-invalid (${how})`, async () => {
      const { dir, db, cli } = await setup();
      writeFileSync(
        join(dir, "in.jsonl"),
        Buffer.concat([
          Buffer.from(`${judgment("c1", "café ok")}\n`),
          latin1Line("c2"),
          Buffer.from(`\n${judgment("c3", "fine")}\n`),
        ]),
      );
      const refused = await cli(["import", "in.jsonl", "--db", db, ...parallel]);
      expect(refused.code).toBe(65);
      expect(refused.stderr).toContain("in.jsonl:2: invalid UTF-8 at byte offset");
      expect(await storedJudgments(db)).toEqual([]);

      const r = await cli([
        "import",
        "in.jsonl",
        "--skip-invalid",
        "--rejects",
        "rej.jsonl",
        "--db",
        db,
        ...parallel,
      ]);
      expect(r.code, r.stderr).toBe(0);
      const stored = await storedJudgments(db);
      expect(stored.map((j) => [j.comparison_id, j.prompt])).toEqual([
        ["c1", "café ok"],
        ["c3", "fine"],
      ]);
      const [reject] = rejectsOf(join(dir, "rej.jsonl"));
      expect(reject).toMatchObject({ line: 2 });
      expect(reject!.error).toContain("invalid UTF-8");
      expect(reject!.raw).toContain('"comparison_id":"c2"');
    });
  }
});

describe("invalid UTF-8 in CSV", () => {
  it("rejects the record that holds it, also one spanning lines", async () => {
    const dir = join(root, "csv");
    mkdirSync(dir, { recursive: true });
    const p = join(dir, "labels.csv");
    writeFileSync(
      p,
      Buffer.concat([
        Buffer.from('task,worker,label\nc1,w1,a\nc2,"two\nline'),
        Buffer.from([0xff]),
        Buffer.from('s",b\nc3,w'),
        Buffer.from([0xc3]), // a cut-off two-byte character
        Buffer.from(",a\nc4,wö,b\n"),
      ]),
    );
    const parsed = (await collect(parseCategoricalBatches(p))).flat();
    expect(parsed.map((x) => [x.line, x.ok])).toEqual([
      [2, true],
      [4, false],
      [5, false],
      [6, true],
    ]);
    const errors = parsed.flatMap((x) => (x.ok ? [] : [x.error.message]));
    expect(errors).toEqual([
      `${p}:4: invalid UTF-8 at byte offset 4 of the line (byte 0xff)`,
      `${p}:5: invalid UTF-8 at byte offset 4 of the line (byte 0xc3)`,
    ]);
  });

  it("stops the import unless --skip-invalid", async () => {
    const { dir, db, cli } = await setup();
    writeFileSync(
      join(dir, "pairs.csv"),
      Buffer.concat([
        Buffer.from("worker,left,right,label\nw1,x,y,x\nw2,x,"),
        Buffer.from([0xe9]),
        Buffer.from(",x\n"),
      ]),
    );
    const refused = await cli(["import", "pairs.csv", "--db", db]);
    expect(refused.code).toBe(65);
    expect(refused.stderr).toContain("pairs.csv:3: invalid UTF-8 at byte offset 5");
    expect(await storedJudgments(db)).toEqual([]);
    const r = await cli(["import", "pairs.csv", "--skip-invalid", "--db", db]);
    expect(r.code, r.stderr).toBe(0);
    expect((await storedJudgments(db)).length).toBe(1);
  });

  it("Utf8Check finds the same lines however the bytes are chunked", async () => {
    const bytes = Buffer.concat([
      Buffer.from("a\né€😀\n"),
      Buffer.from([0xff]),
      Buffer.from("\nok\n"),
      Buffer.from([0xc3]),
      Buffer.from("x\n"),
      Buffer.from([0xf0, 0x9f]),
      Buffer.from("\n"),
    ]);
    const lines = async (cuts: number[]) => {
      const chunks: Buffer[] = [];
      let at = 0;
      for (const c of [...cuts, bytes.length]) {
        chunks.push(bytes.subarray(at, c));
        at = c;
      }
      const check = new Utf8Check("f");
      await collect(Readable.from(chunks).pipe(check));
      return check.invalid.map((x) => x.error.message);
    };
    const expected = await lines([]);
    expect(expected).toEqual([
      "f:3: invalid UTF-8 at byte offset 0 of the line (byte 0xff)",
      "f:5: invalid UTF-8 at byte offset 0 of the line (byte 0xc3)",
      "f:6: invalid UTF-8 at byte offset 0 of the line (byte 0xf0)",
    ]);
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 8 }),
        async (cuts) => {
          expect(await lines(cuts.sort((a, b) => a - b))).toEqual(expected);
        },
      ),
    );
  });
});

describe("firstInvalidUtf8", () => {
  it("agrees with buffer.isUtf8, and the bytes before it are valid", () => {
    const bytes = fc.uint8Array({ maxLength: 24 });
    const text = fc.string({ unit: "binary", maxLength: 12 }).map((s) => Buffer.from(s));
    const mixed = fc
      .array(fc.oneof(bytes, text), { maxLength: 4 })
      .map((parts) => Buffer.concat(parts));
    fc.assert(
      fc.property(mixed, (b) => {
        const at = firstInvalidUtf8(b);
        expect(at < 0).toBe(isUtf8(b));
        if (at >= 0) expect(isUtf8(b.subarray(0, at))).toBe(true);
      }),
      { numRuns: 2000 },
    );
    // Overlong forms, surrogates, above U+10FFFF, a cut-off character.
    for (const hex of ["c080", "e08080", "eda080", "f4908080", "e282"])
      expect(firstInvalidUtf8(Buffer.from(`61${hex}`, "hex"))).toBe(1);
  });
});

describe("a line over the length cap", () => {
  it("is reported as it passes the cap, without reading the rest of it first", async () => {
    const chunk = Buffer.alloc(MiB, "x");
    const tail = Buffer.from(`\n${judgment("c2", "after")}\n`);
    const taken = fakeStdin([...Array.from({ length: 40 }, () => chunk), tail]);
    const batches = readLineBatches("-", { invalid: "report" });
    const first = await batches.next();
    expect(taken()).toBeLessThanOrEqual(MAX_LINE_BYTES + 3 * MiB);
    expect(first.value).toMatchObject({ firstLine: 1, lines: ["x".repeat(TOO_LONG_PREFIX_BYTES)] });
    expect(first.value!.bad![0]!.error.message).toBe(
      `-:1: line is longer than ${MAX_LINE_BYTES} bytes`,
    );
    const rest = await collect(batches);
    expect(rest).toEqual([{ firstLine: 2, lines: [judgment("c2", "after")] }]);
  });

  it("is set aside with --skip-invalid and stops the import without it", async () => {
    const { dir, db, cli } = await setup();
    const long = JSON.stringify({ comparison_id: "c2", prompt: "é".repeat(MAX_LINE_BYTES / 2) });
    writeFileSync(
      join(dir, "long.jsonl"),
      `${judgment("c1", "p1")}\n${long}\n${judgment("c3", "p3")}\n`,
    );
    const refused = await cli(["import", "long.jsonl", "--db", db]);
    expect(refused.code).toBe(65);
    expect(refused.stderr).toContain(`long.jsonl:2: line is longer than ${MAX_LINE_BYTES} bytes`);
    expect(await storedJudgments(db)).toEqual([]);
    const r = await cli([
      "import",
      "long.jsonl",
      "--skip-invalid",
      "--rejects",
      "rej.jsonl",
      "--db",
      db,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect((await storedJudgments(db)).map((j) => j.comparison_id)).toEqual(["c1", "c3"]);
    const [reject] = rejectsOf(join(dir, "rej.jsonl"));
    expect(reject).toMatchObject({ line: 2 });
    expect(reject!.error).toContain(`line is longer than ${MAX_LINE_BYTES} bytes`);
    // The first bytes only, cut at a character boundary.
    expect(long.startsWith(reject!.raw)).toBe(true);
    expect(Buffer.byteLength(reject!.raw)).toBeLessThanOrEqual(TOO_LONG_PREFIX_BYTES);
    expect(Buffer.byteLength(reject!.raw)).toBeGreaterThan(TOO_LONG_PREFIX_BYTES - 4);
  });
});
