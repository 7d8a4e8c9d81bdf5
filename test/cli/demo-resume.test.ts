/**
 * `keel demo` without --out picks a new directory each time: an interrupted demo says which one
 * to continue, and `--resume` without --out is refused rather than starting over elsewhere.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tmp } from "../train/fixtures.js";

describe("keel demo --resume", () => {
  it("needs --out: without it, a new directory would start the demo over", async () => {
    const cwd = tmp("demo-resume");
    const r = await runCli(["demo", "--quick", "--resume", "-q"], { cwd });
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("KEEL_E_USAGE: --resume needs --out");
    expect(readdirSync(cwd)).toEqual([]);
  });

  it("an interrupted demo names the directory to continue", async () => {
    const cwd = tmp("demo-interrupt");
    // Ctrl-C once the demo listens for it, at its first wait: in the world stage, which is kept.
    const listening = process.listenerCount("SIGINT");
    let done = false;
    const ctrlC = () => {
      if (done) return;
      if (process.listenerCount("SIGINT") > listening) process.emit("SIGINT", "SIGINT");
      else setImmediate(ctrlC);
    };
    setImmediate(ctrlC);
    let r: Awaited<ReturnType<typeof runCli>>;
    try {
      r = await runCli(["demo", "--quick", "--seed", "3", "-q"], { cwd });
    } finally {
      done = true;
    }
    expect(r.code).toBe(130);
    const [dir] = readdirSync(join(cwd, "runs"));
    expect(dir).toMatch(/^demo-/);
    expect(r.stderr).toContain(
      `hint: continue it with: keel demo --quick --seed 3 --out ${join("runs", dir!)} --resume`,
    );
  });
});
