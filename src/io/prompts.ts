/**
 * Prompt files: JSONL, each non-empty line a JSON string or an object with a `prompt` string
 * (other keys are ignored). PPO reads its prompts from one (`prompts: {from: file}`), and
 * `keel generate` writes candidate pairs for one.
 */
import { KeelError } from "../core/errors.js";
import { parseJsonlBatches, strictRecords } from "./jsonl.js";

/**
 * The prompts of a JSONL file: each non-empty line a JSON string or an object with a
 * `prompt` string. Errors name the file and line.
 */
export async function readPromptFile(path: string): Promise<string[]> {
  const out: string[] = [];
  const lines = parseJsonlBatches(path, (v, where) => {
    const prompt = typeof v === "string" ? v : (v as { prompt?: unknown } | null)?.prompt;
    if (typeof prompt !== "string" || prompt.trim() === "") {
      throw new KeelError("KEEL_E_INVALID_RECORD", "expected a prompt string", {
        where: { ...where, field: "prompt" },
      });
    }
    return prompt;
  });
  for await (const { record } of strictRecords(lines)) out.push(record);
  if (out.length === 0)
    throw new KeelError("KEEL_E_INVALID_RECORD", "no prompts in the file", {
      where: { file: path },
    });
  return out;
}
