/**
 * `keel launch`: hand training to OpenRLHF on a Ray cluster through Ray's job submission REST
 * API — submit, follow status and logs, stop (src/providers/ray).
 *
 *   keel launch openrlhf rm  --ray-address URL --pretrain M --dataset D --save-path P [-- extra]
 *   keel launch openrlhf ppo --ray-address URL --pretrain M --prompt-data D
 *                            --remote-rm-url http://keel-rm:5000/get_reward --save-path P [-- extra]
 *   keel launch status|logs|stop <submission-id> --ray-address URL
 */
import type { Command } from "commander";
import { KeelError } from "../../core/errors.js";
import {
  type JobDetails,
  type JobSubmitRequest,
  OPENRLHF_VERSION,
  ppoJob,
  RayJobClient,
  rmJob,
} from "../../providers/ray/index.js";
import { oneOf, positiveInt } from "../common.js";
import { printJson, printLine, warn } from "../output.js";
import type { CommandModule } from "../registry.js";

interface RayFlags {
  rayAddress?: string;
  header: string[];
  json?: boolean;
}

interface LaunchFlags extends RayFlags {
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

function client(o: RayFlags): RayJobClient {
  const address = o.rayAddress ?? process.env.KEEL_RAY_ADDRESS;
  if (!address)
    throw new KeelError(
      "KEEL_E_USAGE",
      "give --ray-address http://<head>:8265 (or set KEEL_RAY_ADDRESS)",
    );
  const headers: Record<string, string> = {};
  for (const h of o.header) {
    const i = h.indexOf(":");
    if (i <= 0)
      throw new KeelError(
        "KEEL_E_USAGE",
        `--header must be "Name: value", got ${JSON.stringify(h)}`,
      );
    headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
  }
  return new RayJobClient({ address, headers });
}

function rayOptions(cmd: Command): Command {
  return cmd
    .option(
      "--ray-address <url>",
      "Ray dashboard address, e.g. http://head:8265 (env KEEL_RAY_ADDRESS)",
    )
    .option(
      "--header <name:value>",
      "extra HTTP header for the dashboard (repeatable; e.g. behind an authenticating proxy)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option("--json", "print machine-readable JSON on stdout");
}

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new KeelError(
      "KEEL_E_USAGE",
      `--interval must be a number of seconds > 0, got ${JSON.stringify(v)}`,
    );
  return n;
}

function need(v: string | undefined, flag: string, stage: string): string {
  if (!v) throw new KeelError("KEEL_E_USAGE", `keel launch openrlhf ${stage} needs ${flag}`);
  return v;
}

function buildJob(stage: "rm" | "ppo", o: LaunchFlags, extra: string[]): JobSubmitRequest {
  let runtimeEnv: Record<string, unknown> | undefined;
  if (o.runtimeEnvJson) {
    try {
      runtimeEnv = JSON.parse(o.runtimeEnvJson) as Record<string, unknown>;
    } catch (e) {
      throw new KeelError(
        "KEEL_E_USAGE",
        `--runtime-env-json is not JSON: ${(e as Error).message}`,
      );
    }
    if (typeof runtimeEnv !== "object" || runtimeEnv === null || Array.isArray(runtimeEnv))
      throw new KeelError("KEEL_E_USAGE", "--runtime-env-json must be a JSON object");
  }
  const common = {
    pretrain: o.pretrain,
    savePath: o.savePath,
    extra,
    ...(runtimeEnv ? { runtimeEnv } : {}),
    pipInstall: o.pipInstall ?? false,
  };
  const job =
    stage === "rm"
      ? rmJob({
          ...common,
          dataset: need(o.dataset, "--dataset", stage),
          keys: {
            ...(o.promptKey ? { prompt: o.promptKey } : {}),
            ...(o.chosenKey ? { chosen: o.chosenKey } : {}),
            ...(o.rejectedKey ? { rejected: o.rejectedKey } : {}),
          },
          ...(o.gpus ? { gpus: o.gpus } : {}),
        })
      : ppoJob({
          ...common,
          promptData: need(o.promptData, "--prompt-data", stage),
          remoteRmUrl: need(o.remoteRmUrl, "--remote-rm-url", stage),
          ...(o.inputKey ? { inputKey: o.inputKey } : {}),
          ...(o.gpus ? { gpus: o.gpus } : {}),
          ...(o.vllmEngines !== undefined ? { vllmEngines: o.vllmEngines } : {}),
        });
  return o.submissionId ? { ...job, submission_id: o.submissionId } : job;
}

/** Follows a job to its end; SUCCEEDED returns, anything else is an error. */
async function follow(
  ray: RayJobClient,
  id: string,
  o: { interval: number; json?: boolean; stopOnInterrupt?: boolean },
) {
  const ac = new AbortController();
  const onInt = () => ac.abort("interrupted");
  process.once("SIGINT", onInt);
  let d: JobDetails;
  try {
    d = await ray.follow(id, {
      intervalMs: Math.round(o.interval * 1000),
      signal: ac.signal,
      onStatus: (s) => warn(`ray job ${id}: ${s.status}${s.message ? ` — ${s.message}` : ""}`),
      ...(o.json ? {} : { onLogs: (t: string) => process.stdout.write(t) }),
    });
  } catch (e) {
    if (!ac.signal.aborted) throw e;
    if (o.stopOnInterrupt) {
      const stopped = await ray.stop(id);
      warn(`ray job ${id}: ${stopped ? "stop requested" : "was not running"}`);
    } else warn(`stopped following ray job ${id}; it goes on (keel launch stop ${id} ends it)`);
    throw new KeelError("KEEL_E_INTERRUPTED", `stopped following ray job ${id}`);
  } finally {
    process.off("SIGINT", onInt);
  }
  if (o.json) printJson(d);
  if (d.status !== "SUCCEEDED")
    throw new KeelError(
      "KEEL_E_UPSTREAM",
      `ray job ${id} ${d.status}${d.message ? `: ${d.message}` : ""}`,
      {
        hint: `keel launch logs ${id} shows its output`,
      },
    );
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
      const job = buildJob(stage, o, extra);
      if (o.dryRun) return printJson(job);
      const ray = client(o);
      const { submissionId } = await ray.submit(job);
      if (o.json && !o.wait) printJson({ submission_id: submissionId });
      else warn(`submitted ray job ${submissionId}`);
      if (!o.json) printLine(submissionId);
      if (o.wait) await follow(ray, submissionId, o);
    });

    rayOptions(
      launch.command("status").description("a job's status").argument("<id>", "submission id"),
    ).action(async (id: string, o: RayFlags) => {
      const d = await client(o).status(id);
      if (o.json) printJson(d);
      else printLine(`${id} ${d.status}${d.message ? ` — ${d.message}` : ""}`);
    });

    rayOptions(
      launch
        .command("logs")
        .description("a job's logs")
        .argument("<id>", "submission id")
        .option("--follow", "keep printing until the job ends")
        .option("--interval <seconds>", "--follow: poll interval", seconds, 2),
    ).action(async (id: string, o: RayFlags & { follow?: boolean; interval: number }) => {
      const ray = client(o);
      if (o.follow) await follow(ray, id, { interval: o.interval });
      else process.stdout.write(await ray.logs(id));
    });

    rayOptions(
      launch.command("stop").description("stop a job").argument("<id>", "submission id"),
    ).action(async (id: string, o: RayFlags) => {
      const stopped = await client(o).stop(id);
      if (o.json) printJson({ submission_id: id, stopped });
      else printLine(stopped ? `stop requested for ${id}` : `${id} was not running`);
    });
  },
};
