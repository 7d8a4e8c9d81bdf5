/**
 * `keel launch`: hand training to OpenRLHF on a Ray cluster through Ray's job submission REST
 * API — submit, follow status and logs, stop (src/providers/ray).
 *
 *   keel launch openrlhf rm  --ray-address URL --pretrain M --dataset D --save-path P [-- extra]
 *   keel launch openrlhf ppo --ray-address URL --pretrain M --prompt-data D
 *                            --remote-rm-url http://keel-rm:5000/get_reward --save-path P [-- extra]
 *   keel launch status|logs|stop <submission-id> --ray-address URL
 *
 * The actions are in actions/launch.ts.
 */
import type { Command } from "commander";
import { KeelError } from "../../core/errors.js";
import { OPENRLHF_VERSION } from "../../providers/ray/openrlhf.js";
import { addOutputOptions, listOption, numberArg, oneOf, positiveInt } from "../common.js";
import type { CommandModule } from "../registry.js";

export interface RayFlags {
  rayAddress?: string;
  header: string[];
  json?: boolean;
  quiet?: boolean;
}

export interface LaunchFlags extends RayFlags {
  pretrain: string;
  savePath: string;
  dataset?: string;
  promptKey?: string;
  chosenKey?: string;
  rejectedKey?: string;
  promptData?: string;
  inputKey?: string;
  remoteRmUrl?: string;
  gpus?: number;
  vllmEngines?: number;
  runtimeEnvJson?: string;
  pipInstall?: boolean;
  submissionId?: string;
  wait: boolean;
  stopOnInterrupt?: boolean;
  dryRun?: boolean;
  interval: number;
}

export interface LogsFlags extends RayFlags {
  follow?: boolean;
  interval: number;
}

function rayOptions(cmd: Command): Command {
  const ray = cmd
    .option(
      "--ray-address <url>",
      "Ray dashboard address, e.g. http://head:8265 (env KEEL_RAY_ADDRESS)",
    )
    .addOption(
      listOption(
        "--header <name:value>",
        "extra HTTP header for the dashboard (repeatable; e.g. behind an authenticating proxy)",
        (v: string, acc: string[]) => [...acc, v],
        "none",
      ),
    );
  // -q silences the job's status lines on standard error while following it.
  return addOutputOptions(ray);
}

/** Polls closer than this would hammer the Ray dashboard (1e-9 rounded to a 0 ms loop). */
const MIN_INTERVAL_S = 0.01;
/** A day: Node fires a timer longer than 2^31 − 1 ms (24.8 days) at once, a 1 ms loop. */
const MAX_INTERVAL_S = 86_400;

function seconds(v: string): number {
  const n = numberArg(v);
  if (!Number.isFinite(n) || n < MIN_INTERVAL_S || n > MAX_INTERVAL_S)
    throw new KeelError(
      "KEEL_E_USAGE",
      `--interval must be a number of seconds from ${MIN_INTERVAL_S} to ${MAX_INTERVAL_S}, got ${JSON.stringify(v)}`,
    );
  return n;
}

export const launchCommand: CommandModule = {
  name: "launch",
  register(program: Command) {
    const launch = program
      .command("launch")
      .description(
        `run OpenRLHF ${OPENRLHF_VERSION} jobs on a Ray cluster through its job submission API`,
      );

    rayOptions(
      launch
        .command("openrlhf")
        .description("submit an OpenRLHF reward-model (rm) or PPO (ppo) job and follow it")
        .argument("<stage>", "rm or ppo", oneOf("<stage>", ["rm", "ppo"] as const))
        .argument("[extra...]", "further OpenRLHF arguments, after --")
        .requiredOption(
          "--pretrain <model>",
          "model to start from (Hugging Face name or cluster path)",
        )
        .requiredOption("--save-path <path>", "where OpenRLHF saves the result (cluster path)")
        .option(
          "--dataset <path>",
          "rm: the `keel export --format openrlhf` file, as the cluster sees it",
        )
        .option("--prompt-key <key>", "rm: its prompt key (default prompt)")
        .option("--chosen-key <key>", "rm: its chosen key (default chosen)")
        .option("--rejected-key <key>", "rm: its rejected key (default rejected)")
        .option("--prompt-data <path>", "ppo: prompts file or dataset")
        .option("--input-key <key>", "ppo: the prompts' key (default prompt)")
        .option(
          "--remote-rm-url <url>",
          "ppo: keel serve-rm's /get_reward URL as the cluster reaches it",
        )
        .option(
          "--gpus <n>",
          "GPUs per node (rm: for deepspeed; ppo: each of actor, critic, reference)",
          positiveInt("--gpus"),
        )
        .option(
          "--vllm-engines <n>",
          "ppo: vLLM engines for generation",
          positiveInt("--vllm-engines"),
        )
        .option(
          "--runtime-env-json <json>",
          "Ray runtime_env (working_dir must be a remote URI with the REST API)",
        )
        .option("--pip-install", `add openrlhf==${OPENRLHF_VERSION} to the runtime_env's pip list`)
        .option("--submission-id <id>", "choose the submission id (default keel-<time>-<random>)")
        .option("--no-wait", "submit and return the submission id")
        .option(
          "--stop-on-interrupt",
          "Ctrl-C while following stops the job (default: only stop following)",
        )
        .option("--dry-run", "print the submission request instead of sending it")
        .option("--interval <seconds>", "how often to poll status and logs", seconds, 2)
        .addHelpText(
          "after",
          "\nExamples:\n" +
            "  keel launch openrlhf rm --ray-address http://head:8265 --pretrain OpenRLHF/Llama-3-8b-sft-mixture \\\n" +
            "    --dataset /data/keel/prefs.jsonl --save-path /ckpt/rm --gpus 8 -- --max_len 2048 --bf16 --zero_stage 3\n" +
            "  keel launch openrlhf ppo --ray-address http://head:8265 --pretrain OpenRLHF/Llama-3-8b-sft-mixture \\\n" +
            "    --prompt-data /data/keel/prompts.jsonl --remote-rm-url http://10.0.0.5:5000/get_reward --save-path /ckpt/ppo",
        ),
    ).action(async (stage: "rm" | "ppo", extra: string[], o: LaunchFlags) => {
      const { runOpenrlhf } = await import("../actions/launch.js");
      await runOpenrlhf(stage, extra, o);
    });

    rayOptions(
      launch.command("status").description("a job's status").argument("<id>", "submission id"),
    ).action(async (id: string, o: RayFlags) => {
      const { runStatus } = await import("../actions/launch.js");
      await runStatus(id, o);
    });

    rayOptions(
      launch
        .command("logs")
        .description("a job's logs")
        .argument("<id>", "submission id")
        .option("--follow", "keep printing until the job ends")
        .option("--interval <seconds>", "--follow: poll interval", seconds, 2),
    ).action(async (id: string, o: LogsFlags) => {
      const { runLogs } = await import("../actions/launch.js");
      await runLogs(id, o);
    });

    rayOptions(
      launch.command("stop").description("stop a job").argument("<id>", "submission id"),
    ).action(async (id: string, o: RayFlags) => {
      const { runStop } = await import("../actions/launch.js");
      await runStop(id, o);
    });
  },
};
