import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(__dirname, "..", "..");
const RESULTS = join(ROOT, "bench", "results", "soak.partial.json");

describe("bench:soak", () => {
  it("runs end to end on PostgreSQL and Redis and writes its records as a partial run", () => {
    // It had rotted: its seeding opened a fresh schema without `create`, which the store now
    // refuses ("no keel store at …"), so the benchmark died before its first request.
    const kept = existsSync(RESULTS) ? readFileSync(RESULTS) : undefined;
    try {
      const r = spawnSync(
        process.execPath,
        [
          "--import",
          "tsx",
          join(ROOT, "bench", "soak.ts"),
          ...["--duration", "2", "--rate", "20", "--raters", "2", "--processes", "1"],
        ],
        { cwd: ROOT, encoding: "utf8", timeout: 120_000 },
      );
      expect(r.stderr).not.toMatch(/no keel store/);
      expect(r.status).toBe(0);
      const records = JSON.parse(readFileSync(RESULTS, "utf8")) as {
        metric: string;
        keel: number;
        reference?: number;
      }[];
      const get = (m: RegExp) => records.find((x) => m.test(x.metric))!;
      expect(get(/^acknowledged judgments per second/).keel).toBeGreaterThan(0);
      expect(get(/^errors/)).toMatchObject({ keel: 0, reference: 0 });
      expect(get(/^ledger verifies/)).toMatchObject({ keel: 1, reference: 1 });
      expect(get(/^most judgments of one comparison/).keel).toBeLessThanOrEqual(3);
    } finally {
      if (kept) writeFileSync(RESULTS, kept);
      else rmSync(RESULTS, { force: true });
    }
  }, 150_000);
});
