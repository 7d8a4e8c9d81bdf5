import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { READ_CHUNK_BYTES } from "../../src/io/files.js";
import { countLines, MAX_LINE_BYTES, readLineBatches } from "../../src/io/lines.js";
import { collect } from "../helpers/data.js";
import { tempDir } from "../helpers/stores.js";

const dir = tempDir();

async function lines(content: string | Buffer): Promise<{ line: number; text: string }[]> {
  const p = join(dir, `f${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(p, content);
  const out: { line: number; text: string }[] = [];
  for (const b of await collect(readLineBatches(p)))
    b.lines.forEach((text, i) => {
      out.push({ line: b.firstLine + i, text });
    });
  return out;
}

describe("readLineBatches", () => {
  it("handles LF, CRLF, a BOM and a last line without newline", async () => {
    expect(await lines("\ufeffa\r\nb\n\nc")).toEqual([
      { line: 1, text: "a" },
      { line: 2, text: "b" },
      { line: 3, text: "" },
      { line: 4, text: "c" },
    ]);
    expect(await lines("")).toEqual([]);
  });

  it("keeps multi-byte characters intact across chunk boundaries and numbers lines right", async () => {
    // Lines of 3-byte characters spanning several read chunks.
    const row = "☃".repeat(1000);
    const n = 1200;
    const got = await lines(`${Array.from({ length: n }, () => row).join("\n")}\n`);
    expect(got.length).toBe(n);
    expect(got.every((l) => l.text === row)).toBe(true);
    expect(got[n - 1]!.line).toBe(n);
  });

  it("joins a line that spans many read chunks, with the lines around it numbered", async () => {
    const long = "x".repeat(READ_CHUNK_BYTES * 5 + 17);
    expect(await lines(`a\n${long}\r\nb\n${long}`)).toEqual([
      { line: 1, text: "a" },
      { line: 2, text: long },
      { line: 3, text: "b" },
      { line: 4, text: long },
    ]);
  });

  it("stops at a line over the length cap, naming its line", async () => {
    const p = join(dir, "long.jsonl");
    writeFileSync(p, `{}\n${"y".repeat(MAX_LINE_BYTES + 1)}\n`);
    await expect(collect(readLineBatches(p))).rejects.toThrow(
      /long\.jsonl:2: line is longer than 33554432 bytes/,
    );
  });

  it("reporting a line over the cap, numbers the lines after it as they are in the file", async () => {
    const p = join(dir, "long-report.jsonl");
    // Past the cap by more than a chunk: the reader stops gathering it before its end.
    writeFileSync(p, `a\n${"y".repeat(MAX_LINE_BYTES + 2 * READ_CHUNK_BYTES)}\nb\nc\n`);
    const got: string[] = [];
    for (const b of await collect(readLineBatches(p, { invalid: "report" })))
      b.lines.forEach((text, i) => {
        const bad = b.bad?.find((x) => x.index === i);
        got.push(`${b.firstLine + i}:${bad ? bad.reason : text}`);
      });
    expect(got).toEqual(["1:a", "2:too-long", "3:b", "4:c"]);
  });

  it("countLines counts a final unterminated line", async () => {
    const p = join(dir, "c.txt");
    writeFileSync(p, "a\nb\nc");
    expect(await countLines(p)).toBe(3);
    writeFileSync(p, "a\nb\n");
    expect(await countLines(p)).toBe(2);
  });

  it("a missing file is a clear error", async () => {
    await expect(collect(readLineBatches(join(dir, "missing.jsonl")))).rejects.toThrow(
      /missing\.jsonl: cannot read: no such file/,
    );
  });
});
