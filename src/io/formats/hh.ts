/**
 * Anthropic HH-RLHF: `{chosen, rejected}`, each a full transcript ("\n\nHuman: … \n\nAssistant:
 * …"). Both share everything up to the final "\n\nAssistant:"; that shared part is the prompt
 * and the rest of each transcript is the response (the same split TRL applies to this data set).
 */
import { KeelError, type Where } from "../../core/errors.js";
import { HhRowSchema } from "../../core/schemas.js";
import type { Judgment, Parsed } from "../../core/types.js";
import { parseJsonlBatches, validateWith } from "../jsonl.js";
import { DEFAULT_IMPORT_RATER, type PreferenceImportOptions, pairComparisonId } from "./trl.js";

const ASSISTANT = "\n\nAssistant:";
const validateHh = validateWith(HhRowSchema);

/** Splits a transcript pair into the shared prompt and the two final answers. */
export function splitHhTranscripts(
  chosen: string,
  rejected: string,
  where: Where,
): [string, string, string] {
  const cut = chosen.lastIndexOf(ASSISTANT);
  if (cut < 0) {
    throw new KeelError("KEEL_E_INVALID_RECORD", `has no "${ASSISTANT.trim()}" turn`, {
      where: { ...where, field: "chosen" },
    });
  }
  const prompt = chosen.slice(0, cut + ASSISTANT.length);
  if (!rejected.startsWith(prompt)) {
    throw new KeelError(
      "KEEL_E_INVALID_RECORD",
      "does not share the chosen transcript's prompt (everything up to the last Assistant turn)",
      { where: { ...where, field: "rejected" } },
    );
  }
  const strip = (s: string) => (s.startsWith(" ") ? s.slice(1) : s);
  return [prompt, strip(chosen.slice(prompt.length)), strip(rejected.slice(prompt.length))];
}

export function hhRowToJudgment(
  value: unknown,
  where: Where,
  opts: PreferenceImportOptions,
): Judgment {
  const row = validateHh(value, where);
  const [prompt, chosen, rejected] = splitHhTranscripts(row.chosen, row.rejected, where);
  return {
    comparison_id: pairComparisonId("hh", prompt, chosen, rejected),
    prompt,
    response_a: chosen,
    response_b: rejected,
    rater_id: opts.raterId ?? DEFAULT_IMPORT_RATER,
    choice: "a",
  };
}

export function parseHhBatches(
  path: string,
  opts: PreferenceImportOptions = {},
): AsyncGenerator<Parsed<Judgment>[]> {
  return parseJsonlBatches(path, (v, where) => hhRowToJudgment(v, where, opts));
}
