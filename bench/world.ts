/**
 * bench:world — `keel world generate` for 50,000 comparisons × 3 raters (150,000 judgments) on
 * the mixed panel of examples/world.yaml (100 raters, every attacker type), run as its own
 * process so the time includes start-up. Target: under a minute. There is no outside tool that
 * does the same thing, so the records carry no reference.
 *
 *   npm run bench:world [-- --quick] [-- --comparisons N]
 *
 * Reports the process wall time, the generation time the command reports, throughput, output
 * size and the child's peak RSS; writes bench/results/world.json (world-quick.json with --quick).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { benchArgs, resultFile } from "./args.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");
const cli = benchArgs("world", process.argv.slice(2), { options: ["--comparisons"] });
const QUICK = cli.quick;
const COMPARISONS = cli.int("--comparisons", QUICK ? 10_000 : 50_000);
const TARGET_S = 60;

interface Record {
  config: string;
  metric: string;
  unit: string;
  keel: number;
}

const RUNNER = `
import { main } from ${JSON.stringify(join(ROOT, "src/cli/main.ts"))};
const code = await main(["node", "keel", ...JSON.parse(process.env.KEEL_BENCH_ARGS)]);
process.stderr.write("\\nRSS " + JSON.stringify({ maxRSS: process.resourceUsage().maxRSS }) + "\\n");
process.exitCode = code;
`;

function run(): Record[] {
  const dir = mkdtempSync(join(tmpdir(), "keel-bench-world-"));
  try {
    const cliArgs = [
      "world",
      "generate",
      "--config",
      join(ROOT, "examples/world.yaml"),
      "--out",
      join(dir, "out"),
      "--comparisons",
      String(COMPARISONS),
      "--json",
      "--quiet",
    ];
    const runner = join(dir, "run.mts");
    writeFileSync(runner, RUNNER);
    const t0 = performance.now();
    const child = spawnSync(process.execPath, ["--import", "tsx", runner], {
      cwd: ROOT,
      env: { ...process.env, KEEL_BENCH_ARGS: JSON.stringify(cliArgs) },
      encoding: "utf8",
      maxBuffer: 1 << 26,
    });
    const wall = (performance.now() - t0) / 1000;
    if (child.status !== 0)
      throw new Error(`keel world generate failed (${child.status}):\n${child.stderr}`);
    const report = JSON.parse(child.stdout) as {
      comparisons: number;
      judgments: number;
      raters: number;
      seconds: number;
      files: { [name: string]: { records: number; bytes: number } };
    };
    const rss = JSON.parse(/RSS (\{.*\})/.exec(child.stderr)![1]!) as { maxRSS: number };
    const bytes = Object.values(report.files).reduce((s, f) => s + f.bytes, 0);
    // Spot check that what was timed is what was asked for.
    const lines = readFileSync(join(dir, "out", "judgments.jsonl"), "utf8").split("\n").length - 1;
    if (lines !== report.judgments)
      throw new Error(`judgments.jsonl has ${lines} lines, report says ${report.judgments}`);
    const config = `keel world generate: ${report.comparisons.toLocaleString("en")} comparisons × 3 raters (${report.judgments.toLocaleString("en")} judgments, ${report.raters} raters, examples/world.yaml)`;
    return [
      { config, metric: "wall time (process, incl. start-up)", unit: "s", keel: round(wall, 3) },
      {
        config,
        metric: "generation time (reported by the command)",
        unit: "s",
        keel: report.seconds,
      },
      {
        config,
        metric: "throughput",
        unit: "comparisons/s",
        keel: round(report.comparisons / report.seconds, 0),
      },
      {
        config,
        metric: "throughput",
        unit: "judgments/s",
        keel: round(report.judgments / report.seconds, 0),
      },
      { config, metric: "output size (5 files)", unit: "MB", keel: round(bytes / 1e6, 1) },
      { config, metric: "peak RSS (process)", unit: "MB", keel: round(rss.maxRSS / 1024, 1) },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

const records = run();
const widths = [52, 16, 14];
console.log(`bench:world${QUICK ? " (quick)" : ""} — ${records[0]!.config}`);
console.log(
  ["metric".padEnd(widths[0]!), "keel".padStart(widths[1]!), "unit".padEnd(widths[2]!)].join("  "),
);
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const r of records) {
  console.log(
    [
      r.metric.padEnd(widths[0]!),
      String(r.keel).padStart(widths[1]!),
      r.unit.padEnd(widths[2]!),
    ].join("  "),
  );
}
const wall = records[0]!.keel;
console.log(
  `\ntarget: ${COMPARISONS.toLocaleString("en")} comparisons in under ${TARGET_S} s — ${wall < TARGET_S ? "met" : "MISSED"} (${wall} s)`,
);
const outDir = join(HERE, "results");
mkdirSync(outDir, { recursive: true });
const out = join(outDir, resultFile("world", cli, "-quick"));
writeFileSync(out, `${JSON.stringify(records, null, 2)}\n`);
console.log(`wrote ${out}`);
