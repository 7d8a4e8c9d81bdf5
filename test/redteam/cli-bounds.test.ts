/**
 * `keel redteam` bounds its size flags as a pipeline config's `redteam` block does: a huge
 * --shots built probes longer than a JavaScript string can be (a raw RangeError), a huge
 * --samples an array longer than memory; both are usage errors before any work.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

describe("keel redteam size flags", () => {
  it("refuses --shots over 32 and --samples over 64 as usage errors", async () => {
    for (const [flag, value, max] of [
      ["--shots", "10000000", 32],
      ["--samples", "100000000", 64],
    ] as const) {
      const r = await runCli(["redteam", "--world", "examples/world.yaml", flag, value]);
      expect(r.code, r.stderr).toBe(64);
      expect(r.stderr).toContain(`${flag} must be at most ${max}`);
    }
    const zero = await runCli(["redteam", "--world", "examples/world.yaml", "--shots", "0"]);
    expect(zero.stderr).toContain("--shots must be a positive integer");
  });

  it("refuses --samples > 1 with --temperature 0 (greedy answers are all the same)", async () => {
    const r = await runCli(["redteam", "--world", "examples/world.yaml", "--samples", "4"]);
    expect(r.code, r.stderr).toBe(64);
    expect(r.stderr).toContain("--samples 4 with --temperature 0");
    expect(r.stderr).toContain("--temperature > 0");
    const explicit = await runCli([
      "redteam",
      "--world",
      "examples/world.yaml",
      "--samples",
      "2",
      "--temperature",
      "0",
    ]);
    expect(explicit.code).toBe(64);
    expect(explicit.stderr).toContain("KEEL_E_USAGE");
  });
});
