/**
 * The OpenRLHF jobs keel hands to a Ray cluster, for the pinned OpenRLHF version below. Each is
 * an entrypoint command (run by Ray's job supervisor through a shell, so every argument is
 * quoted here) plus the runtime_env it needs:
 *
 *   rm    deepspeed --module openrlhf.cli.train_rm   (Bradley–Terry reward model on a
 *         `keel export --format openrlhf` file: --prompt_key/--chosen_key/--rejected_key)
 *   ppo   python3 -m openrlhf.cli.train_ppo_ray      (PPO whose reward comes from
 *         `keel serve-rm` through --remote_rm_url)
 *
 * Only the flags keel must get right are generated; anything else is passed through verbatim
 * after `--` (see docs/scale.md for the full walk-through).
 */
import { KeelError } from "../../core/errors.js";
import type { JobSubmitRequest } from "./client.js";

/** The OpenRLHF release the commands and docs are written against. */
export const OPENRLHF_VERSION = "0.8.5";

/** POSIX shell quoting: safe words stay bare, everything else in single quotes. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'"'"'`)}'`;
}

export interface CommonJobOptions {
  /** Model to start from (Hugging Face name or a path on the cluster). */
  readonly pretrain: string;
  /** Where OpenRLHF saves the result (a path on the cluster). */
  readonly savePath: string;
  /** Extra OpenRLHF arguments, passed through verbatim. */
  readonly extra?: readonly string[];
  readonly runtimeEnv?: Record<string, unknown>;
  readonly metadata?: Record<string, string>;
  /** Install OpenRLHF into the job's environment with pip (default: it is already installed). */
  readonly pipInstall?: boolean;
}

export interface RmJobOptions extends CommonJobOptions {
  /** The exported preference file (a path or dataset name the cluster can read). */
  readonly dataset: string;
  readonly keys?: {
    readonly prompt?: string;
    readonly chosen?: string;
    readonly rejected?: string;
  };
  readonly gpus?: number;
}

export interface PpoJobOptions extends CommonJobOptions {
  readonly promptData: string;
  readonly inputKey?: string;
  /** keel serve-rm's /get_reward URL, as the cluster reaches it. */
  readonly remoteRmUrl: string;
  /** GPUs per node for each of actor, critic and reference. */
  readonly gpus?: number;
  readonly vllmEngines?: number;
}

function runtimeEnv(o: CommonJobOptions): Record<string, unknown> {
  const env: Record<string, unknown> = { ...o.runtimeEnv };
  if (o.pipInstall) {
    const pip = Array.isArray(env.pip) ? [...(env.pip as unknown[])] : [];
    pip.push(`openrlhf==${OPENRLHF_VERSION}`);
    env.pip = pip;
  }
  return env;
}

function job(args: readonly string[], o: CommonJobOptions, kind: string): JobSubmitRequest {
  if (o.extra?.some((a) => a.includes("\n")))
    throw new KeelError("KEEL_E_USAGE", "OpenRLHF arguments cannot contain line breaks");
  return {
    entrypoint: [...args, ...(o.extra ?? [])].map(shellQuote).join(" "),
    runtime_env: runtimeEnv(o),
    metadata: { submitted_by: "keel", keel_job: kind, openrlhf: OPENRLHF_VERSION, ...o.metadata },
  };
}

export function rmJob(o: RmJobOptions): JobSubmitRequest {
  const k = { prompt: "prompt", chosen: "chosen", rejected: "rejected", ...o.keys };
  return job(
    [
      "deepspeed",
      ...(o.gpus ? ["--num_gpus", String(o.gpus)] : []),
      "--module",
      "openrlhf.cli.train_rm",
      "--pretrain",
      o.pretrain,
      "--dataset",
      o.dataset,
      "--prompt_key",
      k.prompt,
      "--chosen_key",
      k.chosen,
      "--rejected_key",
      k.rejected,
      "--save_path",
      o.savePath,
    ],
    o,
    "openrlhf-rm",
  );
}

export function ppoJob(o: PpoJobOptions): JobSubmitRequest {
  const g = String(o.gpus ?? 1);
  return job(
    [
      "python3",
      "-m",
      "openrlhf.cli.train_ppo_ray",
      "--ref_num_nodes",
      "1",
      "--ref_num_gpus_per_node",
      g,
      "--critic_num_nodes",
      "1",
      "--critic_num_gpus_per_node",
      g,
      "--actor_num_nodes",
      "1",
      "--actor_num_gpus_per_node",
      g,
      "--vllm_num_engines",
      String(o.vllmEngines ?? 1),
      "--vllm_tensor_parallel_size",
      "1",
      "--pretrain",
      o.pretrain,
      "--remote_rm_url",
      o.remoteRmUrl,
      "--prompt_data",
      o.promptData,
      "--input_key",
      o.inputKey ?? "prompt",
      "--save_path",
      o.savePath,
    ],
    o,
    "openrlhf-ppo",
  );
}
