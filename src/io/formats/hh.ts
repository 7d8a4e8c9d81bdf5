/**
 * Anthropic HH-RLHF: `{chosen, rejected}`, each a full transcript ("\n\nHuman: … \n\nAssistant:
 * …"). The prompt is the two transcripts' common start, up to and including its last
 * "\n\nAssistant:"; the rest of each transcript is the response (the split TRL's HH-RLHF script
 * makes). An answer may itself hold "\n\nHuman:" or "\n\nAssistant:" (a model that went on
 * writing the conversation): cutting at the chosen transcript's own last "\n\nAssistant:" would
 * cut inside such an answer.
 */
import { KeelError, type Where } from "../../core/errors.js";
import { HhRowSchema } from "../../core/schemas.js";
import type { Judgment, Parsed } from "../../core/types.js";
import { parseJsonlBatches, validateWith } from "../jsonl.js";
import { DEFAULT_IMPORT_RATER, type PreferenceImportOptions, pairComparisonId } from "./trl.js";

const ASSISTANT = "\n\nAssistant:";
const validateHh = validateWith(HhRowSchema);

/** The length of the longest common start of two strings. */
function commonStart(a: string, b: string): number {
  const max = Math.min(a.length, b.length);
  let n = 0;
  while (n < max && a.charCodeAt(n) === b.charCodeAt(n)) n++;
  return n;
}

/** Splits a transcript pair into the shared prompt and the two final answers. */
export function splitHhTranscripts(
  chosen: string,
  rejected: string,
  where: Where,
): [string, string, string] {
  if (!chosen.includes(ASSISTANT)) {
    throw new KeelError("KEEL_E_INVALID_RECORD", `has no "${ASSISTANT.trim()}" turn`, {
      where: { ...where, field: "chosen" },
    });
  }
  const shared = commonStart(chosen, rejected);
  // The last "\n\nAssistant:" that lies wholly inside the common start.
  const cut =
    shared < ASSISTANT.length ? -1 : chosen.lastIndexOf(ASSISTANT, shared - ASSISTANT.length);
  if (cut < 0) {
    throw new KeelError(
      "KEEL_E_INVALID_RECORD",
      "does not share the chosen transcript's conversation up to an Assistant turn",
      { where: { ...where, field: "rejected" } },
    );
  }
  const prompt = chosen.slice(0, cut + ASSISTANT.length);
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
