/**
 * TRL preference data: `{prompt, chosen, rejected}` with plain strings ("standard") or message
 * lists ("conversational"), optionally without `prompt` when chosen/rejected are conversations
 * that share their opening turns ("implicit prompt"). On import each row becomes one judgment
 * with response A = chosen and choice "a" (a row's `weight` and `margin` are read but not stored:
 * the import reports how many rows had them); on export each non-tie judgment becomes a row, with
 * optional `weight` and `margin` columns.
 */
import { canonicalJson } from "../../core/canonical.js";
import { sha256Hex } from "../../core/digest.js";
import { KeelError, type Where } from "../../core/errors.js";
import { TrlRowSchema } from "../../core/schemas.js";
import type { Content, Judgment, Message, Parsed, PreferencePair } from "../../core/types.js";
import { parseJsonlBatches, validateWith } from "../jsonl.js";

export interface PreferenceImportOptions {
  /** Rater id for rows that carry none (datasets rarely name their annotators). */
  readonly raterId?: string;
}

export const DEFAULT_IMPORT_RATER = "import";

/** A stable comparison id for a preference pair without one: re-importing dedupes. */
export function pairComparisonId(prefix: string, prompt: Content, a: Content, b: Content): string {
  return `${prefix}:${sha256Hex(canonicalJson([prompt, a, b])).slice(0, 32)}`;
}

const validateTrl = validateWith(TrlRowSchema.partial({ prompt: true }));

function splitImplicitPrompt(
  chosen: Content,
  rejected: Content,
  where: Where,
): [Content, Content, Content] {
  if (typeof chosen === "string" || typeof rejected === "string") {
    throw new KeelError(
      "KEEL_E_INVALID_RECORD",
      "is required (rows without a prompt must be conversations; for HH-RLHF transcripts use --format hh-rlhf)",
      { where: { ...where, field: "prompt" } },
    );
  }
  let k = 0;
  while (
    k < chosen.length - 1 &&
    k < rejected.length - 1 &&
    chosen[k]!.role === rejected[k]!.role &&
    chosen[k]!.content === rejected[k]!.content
  ) {
    k++;
  }
  if (k === 0) {
    throw new KeelError(
      "KEEL_E_INVALID_RECORD",
      "chosen and rejected share no opening turns to use as the prompt",
      {
        where: { ...where, field: "prompt" },
      },
    );
  }
  const prompt: Message[] = chosen.slice(0, k);
  return [prompt, chosen.slice(k), rejected.slice(k)];
}

export function trlRowToJudgment(
  value: unknown,
  where: Where,
  opts: PreferenceImportOptions,
): Judgment {
  const row = validateTrl(value, where);
  let prompt = row.prompt;
  let chosen = row.chosen;
  let rejected = row.rejected;
  if (prompt === undefined)
    [prompt, chosen, rejected] = splitImplicitPrompt(chosen, rejected, where);
  return {
    comparison_id: row.id ?? pairComparisonId("trl", prompt, chosen, rejected),
    prompt,
    response_a: chosen,
    response_b: rejected,
    rater_id: row.rater_id ?? opts.raterId ?? DEFAULT_IMPORT_RATER,
    choice: "a",
  };
}

/** TRL columns keel reads and does not store: a judgment has no weight or margin. */
const UNSTORED = ["weight", "margin"] as const;

export async function* parseTrlBatches(
  path: string,
  opts: PreferenceImportOptions = {},
): AsyncGenerator<Parsed<Judgment>[]> {
  const convert = (v: unknown, where: Where) => {
    const record = trlRowToJudgment(v, where, opts);
    const row = v as Record<string, unknown>;
    const ignored = UNSTORED.filter((k) => row[k] !== undefined);
    return { record, ignored };
  };
  for await (const batch of parseJsonlBatches(path, convert))
    yield batch.map((p) =>
      p.ok
        ? {
            ok: true,
            line: p.line,
            record: p.record.record,
            ...(p.record.ignored.length > 0 ? { ignored: p.record.ignored } : {}),
          }
        : p,
    );
}

/** The preference pair a judgment states, or undefined for a tie. */
export function judgmentToPair(j: Judgment): PreferencePair | undefined {
  if (j.choice === "tie") return undefined;
  return j.choice === "a"
    ? { prompt: j.prompt, chosen: j.response_a, rejected: j.response_b }
    : { prompt: j.prompt, chosen: j.response_b, rejected: j.response_a };
}

export function pairToTrlRow(p: PreferencePair): Record<string, unknown> {
  const row: Record<string, unknown> = { prompt: p.prompt, chosen: p.chosen, rejected: p.rejected };
  if (p.weight !== undefined) row.weight = p.weight;
  if (p.margin !== undefined) row.margin = p.margin;
  return row;
}
