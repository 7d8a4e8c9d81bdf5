import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { runBench } from "./run.js";

/** The benchmark drives its load with wrk (apt-get install wrk). */
const HAS_WRK = spawnSync("wrk", ["--version"]).error === undefined;

describe("bench:server", () => {
  it.skipIf(!HAS_WRK)(
    "runs end to end with wrk and records each run's errors, not only in its table",
    () => {
      // The error counts were printed but left out of the JSON: a run answered 409 here and there
      // looked clean in bench/results.
      const { run, records } = runBench("server", [
        ...["--no-pg", "--duration", "1", "--connections", "4", "--rate", "100"],
      ]);
      expect(run.status, run.stderr).toBe(0);
      const errors = records!.filter((x) => /^errors/.test(x.metric));
      expect(errors.map((x) => x.metric)).toEqual([
        "errors (non-200 answers), max load",
        "errors (non-200 answers) at fixed rate",
      ]);
      for (const e of errors) expect(e.keel).toBe(0);
      const acked = records!.find((x) => /^acknowledged durable judgments/.test(x.metric))!;
      expect(acked.keel).toBeGreaterThan(0);
    },
    150_000,
  );
});
