/**
 * A client of Ray's job submission REST API (Ray docs, "Ray Jobs REST API"; served by the
 * dashboard of the cluster's head node, port 8265 by default):
 *
 *   POST   /api/jobs/                 {entrypoint, submission_id?, runtime_env?, metadata?,
 *                                     entrypoint_num_cpus?, entrypoint_num_gpus?, …}
 *                                     → {job_id, submission_id}
 *   GET    /api/jobs/<id>             → JobDetails {status, message, start_time, end_time, …}
 *   GET    /api/jobs/<id>/logs        → {logs}
 *   POST   /api/jobs/<id>/stop        → {stopped}
 *   DELETE /api/jobs/<id>             → {deleted}
 *   GET    /api/version               → {version, ray_version, ray_commit}
 *
 * Ray answers errors with plain text: 404 "Job <id> does not exist", 400 with a Python traceback
 * for a request it cannot accept, 500 with a traceback when it fails. They become KeelErrors
 * (KEEL_E_NOT_FOUND for 404; KEEL_E_UPSTREAM quoting the traceback's last line otherwise).
 * Reads are retried with backoff; submit and stop are not (a submit is made idempotent by the
 * client-chosen submission id instead). Logs are followed by polling /logs (the live tail is a
 * WebSocket, which this client does not use).
 */
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { KeelError } from "../../core/errors.js";
import { zodIssueMessage } from "../../core/issue-messages.js";
import { redactUrl } from "../../core/redact.js";
import { aborted, Limiter } from "../http/limiter.js";
import {
  type AnswerCap,
  type HttpClientOptions,
  hasNoCredentials,
  readJsonCapped,
  send,
  URL_CREDENTIALS_RULE,
} from "../http/request.js";
import { Backoff, sleep } from "../http/retry.js";

/** The largest job log `logs` reads (Ray sends the whole log as one JSON string). */
export const MAX_LOG_BYTES = 128 << 20;

export const JOB_STATUSES = ["PENDING", "RUNNING", "STOPPED", "SUCCEEDED", "FAILED"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL: ReadonlySet<JobStatus> = new Set(["STOPPED", "SUCCEEDED", "FAILED"]);

export interface JobSubmitRequest {
  readonly entrypoint: string;
  readonly submission_id?: string;
  readonly runtime_env?: Record<string, unknown>;
  readonly metadata?: Record<string, string>;
  readonly entrypoint_num_cpus?: number;
  readonly entrypoint_num_gpus?: number;
  readonly entrypoint_memory?: number;
  readonly entrypoint_resources?: Record<string, number>;
}

const SubmitOut = z.object({ submission_id: z.string(), job_id: z.string().nullish() });
export const JobDetailsSchema = z.object({
  submission_id: z.string().nullish(),
  job_id: z.string().nullish(),
  status: z.enum(JOB_STATUSES),
  entrypoint: z.string().nullish(),
  message: z.string().nullish(),
  error_type: z.string().nullish(),
  start_time: z.number().nullish(),
  end_time: z.number().nullish(),
  driver_exit_code: z.number().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
});
export type JobDetails = z.infer<typeof JobDetailsSchema>;

export interface RayClientOptions {
  /** The dashboard address: http://head:8265 */
  readonly address: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  readonly retries?: number;
  readonly seed?: number;
  /** The largest log `logs` reads (default `MAX_LOG_BYTES`). */
  readonly maxLogBytes?: number;
}

export class RayJobClient {
  readonly address: string;
  private readonly maxLogBytes: number;
  private readonly reads: HttpClientOptions;
  private readonly writes: HttpClientOptions;

  constructor(o: RayClientOptions) {
    if (!/^https?:\/\/[^/]+/.test(o.address))
      throw new KeelError(
        "KEEL_E_USAGE",
        `--ray-address must be an http(s) URL, got ${JSON.stringify(redactUrl(o.address))}`,
        {
          hint: "the Ray dashboard's address, e.g. http://head-node:8265",
        },
      );
    if (!hasNoCredentials(o.address))
      throw new KeelError("KEEL_E_USAGE", `--ray-address ${URL_CREDENTIALS_RULE}`, {
        hint: "give an authorization header with --header instead",
      });
    this.address = o.address.replace(/\/+$/, "");
    this.maxLogBytes = o.maxLogBytes ?? MAX_LOG_BYTES;
    const limiter = new Limiter(4);
    const base = {
      name: `ray ${this.address}`,
      timeoutMs: o.timeoutMs ?? 30_000,
      limiter,
      ...(o.headers ? { headers: o.headers } : {}),
    };
    this.reads = {
      ...base,
      backoff: new Backoff({
        retries: o.retries ?? 3,
        baseDelayMs: 500,
        maxDelayMs: 10_000,
        seed: o.seed ?? 0,
      }),
    };
    this.writes = { ...base, backoff: new Backoff({ retries: 0, baseDelayMs: 0, maxDelayMs: 0 }) };
  }

  private async call<T>(
    method: string,
    path: string,
    schema: z.ZodType<T>,
    body?: unknown,
    signal?: AbortSignal,
    cap?: AnswerCap,
  ): Promise<T> {
    let res: Response;
    try {
      res = await send(
        method === "GET" ? this.reads : this.writes,
        method,
        this.address + path,
        body,
        signal,
      );
    } catch (e) {
      throw rayError(e);
    }
    let json: unknown;
    try {
      json = await readJsonCapped(res, this.reads.name, cap);
    } catch (e) {
      throw signal?.aborted ? aborted(signal) : rayError(e);
    }
    const p = schema.safeParse(json);
    if (!p.success) {
      const { field, message } = zodIssueMessage(p.error);
      throw new KeelError(
        "KEEL_E_UPSTREAM",
        `ray: unexpected answer to ${method} ${path}: ${field}: ${message}`,
        {
          hint: "is --ray-address the Ray dashboard (port 8265)?",
        },
      );
    }
    return p.data;
  }

  version(): Promise<{ version: string; ray_version?: string | null | undefined }> {
    return this.call(
      "GET",
      "/api/version",
      z.object({ version: z.string(), ray_version: z.string().nullish() }),
    );
  }

  /** Submits a job; its submission id is chosen here (keel-<time>-<random>) unless given. */
  async submit(req: JobSubmitRequest): Promise<{ submissionId: string; jobId: string | null }> {
    const body = {
      ...req,
      submission_id:
        req.submission_id ?? `keel-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`,
    };
    const r = await this.call("POST", "/api/jobs/", SubmitOut, body);
    return { submissionId: r.submission_id, jobId: r.job_id ?? null };
  }

  status(id: string, signal?: AbortSignal): Promise<JobDetails> {
    return this.call(
      "GET",
      `/api/jobs/${encodeURIComponent(id)}`,
      JobDetailsSchema,
      undefined,
      signal,
    );
  }

  /**
   * The job's whole log (Ray's API has no offset: each call returns all of it), up to
   * `MAX_LOG_BYTES` — a long training run's log passes the 32 MiB cap of other answers.
   */
  async logs(id: string, signal?: AbortSignal): Promise<string> {
    const cap: AnswerCap = {
      bytes: this.maxLogBytes,
      tooLarge: () =>
        new KeelError(
          "KEEL_E_TOO_LARGE",
          `ray: the logs of job ${id} are over ${this.maxLogBytes >> 20} MiB, more than keel reads through the jobs API`,
          {
            hint: `the job goes on; read its logs on the Ray dashboard or with \`ray job logs ${id} --follow\``,
          },
        ),
    };
    return (
      await this.call(
        "GET",
        `/api/jobs/${encodeURIComponent(id)}/logs`,
        z.object({ logs: z.string() }),
        undefined,
        signal,
        cap,
      )
    ).logs;
  }

  async stop(id: string): Promise<boolean> {
    return (
      await this.call(
        "POST",
        `/api/jobs/${encodeURIComponent(id)}/stop`,
        z.object({ stopped: z.boolean() }),
      )
    ).stopped;
  }

  async delete(id: string): Promise<boolean> {
    return (
      await this.call(
        "DELETE",
        `/api/jobs/${encodeURIComponent(id)}`,
        z.object({ deleted: z.boolean() }),
      )
    ).deleted;
  }

  /**
   * Polls the job until it ends, handing each new piece of its logs to `onLogs` and each status
   * change to `onStatus`; returns the final details. Aborting `signal` stops following (the
   * job goes on).
   */
  async follow(
    id: string,
    o: {
      readonly intervalMs?: number;
      readonly onLogs?: (text: string) => void;
      readonly onStatus?: (d: JobDetails) => void;
      readonly signal?: AbortSignal;
    } = {},
  ): Promise<JobDetails> {
    let seen = "";
    let last: JobStatus | undefined;
    for (;;) {
      const d = await this.status(id, o.signal);
      if (d.status !== last) {
        last = d.status;
        o.onStatus?.(d);
      }
      if (o.onLogs && d.status !== "PENDING") {
        const logs = await this.logs(id, o.signal);
        // Logs only grow; if they do not start with what was shown, they were rotated: show all.
        const fresh = logs.startsWith(seen) ? logs.slice(seen.length) : logs;
        if (fresh) o.onLogs(fresh);
        seen = logs;
      }
      if (TERMINAL.has(d.status)) return d;
      // The wait rejects with the signal's own reason (a DOMException), not a catalogue error.
      await sleep(o.intervalMs ?? 2000, o.signal).catch(() => {
        throw aborted(o.signal!);
      });
    }
  }
}

/** Ray's plain-text errors as KeelErrors: 404 → not found; a traceback → its last line. */
function rayError(e: unknown): KeelError {
  if (!(e instanceof KeelError)) return new KeelError("KEEL_E_UPSTREAM", String(e));
  const m = /answered HTTP (\d{3}): ([\s\S]*)$/.exec(e.message);
  if (!m) return e;
  const status = Number(m[1]);
  const text = m[2]!.replace(/\(gave up after \d+ attempts?\)$/, "").trim();
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const gist = lines.at(-1) ?? text;
  if (status === 404)
    return new KeelError("KEEL_E_NOT_FOUND", `ray: ${gist}`, {
      hint: "check the submission id (keel launch list)",
    });
  return new KeelError("KEEL_E_UPSTREAM", `ray answered HTTP ${status}: ${gist}`, { cause: e });
}
