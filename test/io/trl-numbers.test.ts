/**
 * A TRL row's `weight` and `margin` are numbers JSON holds: 1e999 (Infinity to JSON.parse) and a
 * quoted "NaN" are refused at their line and field, with nothing imported; NaN unquoted is not
 * JSON. A value that underflows (-1e-400 is -0) is a number, read and reported as not stored.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseTrlBatches } from "../../src/io/formats/trl.js";

const dir = mkdtempSync(join(tmpdir(), "keel-trl-numbers-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const row = (extra: string) => `{"prompt": "p", "chosen": "a", "rejected": "b"${extra}}`;

let files = 0;

async function outcomes(lines: string[]): Promise<string[]> {
  const path = join(dir, `t${files++}.jsonl`);
  writeFileSync(path, `${lines.join("\n")}\n`);
  const out: string[] = [];
  for await (const batch of parseTrlBatches(path))
    for (const p of batch)
      out.push(
        p.ok
          ? `${p.line}: ok${p.ignored ? ` (not stored: ${p.ignored.join(", ")})` : ""}`
          : p.error.message.slice(path.length + 1),
      );
  return out;
}

describe("TRL weight and margin", () => {
  it("refuses what is not a finite number, at its field", async () => {
    expect(
      await outcomes([
        row(', "weight": 1e999'),
        row(', "margin": -1e999'),
        row(', "weight": "NaN"'),
        row(', "margin": "0.5"'),
        row(', "weight": NaN'),
      ]),
    ).toEqual([
      "1: weight: expected number, received Infinity",
      "2: margin: expected number, received -Infinity",
      "3: weight: expected number, received string",
      "4: margin: expected number, received string",
      expect.stringMatching(/^5: invalid JSON: /),
    ]);
  });

  it("reads -0, an underflow to it and a number past 2^53 as numbers (and says they are not stored)", async () => {
    expect(
      await outcomes([
        row(', "weight": -0'),
        row(', "margin": -1e-400'),
        row(', "weight": 9007199254740993, "margin": 1'),
      ]),
    ).toEqual([
      "1: ok (not stored: weight)",
      "2: ok (not stored: margin)",
      "3: ok (not stored: weight, margin)",
    ]);
  });
});
