/**
 * Runs a benchmark program end to end (through tsx, as `npm run bench:*` does) and returns its
 * exit, its output and the records it wrote to bench/results/<name>.partial.json; a partial
 * file that was there before is put back as it was.
 */
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..");

export interface BenchRecord {
  readonly metric: string;
  readonly keel: number;
  readonly reference?: number;
}

export function runBench(
  name: string,
  args: readonly string[],
): { run: SpawnSyncReturns<string>; records: BenchRecord[] | undefined } {
  const results = join(ROOT, "bench", "results", `${name}.partial.json`);
  const kept = existsSync(results) ? readFileSync(results) : undefined;
  try {
    const run = spawnSync(
      process.execPath,
      ["--import", "tsx", join(ROOT, "bench", `${name}.ts`), ...args],
      { cwd: ROOT, encoding: "utf8", timeout: 120_000 },
    );
    const records = existsSync(results)
      ? (JSON.parse(readFileSync(results, "utf8")) as BenchRecord[])
      : undefined;
    return { run, records };
  } finally {
    if (kept) writeFileSync(results, kept);
    else rmSync(results, { force: true });
  }
}
