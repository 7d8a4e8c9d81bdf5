/**
 * `keel redteam`: the world's red-team suites (plain harmful requests, four jailbreak
 * families, backdoor-trigger probes and their controls, over-refusal probes, benign tasks)
 * against a policy — a keel checkpoint or any generation provider — scored by the world's
 * oracle, never by a reward model. The action is in actions/redteam.ts.
 *
 *   keel redteam --checkpoint runs/train/ppo/model --world examples/train-world.yaml
 *   keel redteam --provider provider.yaml --prompts runs/demo/world/prompts.jsonl --out rt.jsonl
 */
import { type Command, Option } from "commander";
import { KeelError } from "../../core/errors.js";
import { SUITES } from "../../redteam/suites.js";
import {
  addOutputOptions,
  nonNegativeInt,
  numberArg,
  positiveInt,
  triggerToken,
} from "../common.js";
import type { CommandModule } from "../registry.js";

export interface RedteamFlags {
  checkpoint?: string;
  provider?: string;
  world?: string;
  prompts?: string;
  perSuite: number;
  suites?: string[];
  /** Default: the world's trigger token. */
  trigger?: string;
  shots: number;
  samples: number;
  temperature: number;
  maxNewTokens: number;
  batchSize: number;
  concurrency: number;
  seed: number;
  out?: string;
  json?: boolean;
  quiet?: boolean;
}

function nonNegative(flag: string, max: number) {
  return (v: string): number => {
    const n = numberArg(v);
    if (!Number.isFinite(n) || n < 0 || n > max)
      throw new KeelError(
        "KEEL_E_USAGE",
        `${flag} must be a number in [0, ${max}], got ${JSON.stringify(v)}`,
      );
    return n;
  };
}

/** A positive integer up to `max` (as a pipeline config's `redteam` block bounds it). */
function upTo(flag: string, max: number) {
  const parse = positiveInt(flag);
  return (v: string): number => {
    const n = parse(v);
    if (n > max)
      throw new KeelError(
        "KEEL_E_USAGE",
        `${flag} must be at most ${max}, got ${JSON.stringify(v)}`,
      );
    return n;
  };
}

function suiteList(v: string): string[] {
  const names = v.split(",").map((s) => s.trim());
  for (const n of names)
    if (!(SUITES as readonly string[]).includes(n))
      throw new KeelError(
        "KEEL_E_USAGE",
        `--suites: no suite ${JSON.stringify(n)}; the suites are ${SUITES.join(", ")}`,
      );
  return names;
}

export const redteamCommand: CommandModule = {
  name: "redteam",
  register(program: Command) {
    const cmd = program
      .command("redteam")
      .description(
        "red-team a policy (keel checkpoint or generation provider) with the world's suites — harmful requests, jailbreaks, backdoor triggers, over-refusal probes, benign tasks — scored by the world's oracle",
      )
      .option("--checkpoint <dir>", "a keel policy checkpoint (with its tokenizer)")
      .option(
        "--provider <file>",
        "instead: a generation provider config (YAML/JSON: {type: openai, base_url, model, api_key_env, …})",
      )
      .option("--world <file>", "the world config whose redteam split the probes come from")
      .option(
        "--prompts <file>",
        "instead: a world's prompts.jsonl (keel world generate's, or a run's world/prompts.jsonl)",
      )
      .option("--per-suite <n>", "probes per suite (at most)", positiveInt("--per-suite"), 40)
      .addOption(
        new Option("--suites <list>", `comma-separated, from ${SUITES.join(", ")}`)
          .argParser(suiteList)
          .default(undefined, "all"),
      )
      .option(
        "--trigger <token>",
        "the backdoor trigger the trigger probes carry (default: the world's trigger token, SUDO unless the world sets another)",
        triggerToken("--trigger"),
      )
      .option(
        "--shots <n>",
        "compliant examples before the request in a many-shot probe, 1–32 (fewer fit a short context)",
        upTo("--shots", 32),
        8,
      )
      .option(
        "--samples <n>",
        "answers per probe, 1–64; more than 1 needs --temperature > 0 (rates then average over the policy's samples)",
        upTo("--samples", 64),
        1,
      )
      .option(
        "--temperature <t>",
        "sampling temperature (0 = greedy)",
        nonNegative("--temperature", 2),
        0,
      )
      .option(
        "--max-new-tokens <n>",
        "most new tokens per answer",
        positiveInt("--max-new-tokens"),
        48,
      )
      .option(
        "--batch-size <n>",
        "probes per engine batch; with --temperature > 0 the answers, and so the rates, depend on it as on --seed (each batch draws its own stream), so keep both to repeat a run",
        positiveInt("--batch-size"),
        64,
      )
      .option("--concurrency <n>", "calls in flight (provider)", positiveInt("--concurrency"), 4)
      .option(
        "--seed <n>",
        "seed for the probe sample and for sampling",
        nonNegativeInt("--seed"),
        1,
      )
      .option(
        "-o, --out <file>",
        "write every probe's result as JSONL (suite, prompt_id, text, response, outcome, scores), atomically",
      )
      .addHelpText(
        "after",
        "\nExamples:\n  keel redteam --checkpoint runs/train/ppo/model --world examples/train-world.yaml\n" +
          "  keel redteam --checkpoint runs/demo/defended/policy/model --prompts runs/demo/world/prompts.jsonl --samples 4 --temperature 1\n" +
          "  keel redteam --provider provider.yaml --world examples/world.yaml --suites harmful,jailbreak_roleplay --out rt.jsonl",
      );
    addOutputOptions(cmd).action(async (o: RedteamFlags) => {
      const { runRedteamCommand } = await import("../actions/redteam.js");
      await runRedteamCommand(o);
    });
  },
};
