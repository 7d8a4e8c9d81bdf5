import { describe, expect, it } from "vitest";
import { runBench } from "./run.js";

describe("bench:soak", () => {
  it("runs end to end on PostgreSQL and Redis and writes its records as a partial run", () => {
    // It had rotted: its seeding opened a fresh schema without `create`, which the store now
    // refuses ("no keel store at …"), so the benchmark died before its first request.
    const { run, records } = runBench("soak", [
      ...["--duration", "2", "--rate", "20", "--raters", "2", "--processes", "1"],
    ]);
    expect(run.stderr).not.toMatch(/no keel store/);
    expect(run.status).toBe(0);
    const get = (m: RegExp) => records!.find((x) => m.test(x.metric))!;
    expect(get(/^acknowledged judgments per second/).keel).toBeGreaterThan(0);
    expect(get(/^errors/)).toMatchObject({ keel: 0, reference: 0 });
    expect(get(/^ledger verifies/)).toMatchObject({ keel: 1, reference: 1 });
    expect(get(/^most judgments of one comparison/).keel).toBeLessThanOrEqual(3);
  }, 150_000);
});
