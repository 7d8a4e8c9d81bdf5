/**
 * The longest valid line a parse worker can get: a message list of 31 contents of a million
 * characters, one of them not Latin-1 (V8 then stores each string at two bytes a character).
 * The worker holds the line, the parsed contents, their canonical JSON and the stored body at
 * once; with a heap for two of those, one large string too many made V8 end the whole process
 * ("Reached heap limit"), which no error handler sees. The import runs in a child process so
 * that a failure shows as such instead of ending the test runner.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../helpers/stores.js";

const dir = tempDir("keel-chat-line-oom-");

describe("a parse worker given the longest valid chat line", () => {
  it("imports it, and the process lives", () => {
    const message = { role: "user", content: `Ā${"x".repeat(999_990)}` };
    const row = { prompt: Array.from({ length: 31 }, () => message), chosen: "a", rejected: "b" };
    const input = join(dir, "chat.jsonl");
    writeFileSync(input, `${JSON.stringify(row)}\n`);
    const db = join(dir, "k.db");
    const src = resolve(import.meta.dirname, "../../src/cli/main.ts");
    const run = (args: string[]) =>
      spawnSync(
        process.execPath,
        [
          "--input-type=module",
          "--import",
          "tsx",
          "-e",
          `import { main } from ${JSON.stringify(src)};
           process.exitCode = await main(["node", "keel", ...${JSON.stringify(args)}]);`,
        ],
        { encoding: "utf8", timeout: 60_000 },
      );
    expect(run(["init", "--db", db, "-q"]).status).toBe(0);
    const r = run(["import", input, "--format", "trl", "--db", db, "-q"]);
    expect(r.stderr).not.toContain("heap out of memory");
    expect(r.signal).toBe(null);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("imported 1 judgments");
  }, 60_000);
});
