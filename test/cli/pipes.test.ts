/**
 * keel in a shell pipeline: judgments piped into `keel import -` (format detected from the
 * stream's first line, which the parser is given back), and a reader that stops early
 * (`keel export --out - | head`) ends keel quietly.
 */
import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { makeJudgments } from "../helpers/data.js";
import { tempDir } from "../helpers/stores.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FROM_SOURCES = ["--import", "tsx", join(ROOT, "test/server/serve-child.ts")];

function run(
  args: string[],
  o: { stdin?: string; stopAfterBytes?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => {
    stdout += c.toString();
    if (o.stopAfterBytes !== undefined && stdout.length >= o.stopAfterBytes) child.stdout.destroy();
  });
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  child.stdin.end(o.stdin ?? "");
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, stdout, stderr })));
}

describe("keel in pipelines", () => {
  const dir = tempDir("keel-pipes-");
  const lines = makeJudgments(400, 3)
    .map((j) => JSON.stringify(j))
    .join("\n");

  it("imports judgments from standard input, detecting their format", async () => {
    const db = join(dir, "stdin.db");
    expect((await runCli(["init", "--db", db])).code).toBe(0);
    const r = await run([...FROM_SOURCES, "import", "-", "--db", db, "--json"], {
      stdin: `\n${lines}\n`,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ format: "judgments", read: 1200, appended: 1200 });
    const empty = await run([...FROM_SOURCES, "import", "-", "--db", db], { stdin: "\n\n" });
    expect(empty.code).toBe(65);
    expect(empty.stderr).toContain("KEEL_E_UNKNOWN_FORMAT: -: file is empty");
  });

  it("stops quietly when the reader of its output goes away", async () => {
    const bin = join(ROOT, "bin/keel.js");
    if (!existsSync(join(ROOT, "dist/cli/main.js")))
      throw new Error("dist/ is not built; run npm run build");
    const db = join(dir, "epipe.db");
    const file = join(dir, "j.jsonl");
    writeFileSync(file, lines);
    expect((await runCli(["init", "--db", db])).code).toBe(0);
    expect((await runCli(["import", file, "--db", db, "-q"])).code).toBe(0);
    const r = await run([bin, "export", "--format", "judgments", "--out", "-", "--db", db], {
      stopAfterBytes: 1000,
    });
    expect(r.stderr).not.toContain("EPIPE");
    expect(r.code).toBe(0);
  });

  it("ends with its own exit code when its standard error is a closed pipe (2>&1 | head)", async () => {
    // Before, the error message's write crashed it: an unhandled EPIPE and exit code 1.
    const child = spawn(
      process.execPath,
      [join(ROOT, "bin/keel.js"), "stats", "--db", join(dir, "missing", "x.db")],
      { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] },
    );
    child.stderr.destroy();
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).toBe(74);
  });
});
