/** keel judgments JSONL (DESIGN.md): one self-contained judgment per line, in and out. */
import type { Where } from "../../core/errors.js";
import { acceptJudgmentFast, JudgmentSchema } from "../../core/schemas.js";
import type { Judgment, Parsed } from "../../core/types.js";
import { parseJsonlBatches, strictRecords, validateWith } from "../jsonl.js";

const validateJudgment = validateWith(JudgmentSchema);

/** Validates a judgment record: the fast path for the common case, the schema otherwise. */
export function toJudgment(value: unknown, where: Where): Judgment {
  return acceptJudgmentFast(value) ?? validateJudgment(value, where);
}

export function parseJudgmentBatches(path: string): AsyncGenerator<Parsed<Judgment>[]> {
  return parseJsonlBatches(path, toJudgment);
}

/** Judgments from a file; the first invalid line throws `file:line: field: …`. */
export function readJudgments(path: string): AsyncGenerator<{ record: Judgment; line: number }> {
  return strictRecords(parseJudgmentBatches(path));
}

/** The record as written: DESIGN.md's key order, optional fields only when present. */
export function judgmentToJson(j: Judgment): Record<string, unknown> {
  const out: Record<string, unknown> = {
    comparison_id: j.comparison_id,
    prompt: j.prompt,
    response_a: j.response_a,
    response_b: j.response_b,
    rater_id: j.rater_id,
    choice: j.choice,
  };
  if (j.gold !== undefined) out.gold = j.gold;
  if (j.created_at !== undefined) out.created_at = j.created_at;
  if (j.latency_ms !== undefined) out.latency_ms = j.latency_ms;
  if (j.shown_order !== undefined) out.shown_order = j.shown_order;
  if (j.rationale !== undefined) out.rationale = j.rationale;
  if (j.flags !== undefined) out.flags = j.flags;
  return out;
}
