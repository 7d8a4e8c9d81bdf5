/**
 * `keel export`, `keel audit --out --report` and `keel world generate --out` killed at seeded
 * moments: each output file is then the old one, byte for byte, or the whole new one (as an
 * uninterrupted run writes it), never a torn one, and the files of one command are all old or all
 * new unless a journal names the set to finish (output-sets.test.ts); a Ctrl-C or SIGTERM leaves no temporary file,
 * and the next run of the command removes those a SIGKILL left behind.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";
import { ageTempFiles, keel, killTimes, ROOT, tempFiles } from "./helpers.js";

const root = tempDir("keel-crash-outputs-");
const db = join(root, "k.db");
const WORLD = ["--config", join(ROOT, "examples/world.yaml"), "--comparisons", "3000"];
const OLD = "an earlier run's output\n";

interface Command {
  readonly args: (dir: string) => string[];
  readonly files: readonly string[];
}

const COMMANDS: Record<string, Command> = {
  export: {
    args: (d) => ["export", "-f", "trl", "--out", join(d, "pairs.jsonl"), "--db", db, "-q"],
    files: ["pairs.jsonl"],
  },
  audit: {
    args: (d) => [
      "audit",
      ...["--out", join(d, "audit.json"), "--report", join(d, "audit.html")],
      ...["--db", db, "-q"],
    ],
    files: ["audit.json", "audit.html"],
  },
  "world generate": {
    args: (d) => ["world", "generate", ...WORLD, "--out", d, "-q"],
    files: ["judgments.jsonl", "truth.json", "prompts.jsonl", "sft.jsonl", "eval_pairs.jsonl"],
  },
};

const reference: Record<string, Record<string, Buffer>> = {};

beforeAll(async () => {
  const world = join(root, "world");
  expect((await runCli(["world", "generate", ...WORLD, "--out", world, "-q"])).code).toBe(0);
  expect((await runCli(["init", "--db", db, "-q"])).code).toBe(0);
  const imported = await runCli(["import", join(world, "judgments.jsonl"), "--db", db, "-q"]);
  expect(imported.code, imported.stderr).toBe(0);
  for (const [name, c] of Object.entries(COMMANDS)) {
    const dir = join(root, `ref-${name.replace(" ", "-")}`);
    mkdirSync(dir);
    const r = await runCli(c.args(dir));
    expect(r.code, r.stderr).toBe(0);
    reference[name] = Object.fromEntries(c.files.map((f) => [f, readFileSync(join(dir, f))]));
  }
});

let n = 0;

describe.each(Object.keys(COMMANDS))("keel %s killed", (name) => {
  const c = COMMANDS[name]!;
  // One kill anywhere in the run, the others once its first temporary file exists: writing.
  const [anywhere] = killTimes(`outputs-${name}`, 1, 2500);
  const writing = killTimes(`outputs-${name}-writing`, 3, name === "audit" ? 30 : 200);
  const kills: [NodeJS.Signals, number, boolean][] = [
    ["SIGKILL", anywhere!, false],
    ["SIGKILL", writing[0]!, true],
    ["SIGKILL", writing[1]!, true],
    [name === "audit" ? "SIGTERM" : "SIGINT", writing[2]!, true],
  ];

  it.each(kills)(
    "by %s %i ms after it started (or began writing: %s): each file old or whole, temporaries cleaned",
    async (signal, afterMs, whenWriting) => {
      const dir = join(root, `run-${n++}`);
      mkdirSync(dir);
      for (const f of c.files) writeFileSync(join(dir, f), OLD);
      const when = whenWriting ? () => tempFiles(dir).length > 0 : undefined;
      const r = await keel(c.args(dir), { kill: { signal, afterMs, ...(when ? { when } : {}) } });
      if (!r.killed) expect(r.code, r.stderr).toBe(0);
      for (const f of c.files) {
        const now = readFileSync(join(dir, f));
        if (now.toString() !== OLD) expect(now.equals(reference[name]![f]!), f).toBe(true);
      }
      // And one run's set: all old or all new, unless the journal the next keel finishes is there.
      const old = c.files.filter((f) => readFileSync(join(dir, f), "utf8") === OLD);
      if (!existsSync(join(dir, ".keel-outputs.json")))
        expect([0, c.files.length]).toContain(old.length);
      if (signal !== "SIGKILL") expect(tempFiles(dir)).toEqual([]);

      ageTempFiles(dir);
      const again = await runCli(c.args(dir));
      expect(again.code, again.stderr).toBe(0);
      for (const f of c.files)
        expect(readFileSync(join(dir, f)).equals(reference[name]![f]!)).toBe(true);
      expect(tempFiles(dir)).toEqual([]);
    },
  );
});
