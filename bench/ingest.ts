/**
 * bench:ingest — how fast keel imports judgments, and with how much memory.
 *
 * Generates N judgments (keel JSONL, and the same rows as CSV), then imports them with the
 * real CLI (`keel import`, built JavaScript, one process per run) into SQLite and PostgreSQL,
 * side by side with the ceilings for those databases on the same rows: the sqlite3 shell's
 * `.import` of the CSV into one flat table, and PostgreSQL's `COPY`. keel does more per row
 * than the ceilings — validation, content addressing and deduplication of texts, duplicate
 * detection, the SHA-256 hash chain, four indexed tables — so the ratio says how close to the
 * database's own bulk path keel gets. Wall time, CPU time and peak RSS come from /usr/bin/time.
 * A third reference, the floor for keel's own schema, times keel's SQLite ledger writer alone
 * inserting the same rows with every value computed beforehand (bench/ingest-floor.ts): the
 * database's share of the work, which no change short of a different schema can remove.
 * The full run also imports a 1 GB file into SQLite to show memory stays bounded.
 *
 *   npm run bench:ingest              # 1,000,000 judgments + the 1 GB file
 *   npm run bench:ingest -- --quick   # 100,000 judgments, no 1 GB file
 *   options: --n N, --no-pg, --no-big, --keep (keep the temporary directory)
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BenchRow, benchArgs, resultFile } from "./args.js";
import { writeIngestFiles } from "./ingest-data.js";
import { integerKeyFloor, sqliteInsertFloor } from "./ingest-floor.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const KEEL = join(ROOT, "bin", "keel.js");
const PG_URL = process.env.KEEL_BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const PG_SCHEMA = "keel_bench_ingest";

const cli = benchArgs("ingest", process.argv.slice(2), {
  flags: ["--no-pg", "--no-big", "--keep"],
  options: ["--n"],
});
const quick = cli.quick;
const flag = (name: string) => cli.has(name);
const N = cli.int("--n", quick ? 100_000 : 1_000_000);
const withPg = !flag("--no-pg");
const withBig = !quick && !flag("--no-big");

interface Timed {
  wall: number;
  cpu: number;
  rssMB: number;
  stdout: string;
}

/** Runs a command under /usr/bin/time; throws with its stderr if it fails. */
function timed(cmd: string, argv: string[], input?: string): Timed {
  const r = spawnSync("/usr/bin/time", ["-f", "TIME %e %U %S %M", cmd, ...argv], {
    encoding: "utf8",
    maxBuffer: 1 << 26,
    ...(input !== undefined ? { input } : {}),
  });
  const m = /TIME (\S+) (\S+) (\S+) (\d+)\s*$/.exec(r.stderr ?? "");
  if (r.status !== 0 || !m)
    throw new Error(`${cmd} ${argv.join(" ")} failed (${r.status}):\n${r.stderr}`);
  return {
    wall: Number(m[1]),
    cpu: Number(m[2]) + Number(m[3]),
    rssMB: Number(m[4]) / 1024,
    stdout: r.stdout,
  };
}

function keel(argv: string[]): Timed {
  return timed(process.execPath, [KEEL, ...argv, "--quiet"]);
}

const FLAT_COLUMNS =
  "comparison_id TEXT, prompt TEXT, response_a TEXT, response_b TEXT, rater_id TEXT, choice TEXT, created_at TEXT, latency_ms DOUBLE PRECISION";

function sqliteCeiling(csv: string, db: string): Timed {
  const script = [
    "PRAGMA journal_mode=WAL;",
    "PRAGMA synchronous=FULL;",
    `CREATE TABLE judgments_flat (${FLAT_COLUMNS});`,
    `.import --csv --skip 1 ${csv} judgments_flat`,
    "SELECT count(*) FROM judgments_flat;",
    "",
  ].join("\n");
  return timed("sqlite3", [db], script);
}

function psql(sqlText: string): string {
  return execFileSync("psql", [PG_URL, "-v", "ON_ERROR_STOP=1", "-q", "-tA", "-c", sqlText], {
    encoding: "utf8",
  });
}

function pgCeiling(csv: string): Timed {
  psql(`DROP SCHEMA IF EXISTS ${PG_SCHEMA}_copy CASCADE; CREATE SCHEMA ${PG_SCHEMA}_copy;`);
  psql(`CREATE TABLE ${PG_SCHEMA}_copy.judgments_flat (${FLAT_COLUMNS})`);
  return timed("psql", [
    PG_URL,
    "-v",
    "ON_ERROR_STOP=1",
    "-q",
    "-c",
    `\\copy ${PG_SCHEMA}_copy.judgments_flat FROM '${csv}' WITH (FORMAT csv, HEADER true)`,
  ]);
}

const rows: BenchRow[] = [];

function record(
  config: string,
  n: number,
  k: Timed,
  ref: Timed | undefined,
  refName: string,
  note?: string,
): void {
  const thr = n / k.wall;
  const refThr = ref ? n / ref.wall : undefined;
  rows.push({
    config,
    metric: "import throughput (wall)",
    unit: "judgments/s",
    keel: Math.round(thr),
    ...(refThr !== undefined
      ? { reference: Math.round(refThr), reference_name: refName, ratio: thr / refThr }
      : {}),
  });
  rows.push({
    config,
    metric: "CPU time per 1M judgments",
    unit: "s",
    keel: (k.cpu / n) * 1e6,
    ...(ref
      ? { reference: (ref.cpu / n) * 1e6, reference_name: refName, ratio: ref.cpu / k.cpu }
      : {}),
    ...(note ? { note } : {}),
  });
  rows.push({
    config,
    metric: "peak RSS",
    unit: "MB",
    keel: k.rssMB,
    ...(ref
      ? {
          reference: ref.rssMB,
          reference_name: `${refName} (client process)`,
          ratio: ref.rssMB / k.rssMB,
        }
      : {}),
    ...(note ? { note } : {}),
  });
}

/** keel's throughput against its schema's insert floor (bench/ingest-floor.ts), in this process. */
async function recordFloor(config: string, jsonl: string, dir: string, n: number, k: Timed) {
  process.stderr.write("keel's SQLite writer alone, values precomputed (schema floor)\n");
  const db = join(dir, "floor.db");
  keel(["init", "--db", db]);
  const f = await sqliteInsertFloor(jsonl, db);
  if (f.judgments !== n) throw new Error(`floor inserted ${f.judgments} judgments, expected ${n}`);
  for (const suffix of ["", "-wal", "-shm"]) rmSync(`${db}${suffix}`, { force: true });
  const floor = n / f.seconds;
  rows.push({
    config,
    metric: "import throughput vs keel's schema",
    unit: "judgments/s",
    keel: Math.round(n / k.wall),
    reference: Math.round(floor),
    reference_name: "keel's SQLite writer alone, values precomputed",
    ratio: n / k.wall / floor,
  });
  process.stderr.write("the same with integer keys and BLOB hashes (a schema keel does not use)\n");
  const alt = join(dir, "floor-int.db");
  const g = await integerKeyFloor(jsonl, alt);
  if (g.judgments !== n) throw new Error(`floor inserted ${g.judgments} judgments, expected ${n}`);
  for (const suffix of ["", "-wal", "-shm"]) rmSync(`${alt}${suffix}`, { force: true });
  rows.push({
    config,
    metric: "schema floor: keel's vs integer keys",
    unit: "judgments/s",
    keel: Math.round(floor),
    reference: Math.round(n / g.seconds),
    reference_name: "integer-key schema, values precomputed",
    ratio: floor / (n / g.seconds),
  });
}

/** The first source file whose compiled `dist/` file is missing or older, if any. */
function staleSource(dir = "src"): string | undefined {
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const rel = join(dir, e.name);
    if (e.isDirectory()) {
      const s = staleSource(rel);
      if (s !== undefined) return s;
    } else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) {
      const built = join(ROOT, "dist", rel.slice("src/".length).replace(/\.ts$/, ".js"));
      if (!existsSync(built) || statSync(built).mtimeMs < statSync(join(ROOT, rel)).mtimeMs)
        return rel;
    }
  }
  return undefined;
}

function checkImported(db: string, n: number): void {
  const stats = JSON.parse(keel(["stats", "--db", db, "--json"]).stdout) as { judgments: number };
  if (stats.judgments !== n)
    throw new Error(`expected ${n} judgments in ${db}, found ${stats.judgments}`);
  keel(["ledger", "verify", "--db", db]);
}

async function main(): Promise<void> {
  if (!existsSync(join(ROOT, "dist", "cli", "main.js"))) {
    spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" });
  }
  // `keel import` runs the built JavaScript: an older build would be timed in place of the code.
  const stale = staleSource();
  if (stale !== undefined) {
    process.stderr.write(
      `bench:ingest: ${stale} is newer than its build in dist/; run npm run build\n`,
    );
    process.exit(1);
  }
  const dir = mkdtempSync(join(tmpdir(), "keel-bench-ingest-"));
  try {
    const jsonl = join(dir, "judgments.jsonl");
    const csv = join(dir, "judgments.csv");
    process.stderr.write(`generating ${N.toLocaleString()} judgments in ${dir}\n`);
    const spec = { judgments: N, overlap: 4, raters: 2000, prompts: 20_000, seed: 20261127 };
    const sizes = await writeIngestFiles(spec, jsonl, csv);
    const cfg = `${(N / 1e6).toLocaleString()}M judgments (${(sizes.jsonlBytes / 1e6).toFixed(0)} MB JSONL), SQLite`;

    process.stderr.write("keel import → SQLite\n");
    const db = join(dir, "keel.db");
    keel(["init", "--db", db]);
    const k = keel(["import", jsonl, "--db", db, "--format", "judgments", "--json"]);
    checkImported(db, N);
    process.stderr.write("sqlite3 .import (ceiling)\n");
    const ref = sqliteCeiling(csv, join(dir, "ceiling.db"));
    record(cfg, N, k, ref, "sqlite3 .import CSV");
    await recordFloor(cfg, jsonl, dir, N, k);

    if (withPg) {
      process.stderr.write("keel import → PostgreSQL\n");
      psql(`DROP SCHEMA IF EXISTS ${PG_SCHEMA} CASCADE; CREATE SCHEMA ${PG_SCHEMA};`);
      const url = `${PG_URL}?options=-c%20search_path%3D${PG_SCHEMA}`;
      keel(["init", "--db", url]);
      const kp = keel(["import", jsonl, "--db", url, "--format", "judgments", "--json"]);
      checkImported(url, N);
      process.stderr.write("PostgreSQL COPY (ceiling)\n");
      const rp = pgCeiling(csv);
      record(
        cfg.replace("SQLite", "PostgreSQL"),
        N,
        kp,
        rp,
        "PostgreSQL COPY CSV",
        // COPY's work is all in the server, keel's parsing and hashing in its client
        "client processes only: the PostgreSQL server's CPU time and memory are not included",
      );
      psql(
        `DROP SCHEMA IF EXISTS ${PG_SCHEMA} CASCADE; DROP SCHEMA IF EXISTS ${PG_SCHEMA}_copy CASCADE;`,
      );
    }

    if (withBig) {
      rmSync(jsonl);
      rmSync(csv);
      rmSync(db);
      const perLine = sizes.jsonlBytes / N;
      const bigN = Math.ceil(1e9 / perLine);
      process.stderr.write(`generating a 1 GB file (${bigN.toLocaleString()} judgments)\n`);
      const big = await writeIngestFiles(
        { ...spec, judgments: bigN, seed: spec.seed + 1 },
        jsonl,
        csv,
      );
      const bigDb = join(dir, "big.db");
      keel(["init", "--db", bigDb]);
      process.stderr.write("keel import of the 1 GB file → SQLite\n");
      const kb = keel(["import", jsonl, "--db", bigDb, "--format", "judgments", "--json"]);
      checkImported(bigDb, bigN);
      rmSync(bigDb);
      const bigCfg = `${(big.jsonlBytes / 1e9).toFixed(2)} GB JSONL (${(bigN / 1e6).toFixed(2)}M judgments), SQLite`;
      const rb = sqliteCeiling(csv, join(dir, "ceiling-big.db"));
      record(bigCfg, bigN, kb, rb, "sqlite3 .import CSV");
      await recordFloor(bigCfg, jsonl, dir, bigN, kb);
    }
  } finally {
    if (!flag("--keep")) rmSync(dir, { recursive: true, force: true });
  }
  printTable();
  const out = join(ROOT, "bench", "results");
  mkdirSync(out, { recursive: true });
  const file = resultFile("ingest", cli, "-quick");
  writeFileSync(join(out, file), `${JSON.stringify(rows, null, 2)}\n`);
  process.stderr.write(`wrote bench/results/${file}\n`);
}

function printTable(): void {
  const fmt = (x: number | undefined) =>
    x === undefined
      ? ""
      : Math.abs(x) >= 1000
        ? Math.round(x).toLocaleString("en-US")
        : x.toFixed(2);
  const head = ["config", "metric", "unit", "keel", "reference", "ratio (>1 = keel better)"];
  const body = rows.map((r) => [
    r.config,
    r.metric,
    r.unit,
    fmt(r.keel),
    r.reference !== undefined ? `${fmt(r.reference)} (${r.reference_name})` : "",
    r.ratio !== undefined ? r.ratio.toFixed(2) : "",
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(w[i]!)).join("  ");
  console.log(line(head));
  console.log(w.map((x) => "-".repeat(x)).join("  "));
  for (const b of body) console.log(line(b));
  console.log(
    `\nmachine: ${process.platform} ${process.arch}, node ${process.version}, load average at end ${await_load()}`,
  );
}

function await_load(): string {
  try {
    return statSync("/proc/loadavg")
      ? execFileSync("cat", ["/proc/loadavg"], { encoding: "utf8" }).trim()
      : "?";
  } catch {
    return "?";
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
