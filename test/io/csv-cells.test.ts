/**
 * keel's only CSV output, the crowd-kit tables, is machine-facing interchange (pandas and
 * crowd-kit read it; so does `keel import`): cells are written as they are, also ones that a
 * spreadsheet would take for a formula, because a quote prefix would change the ids that
 * join the table to the store (docs/formats.md says so and why).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import type { Judgment } from "../../src/core/types.js";
import { csvField } from "../../src/io/csv.js";
import { exportFormat } from "../../src/io/exporters.js";
import {
  csvRow,
  parseCategoricalBatches,
  parsePairwiseBatches,
} from "../../src/io/formats/crowdkit.js";
import { collect } from "../helpers/data.js";
import { tempDir } from "../helpers/stores.js";

const dir = tempDir("keel-csv-cells-");

const judgment = (comparison_id: string, rater_id: string): Judgment => ({
  comparison_id,
  prompt: "p",
  response_a: "a",
  response_b: "b",
  rater_id,
  choice: "a",
});

describe("crowd-kit CSV export", () => {
  it("writes formula-like ids verbatim, and they read back the same", async () => {
    const ids = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "plain"];
    const path = join(dir, "labels.csv");
    const out = exportFormat("crowd-kit").open(path, {});
    for (const id of ids) await out.write(judgment(id, id));
    await out.commit();
    const text = readFileSync(path, "utf8");
    expect(text).toContain('"=HYPERLINK(""http://x"",""y"")"');
    expect(text).not.toContain("'");
    const back = (await collect(parseCategoricalBatches(path))).flat();
    expect(back.map((p) => (p.ok ? [p.record.task, p.record.worker] : p.error.message))).toEqual(
      ids.map((id) => [id, id]),
    );
  });
});

describe("csvField", () => {
  it("quotes a cell with a quote, comma, line break or carriage return, and it reads back whole", () => {
    const cells = ["a\rb", "c\nd", "e\r\nf", "g,h", 'i"j', " k ", "plain"];
    expect(cells.map(csvField)).toEqual([
      '"a\rb"',
      '"c\nd"',
      '"e\r\nf"',
      '"g,h"',
      '"i""j"',
      '" k "',
      "plain",
    ]);
    // Ids may not hold control characters, so an RFC 4180 reader checks the round trip.
    const rows = parse(cells.map((c) => csvRow([c, "w", "a"])).join("")) as string[][];
    expect(rows.map((r) => r[0])).toEqual(cells);
  });
});

describe("crowd-kit CSV import of a misplaced quote", () => {
  const rows = (bad: string) =>
    ["worker,left,right,label", "w1,a,b,a", bad, "w3,a,b,b", "w4,c,d,c", "w5,e,f,e", ""].join("\n");

  it("stops at a quoted field that does not end at a comma, --skip-invalid or not (the rows after it were swallowed)", async () => {
    for (const bad of ['w2,"x"y,z,w', 'w2,"unclosed,z,w']) {
      const path = join(dir, "closing.csv");
      writeFileSync(path, rows(bad));
      await expect(collect(parsePairwiseBatches(path))).rejects.toMatchObject({
        code: "KEEL_E_INVALID_RECORD",
        where: { file: path, line: 3 },
        message: expect.stringContaining("malformed CSV quoting"),
      });
    }
  });

  it("sets aside a quote inside an unquoted field and reads every row after it", async () => {
    const path = join(dir, "opening.csv");
    writeFileSync(path, rows('w2,x"y,z,w'));
    const got = (await collect(parsePairwiseBatches(path))).flat();
    expect(got.map((p) => (p.ok ? p.record.worker : `bad:${p.line}`))).toEqual([
      "w1",
      "bad:3",
      "w3",
      "w4",
      "w5",
    ]);
  });
});
