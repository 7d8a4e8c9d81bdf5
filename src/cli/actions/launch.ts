/** `keel launch`'s actions: build OpenRLHF jobs and talk to Ray's job submission API. */
import { KeelError } from "../../core/errors.js";
import { infiniteNumberAt } from "../../core/json-numbers.js";
import { printable } from "../../core/printable.js";
import {
  type JobDetails,
  type JobSubmitRequest,
  ppoJob,
  RayJobClient,
  rmJob,
} from "../../providers/ray/index.js";
import type { LaunchFlags, LogsFlags, RayFlags } from "../commands/launch.js";
import { printJson, printLine, warn } from "../output.js";

/**
 * An HTTP header name (RFC 9110 token), and a value fetch accepts: one byte a character, no line
 * break or NUL.
 */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[^\r\n\0\u0100-\uffff]*$/;

/** Ray's status and message as one line for the terminal (the message is Ray's text). */
const statusLine = (d: { status: string; message?: string | null }) =>
  printable(`${d.status}${d.message ? ` — ${d.message}` : ""}`);

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
    const name = h.slice(0, Math.max(i, 0)).trim();
    const value = h.slice(i + 1).trim();
    // Checked here: fetch would refuse it on every request, retried and reported as Ray's fault.
    // The value is not quoted back: it is often a token.
    if (i <= 0 || !HEADER_NAME.test(name) || !HEADER_VALUE.test(value))
      throw new KeelError(
        "KEEL_E_USAGE",
        `--header must be "Name: value" (a name of letters, digits and !#$%&'*+-.^_\`|~; a value on one line), got ${
          i <= 0 ? "no name before a colon" : `one named ${JSON.stringify(name)}`
        }`,
      );
    headers[name] = value;
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
    const infinite = infiniteNumberAt(runtimeEnv);
    if (infinite !== undefined)
      throw new KeelError(
        "KEEL_E_USAGE",
        `--runtime-env-json: ${infinite} is a number past the largest double (read as Infinity, sent as null)`,
        { hint: "write a number JSON can hold, or a string" },
      );
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

/**
 * Follows a job to its end (its logs on stdout unless `json`; each status change on stderr
 * unless `quiet`) and returns its details.
 */
async function follow(
  ray: RayJobClient,
  id: string,
  o: { interval: number; json?: boolean; quiet?: boolean; stopOnInterrupt?: boolean },
): Promise<JobDetails> {
  const ac = new AbortController();
  const onInt = () => ac.abort("interrupted");
  process.once("SIGINT", onInt);
  try {
    return await ray.follow(id, {
      intervalMs: Math.round(o.interval * 1000),
      signal: ac.signal,
      ...(o.quiet ? {} : { onStatus: (s: JobDetails) => warn(`ray job ${id}: ${statusLine(s)}`) }),
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
}

/** A job that ended in anything but SUCCEEDED is an error (after its output was printed). */
function requireSuccess(id: string, d: JobDetails): void {
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
  else if (!o.quiet) warn(`submitted ray job ${submissionId}`);
  if (!o.json) printLine(submissionId);
  if (!o.wait) return;
  const d = await follow(ray, submissionId, o);
  if (o.json) printJson(d);
  requireSuccess(submissionId, d);
}

export async function runStatus(id: string, o: RayFlags): Promise<void> {
  const d = await client(o).status(id);
  if (o.json) printJson(d);
  else printLine(`${printable(id)} ${statusLine(d)}`);
}

export async function runLogs(id: string, o: LogsFlags): Promise<void> {
  const ray = client(o);
  if (!o.json) {
    if (o.follow) requireSuccess(id, await follow(ray, id, o));
    else process.stdout.write(await ray.logs(id));
    return;
  }
  // One JSON object; with --follow, once the job has ended, with the status it ended in.
  const d = o.follow ? await follow(ray, id, o) : undefined;
  printJson({ submission_id: id, ...(d ? { status: d.status } : {}), logs: await ray.logs(id) });
  if (d) requireSuccess(id, d);
}

export async function runStop(id: string, o: RayFlags): Promise<void> {
  const stopped = await client(o).stop(id);
  if (o.json) printJson({ submission_id: id, stopped });
  else printLine(stopped ? `stop requested for ${id}` : `${id} was not running`);
}
