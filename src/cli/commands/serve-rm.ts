/**
 * `keel serve-rm`: keel's reward model (optionally with the cost model and the safety baseline)
 * behind OpenRLHF's remote reward-model protocol (POST /get_reward), with batching and a
 * fail-closed mode (see src/server/reward). The action is in actions/serve-rm.ts.
 */
import type { Command } from "commander";
import { KeelError } from "../../core/errors.js";
import { DEFAULT_MAX_QUEUED_ITEMS, DEFAULT_RM_MAX_PENDING } from "../../core/serving-limits.js";
import { listOption, numberArg, positiveInt } from "../common.js";
import type { CommandModule } from "../registry.js";
import {
  type LogLevel,
  logLevelOption,
  portArg,
  shutdownTimeoutOption,
  timerSeconds,
} from "./serve.js";

export interface ServeRmFlags {
  rewardModel: string;
  costModel?: string;
  costWeight: number;
  safety?: boolean;
  floor: number;
  failClosed?: boolean;
  maxBatch: number;
  maxQueuedItems: number;
  maxPending: number;
  timeout: number;
  strip: string[];
  port: number;
  host: string;
  apiKeyEnv?: string;
  threads?: number;
  logLevel: LogLevel;
  shutdownTimeout: number;
}

function finite(flag: string) {
  return (v: string): number => {
    const n = numberArg(v);
    if (!Number.isFinite(n))
      throw new KeelError("KEEL_E_USAGE", `${flag} must be a number, got ${JSON.stringify(v)}`);
    return n;
  };
}

export const serveRmCommand: CommandModule = {
  name: "serve-rm",
  register(program: Command) {
    const cmd = program
      .command("serve-rm")
      .description("serve a keel reward model over OpenRLHF's remote reward-model protocol")
      .requiredOption("--reward-model <dir>", "keel reward model checkpoint or ensemble directory")
      .option("--cost-model <dir>", "subtract λ·max(0, cost) with this Safe-RLHF cost model")
      .option(
        "--cost-weight <λ>",
        "reward lost per unit of positive cost",
        finite("--cost-weight"),
        1,
      )
      .option("--safety", "cap the reward of responses the safety baseline flags at --floor")
      .option(
        "--floor <r>",
        "reward of unsafe responses and, with --fail-closed, of unscorable ones",
        finite("--floor"),
        -10,
      )
      .option("--fail-closed", "give unscorable items the floor instead of failing the request")
      .option("--max-batch <n>", "most items scored in one batch", positiveInt("--max-batch"), 64)
      .option(
        "--max-queued-items <n>",
        "most items waiting to be scored, across requests; a request that would pass it gets 503 with Retry-After",
        positiveInt("--max-queued-items"),
        DEFAULT_MAX_QUEUED_ITEMS,
      )
      .option(
        "--max-pending <n>",
        "most requests being received or scored at once; one more gets 503 with Retry-After before its body is read",
        positiveInt("--max-pending"),
        DEFAULT_RM_MAX_PENDING,
      )
      .option("--timeout <seconds>", "per request", timerSeconds("--timeout"), 120)
      .addOption(
        listOption(
          "--strip <token>",
          "string to strip from both ends of queries and prompts (repeatable; e.g. the tokenizer's pad and eos)",
          (v: string, acc: string[]) => [...acc, v],
          "none",
        ),
      )
      .option("--port <n>", "TCP port (0 = any free port)", portArg, 5000)
      .option("--host <address>", "address to listen on", "127.0.0.1")
      .option(
        "--api-key-env <var>",
        "require Authorization: Bearer <the key in this environment variable>",
      )
      .option("--threads <n>", "ONNX Runtime threads per model", positiveInt("--threads"));
    shutdownTimeoutOption(logLevelOption(cmd))
      .addHelpText(
        "after",
        "\nExamples:\n  keel serve-rm --reward-model runs/train/rm/model --port 5000\n" +
          "  keel serve-rm --reward-model runs/demo/defended/rm/model   # a keel run's or demo's reward model\n" +
          "  keel serve-rm --reward-model runs/train/rm/model --cost-model runs/train/cost/model --safety --fail-closed --strip '<|endoftext|>' --host 0.0.0.0\n" +
          "  # OpenRLHF: python3 -m openrlhf.cli.train_ppo_ray … --remote_rm_url http://<host>:5000/get_reward",
      )
      .action(async (o: ServeRmFlags) => {
        const { runServeRm } = await import("../actions/serve-rm.js");
        await runServeRm(o);
      });
  },
};
