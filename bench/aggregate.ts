/**
 * bench:aggregate — keel's aggregation algorithms on 1,000,000 synthetic judgments, side by side
 * with vectorised numpy implementations of Dawid–Skene and Bradley–Terry MM (bench/aggregate_ref.py)
 * reading the same data files in the same run.
 *
 *   npm run bench:aggregate [-- --quick] [-- --iters N] [-- --memory-judgments N]
 *
 * Data: 20,000 tasks × 2,000 raters (binary and 3-class; 70% good raters, 20% random, 10%
 * adversarial) and 1,000,000 pairwise judgments over 5,000 responses (75% honest raters, 15%
 * left-biased, 10% random; 5% ties). Every method runs a fixed number of iterations (tol = 0) so
 * that keel and numpy do the same work; time per iteration = (time for N iterations − time for
 * 0) / N for keel, each the fastest of 3 runs or more (the set-up can outweigh the iterations,
 * and one disturbed run would swamp the difference), the median iteration for numpy; keel's
 * total time is the median of its runs of N iterations. Each keel job and the numpy script run in
 * their own process, so "peak RSS" is that job's whole process (runtime included). The memory
 * job streams 10,000,000 string judgments through the encoder and runs Dawid–Skene on them, and
 * reports (peak RSS − RSS before) / judgments.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CategoricalEncoder } from "../src/aggregate/encode.js";
import {
  bradleyTerry,
  bradleyTerryIlsr,
  dawidSkene,
  glad,
  noisyBradleyTerry,
  oneCoinDawidSkene,
} from "../src/aggregate/index.js";
import type { CategoricalData, FitTrace, PairwiseData } from "../src/aggregate/types.js";
import { Rng } from "../src/core/rng.js";
import { type BenchRow, benchArgs, resultFile } from "./args.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
/** Child jobs (`--worker`, `--memory`) take arguments this file passes them itself. */
const CHILD = args[0] === "--worker" || args[0] === "--memory";
const childOpt = (name: string) => Number(args[args.indexOf(name) + 1]);
const cli = benchArgs("aggregate", CHILD ? [] : args, {
  options: ["--iters", "--memory-judgments"],
});

interface Sizes {
  judgments: number;
  tasks: number;
  workers: number;
  items: number;
  iters: number;
  gladIters: number;
  memory: number;
}

const QUICK = cli.quick;
const SIZES: Sizes = {
  judgments: QUICK ? 200_000 : 1_000_000,
  tasks: QUICK ? 4_000 : 20_000,
  workers: QUICK ? 400 : 2_000,
  items: QUICK ? 1_000 : 5_000,
  iters: cli.int("--iters", QUICK ? 10 : 30),
  gladIters: QUICK ? 3 : 10,
  memory: cli.int("--memory-judgments", QUICK ? 1_000_000 : 10_000_000),
};

// ---------------------------------------------------------------- data

function writeI32(dir: string, name: string, a: Int32Array): void {
  writeFileSync(join(dir, name), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

function generateCategorical(dir: string, prefix: string, K: number, s: Sizes, seed: number) {
  const rng = new Rng(seed);
  const truth = Int32Array.from({ length: s.tasks }, () => rng.int(K));
  const acc = new Float64Array(s.workers);
  for (let w = 0; w < s.workers; w++) {
    const u = rng.float();
    acc[w] = u < 0.7 ? rng.uniform(0.65, 0.95) : u < 0.9 ? 1 / K : 0.15;
  }
  const task = new Int32Array(s.judgments);
  const worker = new Int32Array(s.judgments);
  const label = new Int32Array(s.judgments);
  const perTask = s.judgments / s.tasks;
  for (let j = 0; j < s.judgments; j++) {
    const t = Math.floor(j / perTask);
    const w = rng.int(s.workers);
    const z = truth[t]!;
    task[j] = t;
    worker[j] = w;
    label[j] = rng.bernoulli(acc[w]!) ? z : (z + 1 + rng.int(K - 1)) % K;
  }
  writeI32(dir, `${prefix}task.i32`, task);
  writeI32(dir, `${prefix}worker.i32`, worker);
  writeI32(dir, `${prefix}label.i32`, label);
  return {
    name: prefix.replace(/_$/, ""),
    prefix,
    nTasks: s.tasks,
    nWorkers: s.workers,
    nClasses: K,
  };
}

function generatePairwise(dir: string, s: Sizes, seed: number) {
  const rng = new Rng(seed);
  const beta = Float64Array.from({ length: s.items }, () => rng.normal());
  const skill = new Float64Array(s.workers);
  const bias = new Float64Array(s.workers);
  for (let w = 0; w < s.workers; w++) {
    const u = rng.float();
    skill[w] = u < 0.75 ? rng.uniform(0.7, 1) : u < 0.9 ? 0.3 : 0;
    bias[w] = u >= 0.75 && u < 0.9 ? 0.85 : 0.5;
  }
  const n = s.judgments;
  const worker = new Int32Array(n);
  const left = new Int32Array(n);
  const right = new Int32Array(n);
  const outcome = new Uint8Array(n);
  for (let j = 0; j < n; j++) {
    const w = rng.int(s.workers);
    const a = rng.int(s.items);
    const b = (a + 1 + rng.int(s.items - 1)) % s.items;
    worker[j] = w;
    left[j] = a;
    right[j] = b;
    if (rng.bernoulli(skill[w]!)) {
      const d = beta[a]! - beta[b]!;
      outcome[j] =
        Math.abs(d) < 0.5 && rng.bernoulli(0.05)
          ? 2
          : rng.bernoulli(1 / (1 + Math.exp(-d)))
            ? 0
            : 1;
    } else outcome[j] = rng.bernoulli(bias[w]!) ? 0 : 1;
  }
  writeI32(dir, "pw_worker.i32", worker);
  writeI32(dir, "pw_left.i32", left);
  writeI32(dir, "pw_right.i32", right);
  writeFileSync(join(dir, "pw_outcome.u8"), outcome);
  return { nItems: s.items, nWorkers: s.workers };
}

// ---------------------------------------------------------------- child jobs

function readI32(dir: string, name: string): Int32Array {
  const b = readFileSync(join(dir, name));
  return new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function names(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}

function loadCategorical(
  dir: string,
  cfg: { prefix: string; nTasks: number; nWorkers: number; nClasses: number },
): CategoricalData {
  return {
    nTasks: cfg.nTasks,
    nWorkers: cfg.nWorkers,
    nClasses: cfg.nClasses,
    task: readI32(dir, `${cfg.prefix}task.i32`),
    worker: readI32(dir, `${cfg.prefix}worker.i32`),
    label: readI32(dir, `${cfg.prefix}label.i32`),
    tasks: names("t", cfg.nTasks),
    workers: names("w", cfg.nWorkers),
    classes: names("c", cfg.nClasses),
  };
}

function loadPairwise(dir: string, cfg: { nItems: number; nWorkers: number }): PairwiseData {
  const o = readFileSync(join(dir, "pw_outcome.u8"));
  return {
    nItems: cfg.nItems,
    nWorkers: cfg.nWorkers,
    worker: readI32(dir, "pw_worker.i32"),
    left: readI32(dir, "pw_left.i32"),
    right: readI32(dir, "pw_right.i32"),
    outcome: new Uint8Array(o.buffer.slice(o.byteOffset, o.byteOffset + o.byteLength)),
    items: names("i", cfg.nItems),
    workers: names("w", cfg.nWorkers),
  };
}

type Runner = (iters: number) => FitTrace;

/** Runs of each keel job with 0 and with N iterations (at least); the fastest of each is used. */
const REPEATS = 3;
const MAX_REPEATS = 10;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function runJob(job: string, dir: string, iters: number): void {
  const meta = JSON.parse(readFileSync(join(dir, "meta.json"), "utf8"));
  const [method, config] = job.split("/") as [string, string];
  const cat = meta.categorical.find((c: { name: string }) => c.name === config);
  let run: Runner;
  const o = (n: number) => ({ maxIter: n, tol: 0 });
  if (cat) {
    const d = loadCategorical(dir, cat);
    const fits: Record<string, Runner> = {
      ds: (n) => dawidSkene(d, o(n)),
      "one-coin": (n) => oneCoinDawidSkene(d, o(n)),
      glad: (n) => glad(d, o(n)),
    };
    run = fits[method]!;
  } else {
    const d = loadPairwise(dir, meta.pairwise);
    const fits: Record<string, Runner> = {
      "bt-mm": (n) => bradleyTerry(d, o(n)),
      "bt-ilsr": (n) => bradleyTerryIlsr(d, o(n)),
      "noisy-bt": (n) => noisyBradleyTerry(d, o(n)),
    };
    run = fits[method]!;
  }
  run(1); // warm-up: compile the hot loops
  // Per iteration = (T(iters) − T(0)) / iters. The set-up (encoding, pair table) can take longer
  // than all the iterations, so one disturbed run on either side swamped the difference (on a
  // loaded machine it came out negative): each side is the fastest of REPEATS runs, since other
  // load only ever adds time, with more pairs of runs (up to MAX_REPEATS) while it is not positive.
  const timed = (n: number) => {
    const t0 = performance.now();
    const r = run(n);
    return { ms: performance.now() - t0, r };
  };
  const setups: number[] = [];
  const runs: ReturnType<typeof timed>[] = [];
  while (
    runs.length < REPEATS ||
    (Math.min(...runs.map((x) => x.ms)) <= Math.min(...setups) && runs.length < MAX_REPEATS)
  ) {
    setups.push(timed(0).ms);
    runs.push(timed(iters));
  }
  const setup = Math.min(...setups);
  const fastest = Math.min(...runs.map((x) => x.ms));
  const r = runs[0]!.r;
  if (!(fastest > setup))
    throw new Error(
      `${job}: ${iters} iterations took no longer than none (${fastest.toFixed(1)} vs ${setup.toFixed(1)} ms, fastest of ${runs.length}); raise --iters`,
    );
  const out = {
    iterations: r.iterations,
    per_iter_s: (fastest - setup) / 1000 / Math.max(r.iterations, 1),
    total_s: median(runs.map((x) => x.ms)) / 1000,
    log_likelihood: r.logLikelihood ?? null,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(JSON.stringify(out));
}

function memoryJob(n: number): void {
  const tasks = Math.max(1, Math.round(n / 50));
  const workers = Math.max(1, Math.round(n / 500));
  const rng = new Rng(99);
  const before = process.memoryUsage().rss;
  const enc = new CategoricalEncoder();
  for (let j = 0; j < n; j++) {
    const t = Math.floor(j / 50);
    enc.add(`task-${t}`, `rater-${rng.int(workers)}`, `class-${rng.int(3)}`);
  }
  const data = enc.finish();
  const afterEncode = process.memoryUsage().rss;
  const t0 = performance.now();
  const r = dawidSkene(data, { maxIter: 3, tol: 0 });
  const dsS = (performance.now() - t0) / 1000;
  const peak = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(
    JSON.stringify({
      judgments: n,
      tasks,
      workers,
      iterations: r.iterations,
      rss_before_mb: before / 2 ** 20,
      rss_after_encode_mb: afterEncode / 2 ** 20,
      peak_rss_mb: peak / 2 ** 20,
      bytes_per_judgment: (peak - before) / n,
      arrays_bytes_per_judgment:
        (data.task.byteLength + data.worker.byteLength + data.label.byteLength) / n,
      ds_s: dsS,
    }),
  );
}

// ---------------------------------------------------------------- parent

function child(extra: string[]): Record<string, number> {
  const r = spawnSync(
    process.execPath,
    ["--max-old-space-size=8192", "--import", "tsx", fileURLToPath(import.meta.url), ...extra],
    {
      encoding: "utf8",
      maxBuffer: 1 << 24,
    },
  );
  if (r.status !== 0) throw new Error(`child ${extra.join(" ")} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Largest relative difference of keel's final log-likelihood from numpy's that counts as the same fit. */
const LL_TOLERANCE = 1e-6;

function main(): void {
  const s = SIZES;
  const dir = mkdtempSync(join(tmpdir(), "keel-bench-aggregate-"));
  try {
    const t0 = performance.now();
    const categorical = [
      generateCategorical(dir, "binary_", 2, s, 1),
      generateCategorical(dir, "3class_", 3, s, 2),
    ];
    const pairwise = generatePairwise(dir, s, 3);
    writeFileSync(join(dir, "meta.json"), JSON.stringify({ categorical, pairwise }));
    process.stderr.write(
      `generated ${s.judgments.toLocaleString()} judgments ×3 in ${((performance.now() - t0) / 1000).toFixed(1)}s (${dir})\n`,
    );

    const ref = spawnSync(
      "python3",
      [join(HERE, "aggregate_ref.py"), "--data", dir, "--iters", String(s.iters)],
      { encoding: "utf8", maxBuffer: 1 << 24 },
    );
    if (ref.status !== 0) throw new Error(`numpy reference failed: ${ref.stderr}`);
    const np = JSON.parse(ref.stdout);
    const refName = `numpy ${np.numpy} (vectorised)`;

    const jobs: [string, string, number, string | undefined][] = [
      ["ds/binary", "Dawid–Skene, binary", s.iters, "ds/binary"],
      ["ds/3class", "Dawid–Skene, 3-class", s.iters, "ds/3class"],
      ["one-coin/binary", "one-coin DS, binary", s.iters, undefined],
      ["one-coin/3class", "one-coin DS, 3-class", s.iters, undefined],
      ["glad/binary", "GLAD, binary", s.gladIters, undefined],
      ["bt-mm/pairwise", "Bradley–Terry MM, pairwise", s.iters, "bt-mm/pairwise"],
      ["bt-ilsr/pairwise", "Bradley–Terry I-LSR, pairwise", Math.min(s.iters, 5), undefined],
      ["noisy-bt/pairwise", "Noisy BT, pairwise", s.iters, undefined],
    ];
    const records: BenchRow[] = [];
    const rows: string[][] = [];
    /** Methods whose final log-likelihood is not numpy's (same data, same iterations). */
    const mismatched: string[] = [];
    const size = `${(s.judgments / 1e6).toFixed(1)}M judgments`;
    for (const [job, label, iters, refKey] of jobs) {
      process.stderr.write(`running ${job} …\n`);
      const k = child(["--worker", job, "--data", dir, "--iters", String(iters)]);
      const r = refKey ? np[refKey] : undefined;
      const cfg = `${label} (${size}, ${iters} iterations)`;
      const add = (
        metric: string,
        unit: string,
        keel: number,
        reference?: number,
        name = refName,
      ) => {
        const rec: BenchRow = { config: cfg, metric, unit, keel };
        if (reference !== undefined) {
          rec.reference = reference;
          rec.reference_name = name;
          rec.ratio = reference / keel; // every metric here is lower-is-better
        }
        records.push(rec);
      };
      add("time per iteration", "ms", k.per_iter_s! * 1000, r ? r.per_iter_s * 1000 : undefined);
      add("total time", "s", k.total_s!, r ? r.total_s : undefined);
      add("iterations", "count", k.iterations!);
      add(
        "peak RSS (process)",
        "MB",
        k.peak_rss_mb!,
        r ? np.peak_rss_mb : undefined,
        `${refName}: one process for all its jobs, keel one per job`,
      );
      const llMatch =
        r && k.log_likelihood !== null
          ? Math.abs(k.log_likelihood! - r.log_likelihood) / Math.abs(r.log_likelihood)
          : undefined;
      if (llMatch !== undefined && !(llMatch <= LL_TOLERANCE))
        mismatched.push(`${label} (relative difference ${llMatch.toExponential(1)})`);
      rows.push([
        label,
        String(k.iterations),
        (k.per_iter_s! * 1000).toFixed(2),
        r ? (r.per_iter_s * 1000).toFixed(2) : "—",
        r ? `${(r.per_iter_s / k.per_iter_s!).toFixed(2)}×` : "—",
        k.total_s!.toFixed(2),
        r ? r.total_s.toFixed(2) : "—",
        k.peak_rss_mb!.toFixed(0),
        llMatch !== undefined ? llMatch.toExponential(1) : "—",
      ]);
    }
    process.stderr.write(`running memory job (${s.memory.toLocaleString()} judgments) …\n`);
    const mem = child(["--memory", String(s.memory)]);
    records.push({
      config: `encoded categorical judgments + Dawid–Skene (${(s.memory / 1e6).toFixed(0)}M judgments)`,
      metric: "bytes per judgment (peak RSS growth)",
      unit: "B",
      keel: mem.bytes_per_judgment!,
    });
    records.push({
      config: `encoded categorical judgments (${(s.memory / 1e6).toFixed(0)}M judgments)`,
      metric: "typed-array bytes per judgment",
      unit: "B",
      keel: mem.arrays_bytes_per_judgment!,
    });

    const header = [
      "method",
      "iters",
      "keel ms/iter",
      "numpy ms/iter",
      "speed-up",
      "keel total s",
      "numpy total s",
      "keel peak RSS MB",
      "|ΔLL|/LL",
    ];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) =>
      r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
    console.log(line(header));
    console.log(widths.map((w) => "-".repeat(w)).join("  "));
    for (const r of rows) console.log(line(r));
    console.log(
      `numpy process peak RSS: ${np.peak_rss_mb.toFixed(0)} MB (all its jobs in one process)`,
    );
    console.log(
      `memory: ${s.memory.toLocaleString()} judgments (${mem.tasks} tasks, ${mem.workers} raters, 3 classes) → ` +
        `${mem.bytes_per_judgment!.toFixed(1)} bytes/judgment peak RSS growth incl. Dawid–Skene ` +
        `(${mem.arrays_bytes_per_judgment} in typed arrays; RSS ${mem.rss_before_mb!.toFixed(0)} → ${mem.peak_rss_mb!.toFixed(0)} MB); target ≤ 64`,
    );
    const outDir = join(HERE, "results");
    mkdirSync(outDir, { recursive: true });
    writeFileSync(
      join(outDir, resultFile("aggregate", cli)),
      `${JSON.stringify(records, null, 2)}\n`,
    );
    // A speed-up of a method that computes something else is no speed-up.
    if (mismatched.length > 0) {
      console.error(
        `log-likelihood differs from numpy's beyond ${LL_TOLERANCE}: ${mismatched.join(", ")}`,
      );
      process.exitCode = 1;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (args[0] === "--worker")
  runJob(args[1]!, args[args.indexOf("--data") + 1]!, childOpt("--iters"));
else if (args[0] === "--memory") memoryJob(childOpt("--memory"));
else main();
