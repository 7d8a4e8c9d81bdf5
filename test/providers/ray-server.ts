/**
 * A local HTTP server implementing the documented subset of Ray's job submission REST API, with
 * Ray's own answers, including its errors (plain-text 404 "Job <id> does not exist", 400 with a
 * Python traceback for a request it rejects, 500 on a failure): submit, details, logs, stop,
 * delete, version. A job advances one step per status poll: PENDING, then RUNNING with one log
 * line per poll, then SUCCEEDED (or FAILED when its entrypoint runs `exit 1`) after `steps`
 * lines. `failNext` makes the next requests to a route answer 503 (to exercise retries).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeJob {
  submission_id: string;
  entrypoint: string;
  runtime_env: Record<string, unknown>;
  metadata: Record<string, string>;
  status: "PENDING" | "RUNNING" | "STOPPED" | "SUCCEEDED" | "FAILED";
  message: string;
  logs: string;
  polls: number;
  start_time: number | null;
  end_time: number | null;
}

export interface RayServer {
  readonly url: string;
  readonly jobs: Map<string, FakeJob>;
  readonly requests: { method: string; path: string }[];
  failNext(route: "status" | "submit", n: number): void;
  close(): Promise<void>;
}

const traceback = (last: string) =>
  `Traceback (most recent call last):\n  File "/ray/dashboard/modules/job/job_head.py", line 287, in submit_job\n    resp = await job_agent_client.submit_job_internal(submit_request)\n${last}\n`;

export async function startRayServer(steps = 3): Promise<RayServer> {
  const jobs = new Map<string, FakeJob>();
  const requests: { method: string; path: string }[] = [];
  const failing = { status: 0, submit: 0 };
  const text = (res: ServerResponse, status: number, body: string) => {
    res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
    res.end(body);
  };
  const json = (res: ServerResponse, body: unknown) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const details = (j: FakeJob) => ({
    type: "SUBMISSION",
    job_id: `0${j.submission_id.length}000000`,
    submission_id: j.submission_id,
    driver_info: null,
    status: j.status,
    entrypoint: j.entrypoint,
    message: j.message,
    error_type: null,
    start_time: j.start_time,
    end_time: j.end_time,
    metadata: j.metadata,
    runtime_env: j.runtime_env,
    driver_agent_http_address: null,
    driver_node_id: null,
    driver_exit_code: j.status === "FAILED" ? 1 : j.status === "SUCCEEDED" ? 0 : null,
  });
  const advance = (j: FakeJob) => {
    if (j.status === "PENDING") {
      j.status = "RUNNING";
      j.start_time = Date.now();
      j.message = "Job is currently running.";
      return;
    }
    if (j.status !== "RUNNING") return;
    j.polls++;
    j.logs += `step ${j.polls}: ${j.entrypoint.split(" ")[0]}\n`;
    if (j.polls >= steps) {
      const fails = j.entrypoint.includes("exit 1");
      j.status = fails ? "FAILED" : "SUCCEEDED";
      j.message = fails
        ? "Job entrypoint command failed with exit code 1, last available logs (truncated to 20,000 chars): …"
        : "Job finished successfully.";
      j.end_time = Date.now();
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0]!;
    requests.push({ method: req.method ?? "", path });
    let raw = "";
    for await (const c of req) raw += c;
    if (path === "/api/version" && req.method === "GET")
      return json(res, {
        version: "4",
        ray_version: "2.40.0",
        ray_commit: "abc",
        session_name: "s",
      });
    if (path === "/api/jobs/" && req.method === "POST") {
      if (failing.submit > 0) {
        failing.submit--;
        return text(
          res,
          500,
          traceback("RuntimeError: Request failed with status code 503: agent unavailable."),
        );
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return text(
          res,
          400,
          traceback("json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)"),
        );
      }
      if (typeof body.entrypoint !== "string")
        return text(
          res,
          400,
          traceback(
            "TypeError: JobSubmitRequest.__init__() missing 1 required positional argument: 'entrypoint'",
          ),
        );
      const id =
        typeof body.submission_id === "string" ? body.submission_id : `raysubmit_${jobs.size + 1}`;
      if (jobs.has(id))
        return text(
          res,
          400,
          traceback(
            `ValueError: Job with submission_id ${id} already exists. Please use a different submission_id.`,
          ),
        );
      jobs.set(id, {
        submission_id: id,
        entrypoint: body.entrypoint,
        runtime_env: (body.runtime_env as Record<string, unknown>) ?? {},
        metadata: (body.metadata as Record<string, string>) ?? {},
        status: "PENDING",
        message: "Job has not started yet.",
        logs: "",
        polls: 0,
        start_time: null,
        end_time: null,
      });
      return json(res, { job_id: id, submission_id: id });
    }
    const m = /^\/api\/jobs\/([^/]+)(\/logs|\/stop)?$/.exec(path);
    if (!m) return text(res, 404, "404: Not Found");
    const id = decodeURIComponent(m[1]!);
    const j = jobs.get(id);
    if (!j) return text(res, 404, `Job ${id} does not exist`);
    if (m[2] === undefined && req.method === "GET") {
      if (failing.status > 0) {
        failing.status--;
        return text(res, 503, "Service Unavailable");
      }
      advance(j);
      return json(res, details(j));
    }
    if (m[2] === undefined && req.method === "DELETE") {
      if (j.status === "PENDING" || j.status === "RUNNING")
        return text(
          res,
          400,
          traceback(
            `RuntimeError: Attempted to delete job with submission_id ${id}, but it is in a non-terminal state.`,
          ),
        );
      jobs.delete(id);
      return json(res, { deleted: true });
    }
    if (m[2] === "/logs" && req.method === "GET") return json(res, { logs: j.logs });
    if (m[2] === "/stop" && req.method === "POST") {
      const running = j.status === "PENDING" || j.status === "RUNNING";
      if (running) {
        j.status = "STOPPED";
        j.message = "Job was intentionally stopped.";
        j.end_time = Date.now();
      }
      return json(res, { stopped: running });
    }
    return text(res, 405, "405: Method Not Allowed");
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e) => text(res, 500, String(e)));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    jobs,
    requests,
    failNext(route, n) {
      failing[route] = n;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
