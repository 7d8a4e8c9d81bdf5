/**
 * crowd-kit JSONL cells may be numbers (pandas writes ints), compared as strings by value: 1, 1.0
 * and 1e0 are the label "1", as in JSON itself. What JSON.parse has already changed is refused
 * at its field: a whole number past 2^53 (9007199254740993 arrives as …992, another task's id)
 * and one past the largest double (1e999 arrives as Infinity). CSV cells stay text as written.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  parseCategoricalBatches,
  parsePairwiseBatches,
  readCategoricalLabels,
} from "../../src/io/formats/crowdkit.js";
import { parseGoldBatches } from "../../src/io/formats/gold.js";
import { runCli } from "../helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "keel-crowdkit-numbers-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function outcomes(gen: AsyncGenerator<{ ok: boolean }[]>): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of gen)
    for (const p of batch as (
      | { ok: true; line: number; record: unknown }
      | { ok: false; line: number; error: Error }
    )[])
      out.push(p.ok ? `${p.line}: ${JSON.stringify(p.record)}` : p.error.message);
  return out;
}

describe("crowd-kit JSONL number cells", () => {
  it("are read by value: 1, 1.0, 1e0 and -0", async () => {
    const f = file(
      "values.jsonl",
      [
        '{"task": 7, "worker": "w", "label": 1}',
        '{"task": 7.0, "worker": "v", "label": 1.0}',
        '{"task": 7, "worker": "u", "label": 1e0}',
        '{"task": 7, "worker": "s", "label": -0}',
        '{"task": 9007199254740991, "worker": "t", "label": 0.5}',
      ].join("\n"),
    );
    const rows = [];
    for await (const { record } of readCategoricalLabels(f)) rows.push(record);
    expect(rows).toEqual([
      { task: "7", worker: "w", label: "1" },
      { task: "7", worker: "v", label: "1" },
      { task: "7", worker: "u", label: "1" },
      { task: "7", worker: "s", label: "0" },
      { task: "9007199254740991", worker: "t", label: "0.5" },
    ]);
  });

  it("past 2^53 or past the largest double are refused at their field", async () => {
    const f = file(
      "lossy.jsonl",
      [
        '{"task": 9007199254740993, "worker": "w", "label": "a"}',
        '{"task": "t", "worker": -1e20, "label": "a"}',
        '{"task": "t", "worker": "w", "label": 1e999}',
      ].join("\n"),
    );
    expect(await outcomes(parseCategoricalBatches(f))).toEqual([
      `${f}:1: task: is a whole number past 2^53, which JSON readers round (read as 9007199254740992)`,
      `${f}:2: worker: is a whole number past 2^53, which JSON readers round (read as -100000000000000000000)`,
      `${f}:3: label: is past the largest number JSON readers hold (read as Infinity)`,
    ]);
    const p = file(
      "pairs.jsonl",
      '{"worker": "w", "left": 9007199254740993, "right": 9007199254740992, "label": 9007199254740993}\n',
    );
    expect(await outcomes(parsePairwiseBatches(p))).toEqual([
      `${p}:1: left: is a whole number past 2^53, which JSON readers round (read as 9007199254740992)`,
    ]);
  });

  it("keel import refuses such a file and writes nothing", async () => {
    const db = join(dir, "k.db");
    expect((await runCli(["init", "--db", db])).code).toBe(0);
    const f = file(
      "import.jsonl",
      '{"worker": "w", "left": "x", "right": "y", "label": "x"}\n{"worker": "w", "left": 9007199254740993, "right": "y", "label": "y"}\n',
    );
    const r = await runCli(["import", f, "-f", "crowd-kit-pairwise", "--db", db]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain(`${f}:2: left: is a whole number past 2^53`);
    expect(r.stderr).toContain("write it as a string");
    const s = JSON.parse((await runCli(["stats", "--db", db, "--json"])).stdout);
    expect(s.judgments).toBe(0);
  });

  it("CSV cells are text as written: ' 1', '1.0', '1,5' and 'Infinity' are labels of their own", async () => {
    const f = file("cells.csv", 'task,worker,label\nt,w, 1\nt,v,1.0\nt,u,"1,5"\nt,s,Infinity\n');
    const labels = [];
    for await (const { record } of readCategoricalLabels(f)) labels.push(record.label);
    expect(labels).toEqual([" 1", "1.0", "1,5", "Infinity"]);
  });
});

describe("crowd-kit gold JSONL number cells", () => {
  it("join the labels table: {task: 7} is the task 7; keel's own keys keep strings", async () => {
    const f = file(
      "gold.jsonl",
      '{"task": 7, "true_label": "a"}\n{"task": 9007199254740993, "true_label": "b"}\n{"comparison_id": 8, "gold": "a"}\n',
    );
    expect(await outcomes(parseGoldBatches(f))).toEqual([
      '1: {"comparison_id":"7","gold":"a"}',
      `${f}:2: task: is a whole number past 2^53, which JSON readers round (read as 9007199254740992)`,
      `${f}:3: comparison_id: expected string, received number`,
    ]);
  });
});
