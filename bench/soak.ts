/**
 * bench:soak — several `keel serve` processes on one PostgreSQL store with Redis for leases and
 * rate limits, under steady load for a long time: is memory flat, are there zero errors, what
 * throughput and latency do they sustain?
 *
 * Each rater (an API token) does the real task flow: reserve a task, then judge it asking for
 * the next one in the same answer; every request goes to a process picked at random. Load is
 * open-loop: judgments are due at a fixed total rate and latency is measured from the due time.
 * Every response that is not 200 counts as an error. Each process's resident memory (VmRSS) is
 * sampled every few seconds; "flat" is judged after a warm-up (the first 20% of the run) by the
 * least-squares slope and by the growth from the second fifth to the last fifth of the run.
 * Afterwards the ledger must hold exactly the acknowledged judgments, no comparison more than
 * `overlap` times, and verify as one chain. The reference, side by side in the same command: one
 * process with in-memory leases and limits (no Redis) at the same offered rate, for a fifth of
 * the time (at least 10 s, at most the whole run). A run with other options than --quick writes
 * soak.partial.json.
 *
 *   npm run bench:soak                # 600 s, 3 processes, 150 judgments/s offered
 *   npm run bench:soak -- --quick     # 30 s (and a 10 s reference)
 *   options: --duration S, --rate R, --raters N, --processes P
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import pg from "pg";
import { main } from "../src/cli/main.js";
import { contentDigest, storedText } from "../src/core/digest.js";
import { Rng } from "../src/core/rng.js";
import {
  collectionDb,
  createApiToken,
  createProject,
  createUser,
} from "../src/store/collection/index.js";
import { openStore } from "../src/store/store.js";
import { benchArgs, resultFile } from "./args.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const PG_URL = process.env.KEEL_BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const REDIS_URL = process.env.KEEL_BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const args = process.argv.slice(2);
/** A server child (`--serve ...`) passes its arguments on to `keel serve`. */
const SERVE = args[0] === "--serve";
const cli = benchArgs("soak", SERVE ? [] : args, {
  options: ["--duration", "--rate", "--raters", "--processes"],
});
const OVERLAP = 3;

const urlFor = (schema: string) =>
  `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;

/** A project of `n` comparisons (10% gold) and `raters` raters with tokens, in a new schema. */
async function seed(schema: string, n: number, raters: number): Promise<string[]> {
  const store = await openStore(PG_URL, { schema, create: true });
  const db = collectionDb(store);
  const now = new Date();
  await createProject(
    db,
    {
      project_id: "soak",
      name: "soak",
      overlap: OVERLAP,
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
      const p = `Prompt ${k}: which answer is more helpful? ${"context ".repeat(20)}`;
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
        project_id: "soak",
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
    tokens.push((await createApiToken(db, u.user_id, "soak", now)).token);
    await db
      .insertInto("project_members")
      .values({
        project_id: "soak",
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
  return tokens;
}

interface Server {
  readonly url: string;
  readonly child: ChildProcess;
}

async function startServer(db: string, redisPrefix: string | undefined): Promise<Server> {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.KEEL_BENCH_PROF
        ? ["--cpu-prof", `--cpu-prof-dir=${process.env.KEEL_BENCH_PROF}`]
        : []),
      "--import",
      "tsx",
      join(ROOT, "bench/soak.ts"),
      "--serve",
      "--db",
      db,
      ...(redisPrefix ? ["--redis", REDIS_URL, "--redis-prefix", redisPrefix] : []),
      "--port",
      "0",
      "--no-web",
      "--log-level",
      process.env.KEEL_BENCH_LOG ?? "warn",
      // Limits stay on (every request takes tokens from the shared buckets) but above the load.
      "--rate-ip",
      "100000",
      "--rate-user",
      "1000",
      // The raters are bots answering in a fixed cycle: the audit would rightly pause them.
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
      const m = / on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`keel serve exited (${code}):\n${out}`)));
  });
  return { url, child };
}

function stopServer(s: Server): Promise<void> {
  return new Promise((resolve) => {
    s.child.removeAllListeners("exit");
    if (s.child.exitCode !== null) return resolve();
    s.child.once("exit", () => resolve());
    s.child.kill("SIGTERM");
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

interface RunResult {
  readonly seconds: number;
  readonly judgments: number;
  readonly errors: number;
  readonly errorKinds: Record<string, number>;
  readonly latencies: Float64Array;
  /** Per process: [t seconds, RSS MB] samples. */
  readonly rss: [number, number][][];
  readonly ledgerOk: boolean;
  readonly ledgerRows: number;
  readonly maxPerComparison: number;
  /** Server CPU (all processes) per acknowledged judgment, ms. */
  readonly cpuMsPerJudgment: number;
}

async function run(o: {
  processes: number;
  redis: boolean;
  duration: number;
  rate: number;
  raters: number;
  label: string;
}): Promise<RunResult> {
  const schema = `keel_soak_${process.pid}_${randomBytes(3).toString("hex")}`;
  const prefix = `keel-soak:${schema}:`;
  const items = Math.ceil(((o.rate * o.duration) / OVERLAP) * 1.3) + 1000;
  process.stderr.write(
    `bench:soak ${o.label}: seeding ${items} comparisons, ${o.raters} raters…\n`,
  );
  const tokens = await seed(schema, items, o.raters);
  const db = urlFor(schema);
  const servers: Server[] = [];
  try {
    for (let i = 0; i < o.processes; i++)
      servers.push(await startServer(db, o.redis ? prefix : undefined));
    process.stderr.write(
      `bench:soak ${o.label}: ${o.processes} process(es) up; ${o.duration}s at ${o.rate}/s…\n`,
    );
    const rss: [number, number][][] = servers.map(() => []);
    const cpu0 = servers.reduce((a, s) => a + cpuSeconds(s.child.pid!), 0);
    const t0 = performance.now();
    const sample = () => {
      const t = (performance.now() - t0) / 1000;
      servers.forEach((s, i) => {
        rss[i]!.push([t, rssMb(s.child.pid!)]);
      });
    };
    sample();
    const sampler = setInterval(sample, Math.max(1000, (o.duration * 1000) / 120));
    const lat: number[] = [];
    const errorKinds: Record<string, number> = {};
    let judgments = 0;
    const end = t0 + o.duration * 1000;
    const warm = t0 + o.duration * 200;
    const interval = (1000 * o.raters) / o.rate; // each rater's share of the rate
    const rater = async (token: string, r: number) => {
      const rng = new Rng(`soak/${r}`);
      const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      const call = async (path: string, body: string) => {
        const s = servers[rng.int(servers.length)]!;
        try {
          const res = await fetch(s.url + path, { method: "POST", headers, body });
          return { status: res.status, json: (await res.json()) as Record<string, unknown> };
        } catch (e) {
          return { status: 0, json: { error: String(e) } };
        }
      };
      const error = (kind: string) => {
        errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
      };
      let task: string | undefined;
      let due = t0 + (interval * r) / o.raters;
      while (due < end) {
        const wait = due - performance.now();
        if (wait > 0) await new Promise((res) => setTimeout(res, wait));
        const thisDue = due;
        due += interval;
        if (!task) {
          const n = await call("/api/projects/soak/tasks/next", "{}");
          const t = (n.json.task as { task_id: string } | null | undefined)?.task_id;
          if (n.status !== 200 || !t) {
            error(n.status === 200 ? "no task left" : `reserve ${n.status}`);
            continue;
          }
          task = t;
        }
        const j = await call(
          `/api/tasks/${task}/judgment`,
          `{"choice":"${rng.float() < 0.5 ? "left" : "right"}","next":true}`,
        );
        task = undefined;
        if (j.status !== 200) {
          error(`judge ${j.status}`);
          continue;
        }
        judgments++;
        // Latency is reported for the steady state, after the warm-up fifth.
        if (thisDue >= warm) lat.push(performance.now() - thisDue);
        task = (j.json.next as { task_id: string } | null | undefined)?.task_id;
      }
    };
    await Promise.all(tokens.map((t, r) => rater(t, r)));
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    sample();
    const cpu = servers.reduce((a, s) => a + cpuSeconds(s.child.pid!), 0) - cpu0;
    for (const s of servers) await stopServer(s);
    servers.length = 0;
    const store = await openStore(db);
    const rows = await store.db
      .selectFrom("judgments")
      .select(({ fn }) => fn.countAll<number>().as("n"))
      .executeTakeFirst();
    // Gold comparisons have no overlap limit (every rater may see them): only tasks count here.
    const per = await store.db
      .selectFrom("judgments as j")
      .innerJoin("comparisons as c", "c.comparison_id", "j.comparison_id")
      .where("c.gold", "is", null)
      .select(["j.comparison_id", ({ fn }) => fn.countAll<number>().as("n")])
      .groupBy("j.comparison_id")
      .orderBy("n", "desc")
      .limit(1)
      .executeTakeFirst();
    const report = await store.verifyLedger();
    await store.close();
    const latencies = Float64Array.from(lat).sort();
    return {
      seconds,
      judgments,
      errors: Object.values(errorKinds).reduce((s, n) => s + n, 0),
      errorKinds,
      latencies,
      rss,
      ledgerOk: report.ok && Number(rows?.n ?? 0) === judgments,
      ledgerRows: Number(rows?.n ?? 0),
      maxPerComparison: Number(per?.n ?? 0),
      cpuMsPerJudgment: (cpu * 1000) / Math.max(1, judgments),
    };
  } finally {
    for (const s of servers) await stopServer(s);
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
    if (o.redis) {
      const r = new Redis(REDIS_URL);
      let cursor = "0";
      do {
        const [next, keys] = await r.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
        cursor = next;
        if (keys.length > 0) await r.del(...keys);
      } while (cursor !== "0");
      r.disconnect();
    }
  }
}

function percentile(sorted: Float64Array, q: number): number {
  return sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** After the warm-up (first 20%): least-squares slope (MB/min) and growth from fifth 2 to fifth 5. */
function flatness(
  samples: [number, number][],
  duration: number,
): { slope: number; growth: number; peak: number } {
  const s = samples.filter(([t]) => t >= duration * 0.2);
  const n = s.length;
  const mt = s.reduce((a, [t]) => a + t, 0) / n;
  const mm = s.reduce((a, [, m]) => a + m, 0) / n;
  let num = 0;
  let den = 0;
  for (const [t, m] of s) {
    num += (t - mt) * (m - mm);
    den += (t - mt) ** 2;
  }
  const mean = (lo: number, hi: number) => {
    const w = samples.filter(([t]) => t >= duration * lo && t <= duration * hi).map(([, m]) => m);
    return w.reduce((a, b) => a + b, 0) / w.length;
  };
  const early = mean(0.2, 0.4);
  const late = mean(0.8, 1.01);
  return {
    slope: den > 0 ? (num / den) * 60 : 0,
    growth: late / early - 1,
    peak: Math.max(...samples.map(([, m]) => m)),
  };
}

function round(x: number, d = 2): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

async function bench(): Promise<void> {
  const quick = cli.quick;
  const duration = cli.int("--duration", quick ? 30 : 600);
  const rate = cli.int("--rate", 150);
  const raters = cli.int("--raters", 60);
  const processes = cli.int("--processes", 3);
  // a fifth of the run, at least 10 s, but never longer than the run itself
  const refDuration = Math.max(Math.min(10, duration), Math.round(duration / 5));
  const main = await run({
    processes,
    redis: true,
    duration,
    rate,
    raters,
    label: `${processes} processes + Redis`,
  });
  const ref = await run({
    processes: 1,
    redis: false,
    duration: refDuration,
    rate,
    raters,
    label: "1 process, no Redis (reference)",
  });
  const flat = main.rss.map((s) => flatness(s, main.seconds));
  const refFlat = ref.rss.map((s) => flatness(s, ref.seconds));
  const worst = flat.reduce((a, b) => (b.growth > a.growth ? b : a));
  const config = `postgres + redis, ${processes} processes, ${raters} raters, ${rate}/s offered, ${duration}s`;
  const refName = `1 process without Redis, same rate, ${refDuration}s`;
  const tp = main.judgments / main.seconds;
  const refTp = ref.judgments / ref.seconds;
  const p50 = percentile(main.latencies, 0.5);
  const p99 = percentile(main.latencies, 0.99);
  const rp50 = percentile(ref.latencies, 0.5);
  const rp99 = percentile(ref.latencies, 0.99);
  const records = [
    {
      config,
      metric: "acknowledged judgments per second",
      unit: "judgments/s",
      keel: round(tp, 1),
      reference: round(refTp, 1),
      reference_name: refName,
      ratio: round(tp / refTp, 3),
    },
    {
      config,
      metric: "judgment latency p50 (from due time, after warm-up)",
      unit: "ms",
      keel: round(p50),
      reference: round(rp50),
      reference_name: refName,
      ratio: round(rp50 / p50, 3),
    },
    {
      config,
      metric: "judgment latency p99 (from due time, after warm-up)",
      unit: "ms",
      keel: round(p99),
      reference: round(rp99),
      reference_name: refName,
      ratio: round(rp99 / p99, 3),
    },
    {
      config,
      metric: "server CPU per judgment (all processes)",
      unit: "ms",
      keel: round(main.cpuMsPerJudgment),
      reference: round(ref.cpuMsPerJudgment),
      reference_name: refName,
      ratio: round(ref.cpuMsPerJudgment / main.cpuMsPerJudgment, 3),
    },
    {
      config,
      metric: "errors (non-200 answers)",
      unit: "count",
      keel: main.errors,
      reference: ref.errors,
      reference_name: refName,
    },
    {
      config,
      metric: "RSS growth after warm-up, worst process (fifth 2 → fifth 5)",
      unit: "%",
      keel: round(worst.growth * 100),
      reference: round(refFlat[0]!.growth * 100),
      reference_name: refName,
    },
    {
      config,
      metric: "RSS slope after warm-up, worst process",
      unit: "MB/min",
      keel: round(Math.max(...flat.map((f) => f.slope))),
      reference: round(refFlat[0]!.slope),
      reference_name: refName,
    },
    {
      config,
      metric: "peak RSS, largest process",
      unit: "MB",
      keel: round(Math.max(...flat.map((f) => f.peak)), 1),
      reference: round(refFlat[0]!.peak, 1),
      reference_name: refName,
      ratio: round(refFlat[0]!.peak / Math.max(...flat.map((f) => f.peak)), 3),
    },
    {
      config,
      metric: "ledger verifies and holds exactly the acknowledged judgments",
      unit: "bool",
      keel: main.ledgerOk ? 1 : 0,
      reference: ref.ledgerOk ? 1 : 0,
      reference_name: refName,
    },
    {
      config,
      metric: "most judgments of one comparison (overlap 3)",
      unit: "count",
      keel: main.maxPerComparison,
      reference: ref.maxPerComparison,
      reference_name: refName,
    },
  ];
  const rows = records.map((r) => [
    r.metric,
    `${r.keel} ${r.unit}`,
    `${r.reference ?? ""}`,
    r.ratio === undefined ? "" : String(r.ratio),
  ]);
  const header = ["metric", "keel", "reference", "ratio"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  console.log(`${config}\nreference: ${refName}\n`);
  console.log(header.map((h, i) => h.padEnd(widths[i]!)).join("  "));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  "));
  flat.forEach((f, i) => {
    console.log(
      `process ${i + 1}: RSS ${main.rss[i]![0]![1].toFixed(0)} → ${main.rss[i]!.at(-1)![1].toFixed(0)} MB, after warm-up growth ${(f.growth * 100).toFixed(1)}%, slope ${f.slope.toFixed(2)} MB/min`,
    );
  });
  if (main.errors > 0 || ref.errors > 0)
    console.log(
      `errors: ${JSON.stringify(main.errorKinds)} reference ${JSON.stringify(ref.errorKinds)}`,
    );
  mkdirSync(join(ROOT, "bench/results"), { recursive: true });
  const file = join(ROOT, "bench/results", resultFile("soak", cli));
  writeFileSync(file, `${JSON.stringify(records, null, 2)}\n`);
  console.log(`wrote ${file}`);
}

if (SERVE) {
  main(["node", "keel", "serve", ...args.slice(1)]).then((code) => {
    process.exitCode = code;
  });
} else {
  await bench();
}
