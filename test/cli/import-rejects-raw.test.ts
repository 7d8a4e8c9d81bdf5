/**
 * `keel import --skip-invalid --rejects`: a line the reader kept only by its first bytes (longer
 * than MAX_LINE_BYTES) says so, `raw_truncated: true`, so that a reader of the rejects file
 * does not take that start for the line; a line kept whole has no such field. Every line of
 * the file stays one JSON object.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_LINE_BYTES, TOO_LONG_PREFIX_BYTES } from "../../src/io/lines.js";
import { runCli } from "../helpers/cli.js";
import { initedStore } from "../helpers/import-store.js";
import { tempDir } from "../helpers/stores.js";

const root = tempDir("keel-rejects-raw-");

const judgment = (id: string, prompt: string, choice = "a") =>
  JSON.stringify({
    comparison_id: id,
    prompt,
    response_a: "a",
    response_b: "b",
    rater_id: "r1",
    choice,
  });

describe("the rejects file's raw text", () => {
  for (const parallel of [true, false]) {
    it(`marks a cut line and only that one${parallel ? "" : " (--no-parallel)"}`, async () => {
      const { dir, db } = await initedStore(root);
      // Line 2 is over the cap; line 3 is invalid but short; line 4 is invalid and longer
      // than the kept prefix, but within the cap, so it is kept whole.
      const long = judgment("c2", "é".repeat(MAX_LINE_BYTES / 2));
      const short = judgment("c3", "p", "A");
      const medium = judgment("c4", "q".repeat(4 * TOO_LONG_PREFIX_BYTES), "A");
      const input = join(dir, "in.jsonl");
      writeFileSync(input, `${judgment("c1", "p1")}\n${long}\n${short}\n${medium}\n`);
      const rejects = join(dir, "rej.jsonl");
      const r = await runCli([
        "import",
        input,
        "--db",
        db,
        "-q",
        "--skip-invalid",
        "--rejects",
        rejects,
        ...(parallel ? [] : ["--no-parallel"]),
      ]);
      expect(r.code, r.stderr).toBe(0);
      const text = readFileSync(rejects, "utf8");
      expect(text.endsWith("\n")).toBe(true);
      const rows = text
        .slice(0, -1)
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(rows.map((x) => x.line)).toEqual([2, 3, 4]);
      const [cut, kept, keptLong] = rows;
      expect(Object.keys(cut!).sort()).toEqual(["error", "line", "raw", "raw_truncated"]);
      expect(cut!.raw_truncated).toBe(true);
      expect(long.startsWith(cut!.raw as string)).toBe(true);
      expect(Buffer.byteLength(cut!.raw as string)).toBeLessThanOrEqual(TOO_LONG_PREFIX_BYTES);
      expect(kept).toEqual({ line: 3, error: expect.stringContaining(":3: choice"), raw: short });
      expect(keptLong).toEqual({
        line: 4,
        error: expect.stringContaining(":4: choice"),
        raw: medium,
      });
    });
  }
});
