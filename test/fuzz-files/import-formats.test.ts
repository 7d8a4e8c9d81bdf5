/**
 * Mutation fuzzing of every import format's reader, as `keel import` calls it: the format is
 * detected, then the file parsed into batches. A mutated file may be accepted — each record
 * then a valid domain object — or refused: the whole file with a catalogue error naming it, or
 * one record with one naming `file:line`. Never a bare TypeError, RangeError or SyntaxError.
 */
import { describe, expect, it } from "vitest";
import {
  ChoiceSchema,
  GoldSchema,
  IdSchema,
  JudgmentSchema,
  RaterSchema,
} from "../../src/core/schemas.js";
import { detectFormat, IMPORT_FORMATS, importFormat } from "../../src/io/registry.js";
import { tempDir } from "../helpers/stores.js";
import { mutate, rng } from "./mutate.js";
import { CASES, caseFile, expectRecordRefusal, expectRefusal, SEED } from "./refusal.js";
import { IMPORT_SEEDS } from "./seeds.js";

const dir = tempDir("keel-fuzz-import-");

/** Checks that a parsed record is the valid domain object its format's kind promises. */
function checkRecord(kind: string, record: unknown, label: string): void {
  const r = record as Record<string, unknown>;
  switch (kind) {
    case "judgments": {
      const ok = JudgmentSchema.safeParse(record);
      expect(ok.success, `${label}: ${JSON.stringify(ok.error?.issues[0])}`).toBe(true);
      break;
    }
    case "refs":
      expect(IdSchema.safeParse(r.comparison_id).success, label).toBe(true);
      expect(IdSchema.safeParse(r.rater_id).success, label).toBe(true);
      expect(ChoiceSchema.safeParse(r.choice).success, label).toBe(true);
      break;
    case "gold":
      expect(GoldSchema.safeParse(record).success, label).toBe(true);
      break;
    case "raters":
      expect(RaterSchema.safeParse(record).success, label).toBe(true);
      expect(Object.getPrototypeOf(r.attributes), label).toBe(Object.prototype);
      break;
  }
}

async function parseCase(key: string, path: string, label: string): Promise<void> {
  const format = importFormat(key);
  let lastLine = 0;
  try {
    for await (const batch of format.parse(path, {}) as AsyncIterable<
      ({ ok: true; line: number; record: unknown } | { ok: false; line: number; error: Error })[]
    >) {
      for (const p of batch) {
        expect(p.line, label).toBeGreaterThan(0);
        // Records come in file order, one per line at most (a CSV record may span lines).
        expect(p.line, label).toBeGreaterThanOrEqual(lastLine);
        lastLine = p.line;
        if (p.ok) checkRecord(format.kind, p.record, label);
        else expectRecordRefusal(p.error, label, path, p.line);
      }
    }
  } catch (e) {
    expectRefusal(e, label, path);
  }
}

describe("import formats under mutation", () => {
  for (const [s, seed] of IMPORT_SEEDS.entries()) {
    it(`${seed.format} (${seed.ext}, seed file ${s}): accepted as valid records or refused with file:line`, async () => {
      const base = Buffer.from(seed.text);
      for (let i = 0; i < CASES; i++) {
        const r = rng(SEED + 1000 * s + i);
        const { name, bytes } = mutate(base, r, seed.ext === "csv" ? "csv" : "jsonl");
        const path = caseFile(dir, `s${s}-c${i}.${seed.ext}`, bytes);
        const label = `seed file ${s}, case ${i} (${name}) ${path}`;
        // Detection, as `--format auto` runs it.
        try {
          const key = await detectFormat(path);
          expect(
            IMPORT_FORMATS.map((f) => f.key),
            label,
          ).toContain(key);
        } catch (e) {
          expectRefusal(e, `${label} (detect)`, path);
        }
        // The seed's own format, as `--format KEY` runs it.
        await parseCase(seed.format, path, label);
      }
    });
  }
});
