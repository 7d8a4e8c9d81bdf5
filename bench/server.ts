/**
 * bench:server — acknowledged durable judgments per second, and latency, of `keel serve`.
 *
 * The server runs in its own process (the real `keel serve` command); the load comes from this
 * process (a keep-alive HTTP client loop per rater, latency measured from the due time), over loopback. Each connection is one rater with an API token doing the
 * real task flow: reserve a task, then submit the judgment asking for the next task in the same
 * answer; a judgment counts once the server has answered 200, which it does only after the
 * judgment's transaction has committed (SQLite WAL with synchronous=FULL, PostgreSQL with
 * synchronous_commit on). Side by side, the same server answers a route that writes nothing
 * (re-reserving the task the rater already holds: same auth, parsing, queue and serialisation):
 * the ceiling. A third run offers a fixed 2,000 judgments/s and reports the latency there.
 * Afterwards the ledger must hold exactly the acknowledged judgments and verify.
 *
 *   npm run bench:server               # 15 s per run, SQLite and PostgreSQL
 *   npm run bench:server -- --quick    # 4 s per run
 *   options: --duration S, --connections N, --no-pg, --rate R (fixed-rate run, default 2000)
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { main } from "../src/cli/main.js";
import { contentDigest, storedText } from "../src/core/digest.js";
import {
  collectionDb,
  createApiToken,
  createProject,
  createUser,
} from "../src/store/collection/index.js";
import { openStore } from "../src/store/store.js";
import { benchArgs, resultFile } from "./args.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const PG_ADMIN = process.env.KEEL_BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const args = process.argv.slice(2);
/** The server child (`--serve ...`) passes its arguments on to `keel serve`. */
const SERVE = args[0] === "--serve";
const cli = benchArgs("server", SERVE ? [] : args, {
  flags: ["--no-pg"],
  options: ["--duration", "--connections", "--rate"],
});

interface Seeded {
  tokens: string[];
}

/** A project of `n` comparisons (10% gold), `raters` raters with API tokens, guidelines read. */
async function seed(target: string, n: number, raters: number): Promise<Seeded> {
  const store = await openStore(target, { create: true });
  const db = collectionDb(store);
  const now = new Date();
  await createProject(
    db,
    {
      project_id: "bench",
      name: "bench",
      overlap: 3,
      gold_rate: 0.1,
      lease_seconds: 600,
      pause_gold_accuracy: 0,
    },
    now,
  );
  for (let i = 0; i < n; i += 1000) {
    const texts: ReturnType<typeof storedText>[] = [];
    const comps = [];
    const items = [];
    for (let k = i; k < Math.min(n, i + 1000); k++) {
      const p = `Prompt ${k}: which answer is more helpful, and why? ${"context ".repeat(20)}`;
      const a = `Answer A to ${k}. ${"detail ".repeat(40)}`;
      const b = `Answer B to ${k}. ${"other detail ".repeat(30)}`;
      const d = [p, a, b].map((x) => contentDigest(x));
      texts.push(storedText(p, d[0]), storedText(a, d[1]), storedText(b, d[2]));
      comps.push({
        comparison_id: `c${k}`,
        prompt_digest: d[0]!,
        a_digest: d[1]!,
        b_digest: d[2]!,
        gold: k % 10 === 0 ? ("a" as const) : null,
      });
      items.push({
        project_id: "bench",
        comparison_id: `c${k}`,
        kind: "task" as const,
        batch: `b${Math.floor(k / 1000)}`,
        position: k + 1,
      });
    }
    await db
      .insertInto("texts")
      .values(texts)
      .onConflict((oc) => oc.column("digest").doNothing())
      .execute();
    await db.insertInto("comparisons").values(comps).execute();
    await db.insertInto("project_items").values(items).execute();
  }
  const tokens: string[] = [];
  for (let r = 0; r < raters; r++) {
    const u = await createUser(db, { login: `rater${r}`, role: "rater" }, now);
    tokens.push((await createApiToken(db, u.user_id, "bench", now)).token);
    await db
      .insertInto("project_members")
      .values({
        project_id: "bench",
        user_id: u.user_id,
        status: "active",
        status_reason: null,
        status_at: now.toISOString(),
        guidelines_ack_at: now.toISOString(),
        quiz_passed_at: null,
        quiz_attempts: 0,
        added_at: now.toISOString(),
      })
      .execute();
  }
  await store.close();
  return { tokens };
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function startServer(
  target: string,
): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.KEEL_BENCH_PROF
        ? ["--cpu-prof", `--cpu-prof-dir=${process.env.KEEL_BENCH_PROF}`]
        : []),
      ...(process.env.KEEL_BENCH_PRELOAD ? ["--import", process.env.KEEL_BENCH_PRELOAD] : []),
      "--import",
      "tsx",
      join(ROOT, "bench/server.ts"),
      "--serve",
      "--db",
      target,
      "--port",
      "0",
      "--no-web",
      "--log-level",
      process.env.KEEL_BENCH_LOG ?? "warn",
      "--rate-ip",
      "0",
      "--rate-user",
      "0",
      // The bench's raters are bots answering in a fixed cycle: the audit would rightly pause them.
      "--audit-interval",
      "0",
    ],
    { stdio: ["ignore", "pipe", "inherit"], cwd: ROOT },
  );
  if (process.env.KEEL_BENCH_LOG) child.stdout!.on("data", (c: Buffer) => process.stderr.write(c));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = / on (http:\/\/[^\s]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on("exit", (code) =>
      reject(new Error(`keel serve exited (${code}) before listening:\n${out}`)),
    );
  });
  return {
    url,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        child.removeAllListeners("exit");
        child.on("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

interface Load {
  /** Server CPU (user + system) per answered request, µs. */
  serverCpuUs?: number;
  /** Load generator CPU per answered request, µs. */
  clientCpuUs?: number;
  judgments: number;
  perSecond: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

/**
 * A minimal HTTP/1.1 keep-alive client over one socket: requests are written as prebuilt
 * strings and answers read by Content-Length. Node's http.request costs ~0.5 ms of CPU per
 * request, which at 2,000 requests/s is half of this 2-core machine — the load generator would
 * then be measuring its own contention with the server rather than the server.
 */
class RawConnection {
  private readonly socket: net.Socket;
  private buf: Buffer = Buffer.alloc(0);
  private waiting:
    | { resolve: (r: { status: number; body: string }) => void; reject: (e: Error) => void }
    | undefined;
  private readonly ready: Promise<void>;

  constructor(url: URL) {
    this.socket = net.connect({ host: url.hostname, port: Number(url.port) });
    this.socket.setNoDelay(true);
    this.ready = new Promise((resolve, reject) => {
      this.socket.once("connect", () => resolve());
      this.socket.once("error", reject);
    });
    this.socket.on("data", (c: Buffer) => {
      this.buf = this.buf.length === 0 ? c : Buffer.concat([this.buf, c]);
      this.parse();
    });
    this.socket.on("error", (e) => this.waiting?.reject(e));
    this.socket.on("close", () => this.waiting?.reject(new Error("connection closed")));
  }

  private parse(): void {
    const head = this.buf.indexOf("\r\n\r\n");
    if (head < 0 || !this.waiting) return;
    const text = this.buf.toString("latin1", 0, head);
    const m = /\r\ncontent-length: *(\d+)/i.exec(text);
    if (!m) {
      this.waiting.reject(new Error(`answer without content-length: ${text.slice(0, 200)}`));
      return;
    }
    const end = head + 4 + Number(m[1]);
    if (this.buf.length < end) return;
    const status = Number(text.slice(9, 12));
    const body = this.buf.toString("utf8", head + 4, end);
    this.buf = this.buf.subarray(end);
    const w = this.waiting;
    this.waiting = undefined;
    w.resolve({ status, body });
  }

  async post(path: string, token: string, body: string): Promise<{ status: number; body: string }> {
    await this.ready;
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(
        `POST ${path} HTTP/1.1\r\nhost: bench\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/**
 * One load run: every rater is a keep-alive connection looping over the task flow. Closed loop
 * (each rater sends its next request when the last is answered) unless `rate` is given: then
 * requests are due at fixed times k/rate, taken by whichever rater is free, and latency is
 * measured from the due time (so a slow server cannot hide its queueing: no coordinated omission).
 * `mode` "judge" submits judgments; "hold" re-reserves the task the rater holds (writes nothing).
 */
async function load(
  base: string,
  tokens: string[],
  mode: "judge" | "hold",
  duration: number,
  rate?: number,
  serverPid?: number,
): Promise<Load> {
  const cpu0 = serverPid ? cpuSeconds(serverPid) : 0;
  const me0 = process.cpuUsage();
  const url = new URL(base);
  const lat: number[] = [];
  let acked = 0;
  let requests = 0;
  let errors = 0;
  let slot = 0;
  const t0 = performance.now();
  const end = t0 + duration * 1000;
  const rater = async (token: string) => {
    const conn = new RawConnection(url);
    let task: string | undefined;
    try {
      for (;;) {
        let start = performance.now();
        if (rate) {
          const due = t0 + (slot++ * 1000) / rate;
          if (due >= end) break;
          if (due > start) await new Promise((r) => setTimeout(r, due - start));
          start = due;
        } else if (start >= end) break;
        const judging = mode === "judge" && task !== undefined;
        const choice = ["left", "right", "tie"][(requests + acked) % 3];
        const r = judging
          ? await conn.post(
              `/api/tasks/${task}/judgment`,
              token,
              `{"choice":"${choice}","next":true}`,
            )
          : await conn.post("/api/projects/bench/tasks/next", token, "{}");
        requests++;
        lat.push(performance.now() - start);
        if (r.status !== 200) {
          if (errors++ < 3) process.stderr.write(`  ${r.status} ${r.body.slice(0, 200)}\n`);
          task = undefined;
          continue;
        }
        // The task id, read as the wrk script reads it (no JSON.parse of the texts).
        if (judging) {
          acked++;
          task = /"next":\{"task_id":"([\w-]+)"/.exec(r.body)?.[1];
        } else task = /"task":\{"task_id":"([\w-]+)"/.exec(r.body)?.[1];
      }
    } finally {
      conn.close();
    }
  };
  await Promise.all(tokens.map((t) => rater(t)));
  const secs = (performance.now() - t0) / 1000;
  const sorted = Float64Array.from(lat).sort();
  const me = process.cpuUsage(me0);
  return {
    ...(serverPid
      ? { serverCpuUs: ((cpuSeconds(serverPid) - cpu0) * 1e6) / Math.max(1, requests) }
      : {}),
    clientCpuUs: (me.user + me.system) / Math.max(1, requests),
    judgments: acked,
    perSecond: acked / secs,
    requestsPerSecond: requests / secs,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    errors,
  };
}

const WRK_SCRIPT = `
local tokens = {}
for line in io.lines(os.getenv("KEEL_TOKENS")) do tokens[#tokens + 1] = line end
local mode = os.getenv("KEEL_MODE")
local threads = {}
local n = 0
function setup(thread)
  n = n + 1
  thread:set("token", tokens[n])
  table.insert(threads, thread)
end
function init(args)
  task = nil
  acked = 0
  errors = 0
  k = 0
  headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
  choices = { "left", "right", "tie" }
end
function request()
  if mode == "judge" and task ~= nil then
    k = k + 1
    return wrk.format("POST", "/api/tasks/" .. task .. "/judgment", headers,
      '{"choice":"' .. choices[k % 3 + 1] .. '","next":true}')
  end
  return wrk.format("POST", "/api/projects/bench/tasks/next", headers, "{}")
end
function response(status, hdrs, body)
  if status ~= 200 then
    errors = errors + 1
    task = nil
    return
  end
  if string.find(body, '"receipt"', 1, true) then
    acked = acked + 1
    task = string.match(body, '"next":{"task_id":"([%w_-]+)"')
  else
    task = string.match(body, '"task":{"task_id":"([%w_-]+)"')
  end
end
function done(summary, latency, requests)
  local a, e = 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("acked")
    e = e + t:get("errors")
  end
  io.write(string.format('KEEL {"acked":%d,"errors":%d,"requests":%d,"us":%d,"p50":%f,"p99":%f}\\n',
    a, e, summary.requests, summary.duration, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
`;

/**
 * Closed-loop load with wrk (C, a fraction of a Node client's CPU per request): one thread and
 * one connection per rater, each keeping its task id in its own Lua state.
 */
async function wrkLoad(
  base: string,
  tokens: string[],
  mode: "judge" | "hold",
  duration: number,
  dir: string,
  serverPid: number,
): Promise<Load> {
  const script = join(dir, "flow.lua");
  const tokenFile = join(dir, "tokens.txt");
  writeFileSync(script, WRK_SCRIPT);
  writeFileSync(tokenFile, `${tokens.join("\n")}\n`);
  const cpu0 = cpuSeconds(serverPid);
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(
      "wrk",
      [
        "-t",
        String(tokens.length),
        "-c",
        String(tokens.length),
        "-d",
        `${duration}s`,
        "--timeout",
        "10s",
        "-s",
        script,
        base,
      ],
      {
        env: { ...process.env, KEEL_TOKENS: tokenFile, KEEL_MODE: mode },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let text = "";
    child.stdout.on("data", (c: Buffer) => {
      text += c.toString();
    });
    child.on("error", (e) =>
      reject(new Error(`cannot run wrk (apt-get install wrk): ${e.message}`)),
    );
    child.on("exit", (code) =>
      code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}:\n${text}`)),
    );
  });
  const m = /KEEL (\{.*\})/.exec(out);
  if (!m) throw new Error(`no summary from wrk:\n${out}`);
  const r = JSON.parse(m[1]!) as {
    acked: number;
    errors: number;
    requests: number;
    us: number;
    p50: number;
    p99: number;
  };
  const secs = r.us / 1e6;
  return {
    serverCpuUs: ((cpuSeconds(serverPid) - cpu0) * 1e6) / Math.max(1, r.requests),
    judgments: r.acked,
    perSecond: r.acked / secs,
    requestsPerSecond: r.requests / secs,
    p50: r.p50,
    p99: r.p99,
    errors: r.errors,
  };
}

/**
 * A pause between runs. wrk stops with a request in flight on every connection; a judgment still
 * being recorded when the next run's rater reserved and judged the same task was answered 409
 * and counted as that run's error.
 */
const settle = () => new Promise((r) => setTimeout(r, 1000));

async function bench(
  dialect: "sqlite" | "postgres",
  duration: number,
  connections: number,
  rate: number,
) {
  const dir = mkdtempSync(join(tmpdir(), "keel-bench-server-"));
  let target = join(dir, "bench.db");
  let dropDb: (() => Promise<void>) | undefined;
  if (dialect === "postgres") {
    const name = `keel_bench_${process.pid}`;
    const admin = new pg.Client({ connectionString: PG_ADMIN });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    target = PG_ADMIN.replace(/\/[^/]*$/, `/${name}`);
    dropDb = async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    };
  }
  try {
    const n = Math.ceil((duration * 2 * 12_000) / 3) + 2000;
    const { tokens } = await seed(target, n, connections);
    const server = await startServer(target);
    let out: { ceiling: Load; max: Load; fixed: Load };
    try {
      const only = process.env.KEEL_BENCH_ONLY;
      await load(server.url, tokens, "hold", 1);
      const pid = server.pid;
      const ceiling = await wrkLoad(
        server.url,
        tokens,
        "hold",
        only === "judge" ? 1 : duration,
        dir,
        pid,
      );
      const max = await wrkLoad(server.url, tokens, "judge", duration, dir, pid);
      await settle();
      const fixed = await load(
        server.url,
        tokens,
        "judge",
        only === "judge" ? 0.1 : duration,
        rate,
        pid,
      );
      if (process.env.KEEL_BENCH_LOG) {
        for (const [k, v] of Object.entries({ ceiling, max, fixed })) {
          process.stderr.write(
            `${k}: server ${v.serverCpuUs?.toFixed(0)} µs CPU/request, client ${v.clientCpuUs?.toFixed(0)} µs\n`,
          );
        }
      }
      out = { ceiling, max, fixed };
    } finally {
      await server.stop();
    }
    const store = await openStore(target);
    const stored = await store.countJudgments();
    const verify = await store.verifyLedger();
    await store.close();
    const acked = out.max.judgments + out.fixed.judgments;
    // Every acknowledged judgment is stored; a load run that ends cuts off at most one request
    // per connection whose judgment was stored but whose answer was not read.
    if (stored < acked || stored > acked + 2 * connections || !verify.ok) {
      throw new Error(
        `${dialect}: ${acked} judgments acknowledged but ${stored} stored; ledger ok=${verify.ok}`,
      );
    }
    return { ...out, stored };
  } finally {
    await dropDb?.();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function run(): Promise<void> {
  const quick = cli.quick;
  // whole seconds: wrk reads no fraction of one
  const duration = cli.int("--duration", quick ? 4 : 15);
  const connections = cli.int("--connections", 64);
  const rate = cli.int("--rate", 2000);
  const dialects: ("sqlite" | "postgres")[] = cli.has("--no-pg")
    ? ["sqlite"]
    : ["sqlite", "postgres"];
  const records: Record<string, unknown>[] = [];
  const rows: string[][] = [];
  for (const d of dialects) {
    process.stderr.write(`bench:server ${d}: ${duration}s per run, ${connections} raters…\n`);
    const r = await bench(d, duration, connections, rate);
    const config = `${d}, ${connections} raters, ${duration}s`;
    rows.push(
      [
        d,
        "no-write route (ceiling)",
        r.ceiling.requestsPerSecond.toFixed(0),
        r.ceiling.p50.toFixed(1),
        r.ceiling.p99.toFixed(1),
        String(r.ceiling.errors),
      ],
      [
        d,
        "judgments, max load",
        r.max.perSecond.toFixed(0),
        r.max.p50.toFixed(1),
        r.max.p99.toFixed(1),
        String(r.max.errors),
      ],
      [
        d,
        `judgments at ${rate}/s`,
        r.fixed.perSecond.toFixed(0),
        r.fixed.p50.toFixed(1),
        r.fixed.p99.toFixed(1),
        String(r.fixed.errors),
      ],
    );
    records.push(
      {
        config,
        metric: "acknowledged durable judgments per second (max load)",
        unit: "judgments/s",
        keel: round(r.max.perSecond),
        reference: round(r.ceiling.requestsPerSecond),
        reference_name: "same server, route that writes nothing (requests/s)",
        ratio: round(r.max.perSecond / r.ceiling.requestsPerSecond, 3),
      },
      {
        config,
        metric: "judgment latency p50 (max load)",
        unit: "ms",
        keel: r.max.p50,
        reference: r.ceiling.p50,
        reference_name: "no-write route p50",
        ratio: round(r.ceiling.p50 / Math.max(r.max.p50, 0.001), 3),
      },
      {
        config,
        metric: "judgment latency p99 (max load)",
        unit: "ms",
        keel: r.max.p99,
        reference: r.ceiling.p99,
        reference_name: "no-write route p99",
        ratio: round(r.ceiling.p99 / Math.max(r.max.p99, 0.001), 3),
      },
      {
        config,
        metric: "errors (non-200 answers), max load",
        unit: "count",
        keel: r.max.errors,
        reference: r.ceiling.errors,
        reference_name: "no-write route",
      },
      {
        config: `${config}, offered ${rate}/s`,
        metric: "errors (non-200 answers) at fixed rate",
        unit: "count",
        keel: r.fixed.errors,
      },
      {
        config: `${config}, offered ${rate}/s`,
        metric: "judgments per second at fixed rate",
        unit: "judgments/s",
        keel: round(r.fixed.perSecond),
      },
      {
        config: `${config}, offered ${rate}/s`,
        metric: "judgment latency p50 at fixed rate",
        unit: "ms",
        keel: r.fixed.p50,
      },
      {
        config: `${config}, offered ${rate}/s`,
        metric: "judgment latency p99 at fixed rate",
        unit: "ms",
        keel: r.fixed.p99,
      },
    );
  }
  const header = ["store", "run", "per second", "p50 ms", "p99 ms", "errors"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
  console.log(
    "(per second: acknowledged judgments for judgment runs, answered requests for the ceiling)",
  );
  mkdirSync(join(ROOT, "bench/results"), { recursive: true });
  const file = join(ROOT, "bench/results", resultFile("server", cli));
  writeFileSync(file, `${JSON.stringify(records, null, 2)}\n`);
  console.log(`wrote ${file}`);
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

if (SERVE) {
  // Child mode: run `keel serve` with the given flags.
  main(["node", "keel", "serve", ...args.slice(1)]).then((code) => {
    process.exitCode = code;
  });
} else {
  await run();
}
