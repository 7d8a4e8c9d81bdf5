/**
 * Prompt files: JSONL, each non-empty line a JSON string, an object with a `prompt` string, or
 * a world's prompt row (`content`, and `split`; a world's prompts.jsonl as it is). Other keys are
 * ignored. PPO reads its prompts from one (`prompts: {from: file}`), `keel generate` writes
 * candidate pairs for one, and `keel model generate` samples completions for one.
 */
import { KeelError, type Where } from "../core/errors.js";
import { isWellFormed, NOT_WELL_FORMED } from "../core/schemas.js";
import { parseJsonlBatches, strictRecords } from "./jsonl.js";

/** One line of a prompt file, parsed: its prompt and, for a world's row, its split. */
export function promptRow(v: unknown, where: Where): { text: string; split: string | undefined } {
  const row = v !== null && typeof v === "object" ? (v as Record<string, unknown>) : {};
  const text = typeof v === "string" ? v : (row.prompt ?? row.content);
  const field =
    typeof v === "string" ? "(record)" : row.prompt !== undefined ? "prompt" : "content";
  if (typeof text !== "string" || text.trim() === "") {
    throw new KeelError(
      "KEEL_E_INVALID_RECORD",
      'expected a prompt: a JSON string, {"prompt": …} or a world prompt row {"content": …}',
      { where: { ...where, field: "prompt" } },
    );
  }
  // A lone surrogate ("\ud800" in JSON) has no UTF-8 form: the tokenizer and a provider's
  // request would both send U+FFFD instead, and the pairs generated for it could never be
  // stored (the store refuses such text). Refused here, at its line, before any work.
  if (!isWellFormed(text))
    throw new KeelError("KEEL_E_INVALID_RECORD", NOT_WELL_FORMED, { where: { ...where, field } });
  return { text, split: typeof row.split === "string" ? row.split : undefined };
}

export interface PromptFileOptions {
  /** Keep only rows of this split (rows that name no split are kept). */
  readonly split?: string | undefined;
}

/**
 * The prompts of a JSONL file, in file order. Errors name the file and line; a file with no
 * prompts (or none of `split`) is an error too.
 */
export async function readPromptFile(path: string, o: PromptFileOptions = {}): Promise<string[]> {
  const out: string[] = [];
  const lines = parseJsonlBatches(path, promptRow);
  for await (const { record } of strictRecords(lines)) {
    if (o.split === undefined || record.split === undefined || record.split === o.split)
      out.push(record.text);
  }
  if (out.length === 0)
    throw new KeelError(
      "KEEL_E_INVALID_RECORD",
      o.split === undefined
        ? "no prompts in the file"
        : `no prompts of split "${o.split}" in the file`,
      { where: { file: path } },
    );
  return out;
}
