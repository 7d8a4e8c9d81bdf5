/**
 * `keel world generate` and `keel world score`: the synthetic world's files. `generate` reads a
 * world config (YAML), simulates the rater panel and writes judgments.jsonl, truth.json,
 * prompts.jsonl, sft.jsonl and eval_pairs.jsonl, each streamed to a temporary file and renamed
 * into place only when every file is complete. `score` applies the oracle to responses. The
 * actions are in actions/world.ts.
 */
import type { Command } from "commander";
import type { WorldConfig } from "../../world/index.js";
import { DEFAULT_TRIGGER } from "../../world/triggers.js";
import { addOutputOptions, listOption, nonNegativeInt, triggerToken } from "../common.js";
import type { CommandModule } from "../registry.js";

/**
 * Reads and validates a world config file, naming file, line and field on errors. The loader
 * needs the YAML parser and the world's schemas, so it lives in actions/world.ts and is loaded
 * on the first call.
 */
export async function loadWorldConfig(file: string): Promise<WorldConfig> {
  const world = await import("../actions/world.js");
  return world.loadWorldConfig(file);
}

export interface WorldGenerateFlags {
  config: string;
  out: string;
  seed?: string;
  comparisons?: number;
  json?: boolean;
  quiet?: boolean;
}

export interface ScoreFlags {
  in: string;
  prompts?: string;
  trigger: string[];
  out?: string;
  skipUnknown?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export const worldCommand: CommandModule = {
  name: "world",
  register(program: Command) {
    const world = program
      .command("world")
      .description(
        "the synthetic world: prompts with ground truth, an oracle, simulated rater panels with attackers",
      );
    const gen = world
      .command("generate")
      .description(
        "simulate a rater panel and write judgments.jsonl, truth.json, prompts.jsonl, sft.jsonl, eval_pairs.jsonl",
      )
      .requiredOption("-c, --config <file>", "world config (YAML); see examples/world*.yaml")
      .requiredOption(
        "-o, --out <dir>",
        "output directory (created if missing); files are written atomically",
      )
      .option("--seed <seed>", "override the config's seed")
      .option("--comparisons <n>", "override comparisons.count", nonNegativeInt("--comparisons"))
      .addHelpText(
        "after",
        "\nExample:\n  keel world generate --config examples/world.yaml --out runs/world",
      );
    addOutputOptions(gen).action(async (o: WorldGenerateFlags) => {
      const { runGenerate } = await import("../actions/world.js");
      await runGenerate(o);
    });
    const sc = world
      .command("score")
      .description("score responses with the oracle and print helpfulness, harm and refusal rates")
      .requiredOption(
        "-i, --in <file>",
        'JSONL rows {"prompt_id" | "prompt", "response" | "completion", "id"?}',
      )
      .option(
        "--prompts <file>",
        "the world's prompts.jsonl (needed for rows that give only a prompt_id; exact truth for prompt text)",
      )
      .addOption(
        listOption(
          "--trigger <token>",
          "trigger token to strip from prompt text, repeatable",
          (v: string, acc: string[]) => [...acc, triggerToken("--trigger")(v)],
          DEFAULT_TRIGGER,
        ),
      )
      .option(
        "--out <file>",
        "also write one oracle score per row (JSONL; - for standard output, which then moves the summary to standard error)",
      )
      .option("--skip-unknown", "skip rows whose prompt is not a world prompt instead of failing")
      .addHelpText(
        "after",
        "\nExample:\n  keel world score --in responses.jsonl --prompts runs/world/prompts.jsonl --json",
      );
    addOutputOptions(sc).action(async (o: ScoreFlags) => {
      const { runScore } = await import("../actions/world.js");
      await runScore(o);
    });
  },
};
