/**
 * The JSONL files the trainers and `keel model score` read: rows checked against a zod schema
 * with `file:line: field` errors, and preference pairs from TRL rows (prompt, chosen,
 * rejected) or keel judgments (ties dropped; audit weights joined on comparison_id).
 */
import { z } from "zod";
import { KeelError, type Where } from "../../core/errors.js";
import { textLines } from "../../core/files.js";
import { isWellFormed, NOT_WELL_FORMED, parseRecord } from "../../core/schemas.js";
import type { Judgment, PreferencePair } from "../../core/types.js";
import { CleanPlan, textsDigest } from "../../defend/clean.js";
import { checkAuditFormat, parseAuditComparison } from "../../defend/json.js";
import { readJsonTextFile } from "../../io/files.js";

const NOT_JSONL =
  "the file must be JSONL: one JSON object a line, not a JSON array or pretty-printed JSON";

/**
 * Every non-blank line of `file` (or of `text`, its contents when already read), parsed and
 * converted (or checked against a schema). The file is read line by line, so a training set
 * past V8's ~512 MiB string limit is read too.
 */
export function readJsonl<T>(
  file: string,
  row: z.ZodType<T> | ((value: unknown, where: Where) => T),
  text?: string,
): T[] {
  const convert =
    typeof row === "function" ? row : (v: unknown, where: Where) => parseRecord(row, v, where);
  const out: T[] = [];
  // A byte-order mark (editors on Windows write one) is not part of the first row.
  const lines =
    text === undefined
      ? textLines(file)
      : (text.startsWith("\uFEFF") ? text.slice(1) : text).split("\n");
  let i = -1;
  for (const l of lines) {
    i++;
    if (!l.trim()) continue;
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
  }
  return out;
}

/** The first non-blank line of `file` ("" when it has none), read without the rest. */
function firstLine(file: string): string {
  for (const l of textLines(file)) if (l.trim()) return l;
  return "";
}

/**
 * A text to train or score on: no lone UTF-16 surrogate (JSON may spell one, `"\ud800"`; the
 * tokenizer would read it as U+FFFD, a text the file does not hold), as every import refuses.
 */
export const RowText = z.string().refine(isWellFormed, NOT_WELL_FORMED);

export const PairRowSchema = z.object({
  prompt: RowText,
  chosen: RowText,
  rejected: RowText,
  weight: z.number().min(0).optional(),
  margin: z.number().optional(),
});
export const JudgmentRowSchema = z.object({
  comparison_id: z.string(),
  prompt: RowText,
  response_a: RowText,
  response_b: RowText,
  choice: z.enum(["a", "b", "tie"]),
});
/** An audit's comparisons, each then read as cleaning reads them (parseAuditComparison). */
const AuditSchema = z.object({ comparisons: z.array(z.unknown()) });

/**
 * Preference pairs from TRL rows or keel judgments (ties dropped). With an audit, judgments
 * become the audit's cleaned preferences, as `keel export --clean` writes them and the pipeline
 * trains on them: one pair per comparison, the side its p_a favours, weighing
 * weight·|2p_a − 1| (excluded comparisons and exact ties left out). Joined judgment by judgment
 * instead, an excluded rater's flipped judgment of a kept comparison trained at the comparison's
 * full weight: the poison the audit had caught went through.
 */
export function readPairs(file: string, weightsFile?: string): PreferencePair[] {
  if (!isJudgmentsText(firstLine(file))) {
    if (weightsFile)
      throw new KeelError(
        "KEEL_E_USAGE",
        "audit weights join on comparison_id: give judgments, not pairs",
        {
          where: { file, field: "data.weights" },
        },
      );
    return readJsonl(file, PairRowSchema);
  }
  const side = (j: { choice: string; prompt: string; response_a: string; response_b: string }) => {
    const [chosen, rejected] =
      j.choice === "a" ? [j.response_a, j.response_b] : [j.response_b, j.response_a];
    return { prompt: j.prompt, chosen, rejected };
  };
  if (!weightsFile) {
    return readJsonl(file, (v, where) => parseRecord(JudgmentRowSchema, v, where))
      .filter((j) => j.choice !== "tie")
      .map(side);
  }
  const raw = readJsonTextFile(weightsFile);
  checkAuditFormat(raw, weightsFile);
  const audit = parseRecord(AuditSchema, raw, { file: weightsFile });
  const plan = new CleanPlan(
    audit.comparisons.map((c, i) => parseAuditComparison(c, i, weightsFile)),
    weightsFile,
  );
  const row = (v: unknown, where: Where) => {
    const j = parseRecord(JudgmentRowSchema, v, where);
    if (j.choice !== "tie")
      checkAudited(j, plan.byId.get(j.comparison_id), { file, weightsFile, where });
    return j;
  };
  const out: PreferencePair[] = [];
  for (const j of readJsonl(file, row)) {
    // The rater does not matter here: the plan chooses for the comparison.
    const cleaned = plan.choose({ ...j, rater_id: "" } satisfies Judgment);
    if (cleaned) out.push({ ...side(cleaned as typeof j), weight: plan.weightOf(cleaned)! });
  }
  return out;
}

/**
 * Throws unless the audit read this judgment's comparison, with these texts: one it did not read
 * would train at full weight as if audited, and an audit of other data must not pass for this
 * file's (the check `keel export --clean` makes).
 */
function checkAudited(
  j: z.output<typeof JudgmentRowSchema>,
  audited: { texts?: string | undefined } | undefined,
  o: { file: string; weightsFile: string; where: Where },
): void {
  const why = !audited
    ? "is not in the audit"
    : audited.texts !== undefined &&
        audited.texts !== textsDigest(j.prompt, j.response_a, j.response_b)
      ? "has other texts than the audit read"
      : undefined;
  if (why)
    throw new KeelError(
      "KEEL_E_CONFLICT",
      `comparison ${JSON.stringify(j.comparison_id)} ${why} (${o.weightsFile}): the audit was made on other data`,
      {
        where: { ...o.where, field: "comparison_id" },
        hint: `audit this file (keel audit --in ${o.file} --out audit.json) and train with that audit`,
      },
    );
}

/**
 * True when the file's first row is a keel judgment (has comparison_id and response_a). The row
 * is parsed, not searched: a TRL pair whose prompt quotes "comparison_id" is still a pair.
 */
export function isJudgmentsText(text: string): boolean {
  const first = text
    .replace(/^\uFEFF/, "")
    .split("\n")
    .find((l) => l.trim());
  if (first === undefined) return false;
  let row: unknown;
  try {
    row = JSON.parse(first);
  } catch {
    // A broken first row is reported by the reader of the kind it looks like.
    return /"comparison_id"/.test(first) && /"response_a"/.test(first);
  }
  return (
    typeof row === "object" &&
    row !== null &&
    Object.hasOwn(row, "comparison_id") &&
    Object.hasOwn(row, "response_a")
  );
}
