/**
 * `keel serve-model`: an OpenAI-compatible endpoint (/v1/models, /v1/chat/completions,
 * /v1/completions; streaming and not) over a keel checkpoint, or, with --upstream, a guarding
 * proxy in front of another OpenAI-compatible server. --guard checks every completion with the
 * safety baseline and --cost-model with the Safe-RLHF cost model before it is sent; refusals
 * are logged (see src/server/openai). The action is in actions/serve-model.ts.
 */
import type { Command } from "commander";
import { KeelError } from "../../core/errors.js";
import { DEFAULT_MAX_PENDING, DEFAULT_MAX_REQUEST_TOKENS } from "../../core/serving-limits.js";
import { integerArg, numberArg, positiveInt } from "../common.js";
import type { CommandModule } from "../registry.js";
import { type LogLevel, logLevelOption, portArg, shutdownTimeoutOption } from "./serve.js";

export interface ServeModelFlags {
  checkpoint?: string;
  upstream?: string;
  upstreamModel?: string;
  upstreamKeyEnv?: string;
  model?: string;
  port: number;
  host: string;
  apiKeyEnv?: string;
  maxTokens?: number;
  maxRequestTokens: number;
  maxPending: number;
  temperature?: number;
  threads?: number;
  seed: number;
  guard?: boolean;
  costModel?: string;
  costThreshold: number;
  refusal?: string;
  refusalLog?: string;
  logTexts?: boolean;
  logLevel: LogLevel;
  shutdownTimeout: number;
}

function number(flag: string, min: number, max: number) {
  return (v: string): number => {
    const n = numberArg(v);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new KeelError(
        "KEEL_E_USAGE",
        `${flag} must be a number in [${min}, ${max}], got ${JSON.stringify(v)}`,
      );
    return n;
  };
}

export const serveModelCommand: CommandModule = {
  name: "serve-model",
  register(program: Command) {
    const cmd = program
      .command("serve-model")
      .description("serve a keel checkpoint (or guard another server) over the OpenAI API")
      .option("--checkpoint <dir>", "keel checkpoint to serve")
      .option("--upstream <url>", "instead: an OpenAI-compatible base URL to proxy (…/v1)")
      .option("--upstream-model <name>", "--upstream: the model to ask for")
      .option("--upstream-key-env <var>", "--upstream: environment variable holding its API key")
      .option("--model <name>", "model name clients use (default: the checkpoint's directory name)")
      .option("--port <n>", "TCP port (0 = any free port)", portArg, 8000)
      .option("--host <address>", "address to listen on", "127.0.0.1")
      .option(
        "--api-key-env <var>",
        "require Authorization: Bearer <the key in this environment variable>",
      )
      .option(
        "--max-tokens <n>",
        "default and largest completion length",
        positiveInt("--max-tokens"),
      )
      .option(
        "--max-request-tokens <n>",
        "most tokens one request may ask for (prompts × n × max_tokens); more is refused with 400",
        positiveInt("--max-request-tokens"),
        DEFAULT_MAX_REQUEST_TOKENS,
      )
      .option(
        "--max-pending <n>",
        "most completion requests in progress or waiting at once; more get 429 with Retry-After",
        positiveInt("--max-pending"),
        DEFAULT_MAX_PENDING,
      )
      .option(
        "--temperature <t>",
        "default sampling temperature (0 = greedy; default 1)",
        number("--temperature", 0, 2),
      )
      .option("--threads <n>", "ONNX Runtime threads", positiveInt("--threads"))
      .option(
        "--seed <n>",
        "seed of requests that give none",
        integerArg("--seed", -(2 ** 31), 2 ** 31),
        0,
      )
      .option(
        "--guard",
        "check every completion with the safety baseline (rule classifier) before sending it",
      )
      .option(
        "--cost-model <dir>",
        "also check it with this Safe-RLHF cost model (implies --guard)",
      )
      .option(
        "--cost-threshold <c>",
        "refuse when the cost exceeds this",
        number("--cost-threshold", -1e9, 1e9),
        0,
      )
      .option("--refusal <text>", "what a refused request gets", undefined)
      .option("--refusal-log <file>", "append every guarded refusal to this JSONL file")
      .option(
        "--log-texts",
        "put prompt and output texts in refusal records (default: SHA-256 only)",
      );
    shutdownTimeoutOption(logLevelOption(cmd))
      .addHelpText(
        "after",
        "\nExamples:\n  keel serve-model --checkpoint runs/train/ppo/model --port 8000 --guard\n" +
          "  keel serve-model --checkpoint runs/demo/defended/policy/model --model defended   # a keel run's or demo's policy\n" +
          "  KEEL_MODEL_KEY=s3cret keel serve-model --checkpoint runs/train/ppo/model --api-key-env KEEL_MODEL_KEY --cost-model runs/train/cost/model\n" +
          "  keel serve-model --upstream http://127.0.0.1:8001/v1 --upstream-model meta-llama/Llama-3.1-8B-Instruct --guard",
      )
      .action(async (o: ServeModelFlags) => {
        const { runServeModel } = await import("../actions/serve-model.js");
        await runServeModel(o);
      });
  },
};
