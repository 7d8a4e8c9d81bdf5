/**
 * Inputs that would hold the whole file in memory are stopped at the line cap: a first line on
 * standard input that never ends (format detection reads it once, chunk by chunk), and a CSV
 * record that never ends (an unclosed quote).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseCsvBatches } from "../../src/io/csv.js";
import { openInput } from "../../src/io/files.js";
import { MAX_LINE_BYTES } from "../../src/io/lines.js";
import { detectFormat } from "../../src/io/registry.js";
import { collect } from "../helpers/data.js";
import { failure } from "../helpers/errors.js";
import { fakeStdin } from "../helpers/stdin.js";
import { tempDir } from "../helpers/stores.js";

const dir = tempDir("keel-caps-");
const MiB = 1024 * 1024;

describe("format detection on standard input", () => {
  it("reads a long first line once and gives every byte back to the parser", async () => {
    const row = JSON.stringify({
      comparison_id: "c1",
      prompt: "x".repeat(300_000),
      response_a: "a",
      response_b: "b",
      rater_id: "r",
      choice: "a",
    });
    const text = `\n${row}\n${row}\n`;
    const bytes = Buffer.from(text);
    const pieces = Array.from({ length: Math.ceil(bytes.length / 4096) }, (_, i) =>
      bytes.subarray(i * 4096, (i + 1) * 4096),
    );
    fakeStdin(pieces);
    expect(await detectFormat("-")).toBe("judgments");
    const back = Buffer.concat(await collect(await openInput("-"))).toString();
    expect(back).toBe(text);
  });

  it("stops at the line cap instead of reading a line that never ends", async () => {
    const chunk = Buffer.alloc(MiB, "x");
    const taken = fakeStdin(Array.from({ length: 40 }, () => chunk));
    const e = await failure(detectFormat("-"));
    expect(e.code).toBe("KEEL_E_INVALID_RECORD");
    expect(e.message).toContain(`-:1: line is longer than ${MAX_LINE_BYTES} bytes`);
    expect(taken()).toBeLessThanOrEqual(MAX_LINE_BYTES + 3 * MiB);
  });
});

describe("CSV tables", () => {
  it("stop at an unclosed quote's record once it passes the cap, naming its line", async () => {
    const path = join(dir, "unclosed.csv");
    const filler = `${"y".repeat(1023)}\n`.repeat((MAX_LINE_BYTES + 2 * MiB) / 1024);
    writeFileSync(path, `task,worker,label\nc1,w1,a\n"c2,w1,b\n${filler}`);
    const e = await failure(
      collect(parseCsvBatches(path, { required: ["task", "worker", "label"] }, (r) => r)),
    );
    expect(e.code).toBe("KEEL_E_INVALID_RECORD");
    expect(e.where).toMatchObject({ file: path, line: 3 });
    expect(e.message).toContain(`runs on for more than ${MAX_LINE_BYTES} bytes`);
    expect(e.hint).toContain("unclosed quote");
  });
});
