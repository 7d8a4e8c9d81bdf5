/**
 * The per-attempt timeout of an upstream call fires even when the caller passes an abort signal
 * and the process collects garbage meanwhile. (Built on AbortSignal.timeout() and combined with
 * AbortSignal.any, the timeout signal was collected on Node 20 and never fired: serve-model's
 * calls to a stalled upstream hung for good and held the limiter's slots.)
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

describe("upstream call timeout", () => {
  it("fires with a caller signal attached and collections running", () => {
    const child = fileURLToPath(new URL("./stall-child.ts", import.meta.url));
    const r = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", child], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as { error?: string; pending?: boolean };
    expect(out.pending).toBeUndefined();
    expect(out.error).toMatch(/timed out after 1000 ms/);
    expect(r.status).toBe(0);
  }, 90_000);
});
