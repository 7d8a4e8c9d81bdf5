/**
 * `keel generate`: candidate pairs for people to compare — two responses per prompt of a
 * prompt file, from a keel checkpoint or any generation provider (an OpenAI-compatible
 * endpoint), written in the rater web app's item format (`keel project create --items`).
 * The action is in actions/generate.ts.
 *
 *   keel generate --prompts prompts.jsonl --checkpoint runs/demo/base/model --out items.jsonl
 *   keel generate --prompts prompts.jsonl --provider provider.yaml --out items.jsonl
 */
import type { Command } from "commander";
import { KeelError } from "../../core/errors.js";
import { addOutputOptions, integerArg, numberArg, positiveInt } from "../common.js";
import type { CommandModule } from "../registry.js";

export interface GenerateCandidatesFlags {
  prompts: string;
  out: string;
  checkpoint?: string;
  provider?: string;
  temperature: number;
  maxNewTokens: number;
  batchSize: number;
  concurrency: number;
  seed: number;
  idPrefix: string;
  json?: boolean;
  quiet?: boolean;
}

function temperature(v: string): number {
  const n = numberArg(v);
  if (!Number.isFinite(n) || n <= 0 || n > 2)
    throw new KeelError(
      "KEEL_E_USAGE",
      `--temperature must be in (0, 2] (two greedy answers would be the same text), got ${JSON.stringify(v)}`,
    );
  return n;
}

export const generateCommand: CommandModule = {
  name: "generate",
  register(program: Command) {
    const cmd = program
      .command("generate")
      .description(
        "write candidate pairs to compare: two responses per prompt from a keel checkpoint or a generation provider, in the rater web app's item format",
      )
      .requiredOption(
        "-p, --prompts <file>",
        'prompt file (JSONL: a JSON string, {"prompt": …} or a world\'s prompt row per line)',
      )
      .requiredOption("-o, --out <file>", "candidates file to write (JSONL, written atomically)")
      .option("--checkpoint <dir>", "a keel checkpoint (with its tokenizer) to sample")
      .option(
        "--provider <file>",
        "instead: a generation provider config (YAML/JSON: {type: openai, base_url, model, api_key_env, …})",
      )
      .option("--temperature <t>", "sampling temperature, in (0, 2]", temperature, 1)
      .option(
        "--max-new-tokens <n>",
        "most new tokens per response",
        positiveInt("--max-new-tokens"),
        64,
      )
      .option(
        "--batch-size <n>",
        "prompts per engine batch (checkpoint); sampled responses depend on it as on --seed (each batch draws its own stream), so keep both to repeat a run",
        positiveInt("--batch-size"),
        32,
      )
      .option("--concurrency <n>", "calls in flight (provider)", positiveInt("--concurrency"), 4)
      .option("--seed <n>", "sampling seed", integerArg("--seed"), 0)
      .option("--id-prefix <text>", "comparison ids are <prefix>000001, …", "g");
    addOutputOptions(cmd).action(async (o: GenerateCandidatesFlags) => {
      const { runGenerateCandidates } = await import("../actions/generate.js");
      await runGenerateCandidates(o);
    });
  },
};
