/**
 * keel's only CSV output, the crowd-kit tables, is machine-facing interchange (pandas and
 * crowd-kit read it; so does `keel import`): cells are written as they are, also ones that a
 * spreadsheet would take for a formula, because a quote prefix would change the ids that
 * join the table to the store (docs/formats.md says so and why).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Judgment } from "../../src/core/types.js";
import { exportFormat } from "../../src/io/exporters.js";
import { parseCategoricalBatches } from "../../src/io/formats/crowdkit.js";
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
