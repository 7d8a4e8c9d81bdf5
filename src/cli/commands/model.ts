/**
 * `keel model …`: create, inspect, export and sample keel's GPT checkpoints. The engine lives
 * in src/engine; this file defines the options, and actions/model.ts (model-init.ts for init,
 * model-score.ts for score) calls it and prints.
 *
 *   keel model init --out DIR --vocab 256 --d-model 128 --layers 2 --heads 4 --context 64
 *   keel model info --checkpoint DIR
 *   keel model export-onnx --checkpoint DIR --out model.onnx [--heads logits,values,rewards]
 *   keel model generate --checkpoint DIR --prompt "2+2=" [--prompts FILE] [--max-new-tokens 32]
 *   keel model score --model DIR --in pairs.jsonl [--out scores.jsonl]
 */
import type { Command } from "commander";
import { KeelError } from "../../core/errors.js";
import type { Head } from "../../engine/gpt/graphs.js";
import { HEADS } from "../choices.js";
import {
  addOutputOptions,
  dbTarget,
  listOption,
  numberArg,
  oneOf,
  positiveInt,
  seedArg,
} from "../common.js";
import type { CommandModule } from "../registry.js";

export interface ModelInitFlags {
  out: string;
  vocab: number;
  dModel: number;
  layers: number;
  heads: number;
  context: number;
  seed: string;
  tokenizer?: string;
  json?: boolean;
}

export interface InfoFlags {
  checkpoint: string;
  json?: boolean;
}

export interface ExportOnnxFlags {
  checkpoint: string;
  out: string;
  heads: Head[];
  verify: boolean;
  json?: boolean;
}

export interface ScoreFlags {
  model: string;
  in?: string;
  db?: string;
  out?: string;
  batchSize: number;
  scoring?: string;
  lambda?: number;
  threads?: number;
  json?: boolean;
  quiet?: boolean;
}

export interface GenerateFlags {
  checkpoint: string;
  prompt: string[];
  prompts?: string;
  split?: string;
  batchSize: number;
  maxNewTokens: number;
  temperature: number;
  topK?: number;
  topP?: number;
  seed: string;
  out?: string;
  json?: boolean;
  quiet?: boolean;
}

function parseHeads(v: string): Head[] {
  const heads = v.split(",").map((s) => s.trim());
  for (const h of heads) {
    if (!(HEADS as readonly string[]).includes(h)) {
      throw new KeelError(
        "KEEL_E_USAGE",
        `--heads: unknown head ${JSON.stringify(h)}; choose from ${HEADS.join(", ")}`,
      );
    }
  }
  return [...new Set(heads)] as Head[];
}

const num = (flag: string) => (v: string) => {
  const n = numberArg(v);
  if (!Number.isFinite(n))
    throw new KeelError("KEEL_E_USAGE", `${flag} must be a number, got ${JSON.stringify(v)}`);
  return n;
};

/** A number in [lo, hi] (a flag's own range, checked here so the error names the flag). */
const inRange =
  (flag: string, lo: number, hi: number, range: string) =>
  (v: string): number => {
    const n = num(flag)(v);
    if (!(n >= lo && n <= hi))
      throw new KeelError("KEEL_E_USAGE", `${flag} must be in ${range}, got ${JSON.stringify(v)}`);
    return n;
  };

export const modelCommand: CommandModule = {
  name: "model",
  register(program: Command) {
    const model = program
      .command("model")
      .description("create, inspect, export and sample GPT checkpoints");
    const init = model
      .command("init")
      .description("write a freshly initialised GPT checkpoint")
      .requiredOption("-o, --out <dir>", "checkpoint directory")
      .option("--vocab <n>", "vocabulary size", positiveInt("--vocab"), 256)
      .option("--d-model <n>", "model width", positiveInt("--d-model"), 128)
      .option("--layers <n>", "transformer blocks", positiveInt("--layers"), 2)
      .option("--heads <n>", "attention heads (must divide --d-model)", positiveInt("--heads"), 4)
      .option("--context <n>", "context length", positiveInt("--context"), 64)
      .option("--seed <seed>", "initialisation seed", seedArg, "0")
      .option("--tokenizer <file>", "a tokenizer.json to store with the checkpoint");
    addOutputOptions(init).action(async (o: ModelInitFlags) => {
      const { runInit } = await import("../actions/model-init.js");
      await runInit(o);
    });
    const info = model
      .command("info")
      .description("print a checkpoint's configuration and contents")
      .requiredOption("-c, --checkpoint <dir>", "checkpoint directory");
    addOutputOptions(info).action(async (o: InfoFlags) => {
      const { runInfo } = await import("../actions/model.js");
      await runInfo(o);
    });
    const exp = model
      .command("export-onnx")
      .description(
        "write a standalone inference .onnx (weights embedded; inputs input_ids, attention_mask)",
      )
      .requiredOption("-c, --checkpoint <dir>", "checkpoint directory")
      .requiredOption("-o, --out <file>", "output .onnx file (written atomically)")
      .option("--heads <list>", `outputs, comma-separated from ${HEADS.join(", ")}`, parseHeads, [
        "logits",
      ] as Head[])
      .option(
        "--no-verify",
        "skip the check that a fresh ONNX Runtime session reproduces keel's outputs",
      )
      .addHelpText(
        "after",
        "\nExamples:\n  keel model export-onnx --checkpoint runs/train/ppo/model --out policy.onnx\n" +
          "  keel model export-onnx --checkpoint runs/train/rm/model/member-0 --heads rewards --out rm.onnx",
      );
    addOutputOptions(exp).action(async (o: ExportOnnxFlags) => {
      const { runExport } = await import("../actions/model.js");
      await runExport(o);
    });
    const gen = model
      .command("generate")
      .description(
        "sample completions for text prompts (the checkpoint must include a tokenizer); a model trained by keel is prompted as its trainers did (prompt, <|sep|>) and stops at <|eos|>",
      )
      .requiredOption("-c, --checkpoint <dir>", "checkpoint directory")
      .addOption(
        listOption(
          "-p, --prompt <text>",
          "prompt text, repeatable",
          (v: string, acc: string[]) => [...acc, v],
          "none",
        ),
      )
      .option(
        "--prompts <file>",
        'more prompts from a file (JSONL: a JSON string, {"prompt": …} or a world\'s prompt row per line), after any --prompt',
      )
      .option(
        "--split <name>",
        "with a world's prompts.jsonl: only prompts of this split (train, eval, redteam, …)",
      )
      .option(
        "--batch-size <n>",
        "prompts per engine batch; sampled completions depend on it as on --seed (each batch draws its own stream), so keep both to repeat a run",
        positiveInt("--batch-size"),
        32,
      )
      .option(
        "--max-new-tokens <n>",
        "tokens to generate per prompt",
        positiveInt("--max-new-tokens"),
        32,
      )
      .option(
        "--temperature <t>",
        "sampling temperature (0 = greedy)",
        inRange("--temperature", 0, Number.MAX_VALUE, "[0, ∞)"),
        1,
      )
      .option("--top-k <k>", "keep the k most likely tokens", positiveInt("--top-k"))
      .option(
        "--top-p <p>",
        "nucleus sampling mass, in (0, 1]",
        inRange("--top-p", Number.MIN_VALUE, 1, "(0, 1]"),
      )
      .option("--seed <seed>", "sampling seed", seedArg, "0")
      .option(
        "--out <file>",
        'also write the completions as JSONL ({"prompt", "completion", "finish"} per line, written atomically), which keel world score --in reads as it is',
      )
      .addHelpText(
        "after",
        "\nExample:\n  keel model generate -c runs/train/sft/model --prompts runs/world/prompts.jsonl --split eval --temperature 0 --out answers.jsonl -q\n  keel world score --in answers.jsonl --prompts runs/world/prompts.jsonl",
      );
    addOutputOptions(gen).action(async (o: GenerateFlags) => {
      const { runGenerate } = await import("../actions/model.js");
      await runGenerate(o);
    });
    const score = model
      .command("score")
      .description(
        "score a file with a reward or cost model (or ensemble): preference pairs or judgments get each side's score and the held-out metrics (accuracy, margin, ECE, NLL); responses get a score each",
      )
      .requiredOption(
        "-m, --model <dir>",
        "reward or cost model: a checkpoint or ensemble directory (what keel train rm|cost prints as model)",
      )
      .option(
        "-i, --in <file>",
        "JSONL: TRL pairs {prompt, chosen, rejected}, keel judgments (ties left out) or responses {prompt, response} (or {prompt, completion}, as keel model generate --out writes)",
      )
      .option(
        "--db <path|url>",
        "instead: the judgments of this feedback store (each rater's agreement with the model too; env KEEL_DB when neither --in nor --db is given)",
        dbTarget,
      )
      .option(
        "-o, --out <file>",
        "write each row's scores as JSONL (line, chosen, rejected, p_chosen; or line, score), atomically",
      )
      .option("--batch-size <n>", "responses per forward pass", positiveInt("--batch-size"), 64)
      .option(
        "--scoring <how>",
        "an ensemble's scoring instead of its own: mean, worst or uncertainty",
        oneOf("--scoring", ["mean", "worst", "uncertainty"] as const),
      )
      .option("--lambda <x>", "uncertainty scoring: mean − λ·std", num("--lambda"))
      .option("--threads <n>", "ONNX Runtime threads", positiveInt("--threads"))
      .addHelpText(
        "after",
        "\nExamples:\n  keel model score -m runs/train/rm/model -i heldout.jsonl\n" +
          "  keel model score -m runs/train/rm-large/model --db keel.db   # which raters disagree with it\n" +
          "  keel model score -m runs/train/rm/model -i answers.jsonl -o scores.jsonl --json",
      );
    addOutputOptions(score).action(async (o: ScoreFlags) => {
      const { runScore } = await import("../actions/model-score.js");
      await runScore(o);
    });
  },
};
