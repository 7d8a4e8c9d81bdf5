/**
 * The JSONL files the trainers and `keel model score` read: rows checked against a zod schema
 * with `file:line: field` errors, and preference pairs from TRL rows (prompt, chosen,
 * rejected) or keel judgments (ties dropped; audit weights joined on comparison_id).
 */
import { z } from "zod";
import { KeelError, type Where } from "../../core/errors.js";
import { parseRecord } from "../../core/schemas.js";
import type { PreferencePair } from "../../core/types.js";
import { readJsonTextFile, readTextFile } from "../../io/files.js";

const NOT_JSONL =
  "the file must be JSONL: one JSON object a line, not a JSON array or pretty-printed JSON";

/** Every non-blank line of `file`, parsed and converted (or checked against a schema). */
export function readJsonl<T>(
  file: string,
  row: z.ZodType<T> | ((value: unknown, where: Where) => T),
  text = readTextFile(file),
): T[] {
  const convert =
    typeof row === "function" ? row : (v: unknown, where: Where) => parseRecord(row, v, where);
  const out: T[] = [];
  // A byte-order mark (editors on Windows write one) is not part of the first row.
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  body.split("\n").forEach((l, i) => {
    if (!l.trim()) return;
    const where = { file, line: i + 1 };
    let v: unknown;
    try {
      v = JSON.parse(l);
    } catch {
      // A JSON array, or one object spread over lines, fails on its first line.
      const spread = /^\s*[[{]\s*$/.test(l) || (i === 0 && l.trimStart().startsWith("["));
      throw new KeelError("KEEL_E_INVALID_RECORD", "not valid JSON", {
        where,
        ...(spread ? { hint: NOT_JSONL } : {}),
      });
    }
    if (Array.isArray(v))
      throw new KeelError("KEEL_E_INVALID_RECORD", "is a JSON array, not one object", {
        where,
        hint: NOT_JSONL,
      });
    out.push(convert(v, where));
  });
  return out;
}

export const PairRowSchema = z.object({
  prompt: z.string(),
  chosen: z.string(),
  rejected: z.string(),
  weight: z.number().min(0).optional(),
  margin: z.number().optional(),
});
export const JudgmentRowSchema = z.object({
  comparison_id: z.string(),
  prompt: z.string(),
  response_a: z.string(),
  response_b: z.string(),
  choice: z.enum(["a", "b", "tie"]),
});
const AuditSchema = z.object({
  comparisons: z.array(
    z.object({ comparison_id: z.string(), weight: z.number(), excluded: z.boolean() }),
  ),
});

/** Preference pairs from TRL rows or keel judgments (ties dropped; audit weights joined). */
export function readPairs(file: string, weightsFile?: string): PreferencePair[] {
  const text = readTextFile(file);
  if (!isJudgmentsText(text)) {
    if (weightsFile)
      throw new KeelError(
        "KEEL_E_USAGE",
        "audit weights join on comparison_id: give judgments, not pairs",
        {
          where: { file, field: "data.weights" },
        },
      );
    return readJsonl(file, PairRowSchema, text);
  }
  const weights = new Map<string, number>();
  if (weightsFile) {
    const audit = parseRecord(AuditSchema, readJsonTextFile(weightsFile), { file: weightsFile });
    for (const c of audit.comparisons) weights.set(c.comparison_id, c.excluded ? 0 : c.weight);
  }
  return readJsonl(file, JudgmentRowSchema, text)
    .filter((j) => j.choice !== "tie")
    .map((j) => {
      const [chosen, rejected] =
        j.choice === "a" ? [j.response_a, j.response_b] : [j.response_b, j.response_a];
      const w = weights.get(j.comparison_id);
      return { prompt: j.prompt, chosen, rejected, ...(w === undefined ? {} : { weight: w }) };
    });
}

/** True when the file's first row is a keel judgment (comparison_id, response_a, …). */
export function isJudgmentsText(text: string): boolean {
  const first = text.split("\n").find((l) => l.trim());
  return first !== undefined && /"comparison_id"/.test(first) && /"response_a"/.test(first);
}
