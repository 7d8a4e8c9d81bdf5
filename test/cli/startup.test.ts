/**
 * What starting the CLI loads. Every run of `keel` defines all the commands, so a command module
 * that imports its implementation statically makes every command pay for it: onnxruntime-node,
 * fastify, vega and the database drivers cost ~100 MB and more than a second before the command
 * does anything. These tests run the CLI from the sources in a child process that records every
 * module it resolves, and check which modules were loaded (not how long it took).
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { KEEL_VERSION } from "../../src/core/version.js";
import { runCli } from "../helpers/cli.js";
import { makeJudgments } from "../helpers/data.js";
import { tempDir } from "../helpers/stores.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHILD = join(ROOT, "test/cli/fixtures/keel-recorded.ts");
const dir = tempDir();

/** The only packages defining the commands may load: commander, and what io's format catalogues need. */
const STARTUP_PACKAGES = ["commander", "csv-parse", "zod"];

/** Packages no command that only reads or writes the store has any use for. */
const HEAVY_PACKAGES = ["onnxruntime-node", "fastify", "vega", "vega-lite", "ioredis"];

interface Loaded {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** npm packages loaded, by name. */
  readonly packages: string[];
  /** Our own modules loaded, relative to the repository root (src/…). */
  readonly sources: string[];
}

let runs = 0;

/** Runs `keel <args>` from the sources in a child process and lists the modules it loaded. */
async function runRecorded(args: readonly string[]): Promise<Loaded> {
  const record = join(dir, `loaded-${runs++}.txt`);
  writeFileSync(record, "");
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, ...args], {
    cwd: ROOT,
    env: { ...process.env, KEEL_TEST_LOADED: record },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  const packages = new Set<string>();
  const sources = new Set<string>();
  for (const url of readFileSync(record, "utf8").split("\n")) {
    if (!url.startsWith("file:")) continue;
    const path = relative(ROOT, fileURLToPath(url));
    // A package is named by what follows the last node_modules/: `name` or `@scope/name`.
    const at = path.lastIndexOf("node_modules/");
    if (at >= 0) {
      const [first, second] = path.slice(at + "node_modules/".length).split("/");
      packages.add(first!.startsWith("@") ? `${first}/${second}` : first!);
    } else if (path.startsWith("src/")) sources.add(path);
  }
  return { code, stdout, stderr, packages: [...packages].sort(), sources: [...sources].sort() };
}

/** What defining every command may load, and must not. */
function expectOnlyDefinitionsLoaded(r: Loaded): void {
  expect(r.packages.filter((p) => !STARTUP_PACKAGES.includes(p))).toEqual([]);
  // The command definitions were all loaded …
  expect(r.sources).toContain("src/cli/commands/import.ts");
  expect(r.sources).toContain("src/cli/commands/serve.ts");
  // … but no action, nor the engine, the store, the server or the reports. Of the store, only
  // the collection schema's names (zod, for --help texts) may load.
  const forbidden =
    /^src\/(cli\/actions|engine|train|server|report|pipeline)\/|^src\/store\/(?!collection\/schema\.ts$)/;
  expect(r.sources.filter((s) => forbidden.test(s))).toEqual([]);
}

describe("keel CLI startup", () => {
  it("--version loads the command definitions and nothing heavy", async () => {
    const r = await runRecorded(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${KEEL_VERSION}\n`);
    expectOnlyDefinitionsLoaded(r);
  });

  it("a command's --help loads no more than --version", async () => {
    const r = await runRecorded(["import", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: keel import [options] <file>");
    expectOnlyDefinitionsLoaded(r);
  });

  it("import loads the store and its own action, not the engine, the server or the charts", async () => {
    const db = join(dir, "startup.db");
    expect((await runCli(["init", "--db", db])).code).toBe(0);
    const file = join(dir, "j.jsonl");
    writeFileSync(
      file,
      `${makeJudgments(5, 2)
        .map((j) => JSON.stringify(j))
        .join("\n")}\n`,
    );
    const r = await runRecorded(["import", file, "--db", db, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ appended: 10, rejected: 0 });
    // The recorder sees what the action loads: the action and the SQLite driver …
    expect(r.sources).toContain("src/cli/actions/import.ts");
    expect(r.packages).toContain("better-sqlite3");
    // … and no other command's action, nor the heavy libraries.
    expect(r.sources.filter((s) => s.startsWith("src/cli/actions/"))).toEqual([
      "src/cli/actions/import.ts",
      "src/cli/actions/with-store.ts",
    ]);
    expect(r.packages.filter((p) => HEAVY_PACKAGES.includes(p))).toEqual([]);
  });

  it("the choice lists restated for the definitions match their sources", async () => {
    const choices = await import("../../src/cli/choices.js");
    const { HEADS } = await import("../../src/engine/gpt/graphs.js");
    const { SWEEP_ATTACKS } = await import("../../src/pipeline/sweep.js");
    expect(choices.HEADS).toEqual(HEADS);
    expect(choices.SWEEP_ATTACKS).toEqual(SWEEP_ATTACKS);
  });
});
