/** `keel launch`'s actions: build OpenRLHF jobs and talk to Ray's job submission API. */
import { KeelError } from "../../core/errors.js";
import {
  type JobDetails,
  type JobSubmitRequest,
  ppoJob,
  RayJobClient,
  rmJob,
} from "../../providers/ray/index.js";
import type { LaunchFlags, LogsFlags, RayFlags } from "../commands/launch.js";
import { printJson, printLine, warn } from "../output.js";

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

export async function runOpenrlhf(
  stage: "rm" | "ppo",
  extra: string[],
  o: LaunchFlags,
): Promise<void> {
  const job = buildJob(stage, o, extra);
  if (o.dryRun) return printJson(job);
  const ray = client(o);
  const { submissionId } = await ray.submit(job);
  if (o.json && !o.wait) printJson({ submission_id: submissionId });
  else warn(`submitted ray job ${submissionId}`);
  if (!o.json) printLine(submissionId);
  if (o.wait) await follow(ray, submissionId, o);
}

export async function runStatus(id: string, o: RayFlags): Promise<void> {
  const d = await client(o).status(id);
  if (o.json) printJson(d);
  else printLine(`${id} ${d.status}${d.message ? ` — ${d.message}` : ""}`);
}

export async function runLogs(id: string, o: LogsFlags): Promise<void> {
  const ray = client(o);
  if (o.follow) await follow(ray, id, { interval: o.interval });
  else process.stdout.write(await ray.logs(id));
}

export async function runStop(id: string, o: RayFlags): Promise<void> {
  const stopped = await client(o).stop(id);
  if (o.json) printJson({ submission_id: id, stopped });
  else printLine(stopped ? `stop requested for ${id}` : `${id} was not running`);
}
